package detect

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/state"
)

// thresholdStores are the stores thresholds are tested on: the same three
// the pipeline uses, directly and through a state.Scope, as the pipeline
// hands them to the rules of one input.
func thresholdStores() map[string]func(t *testing.T, now func() time.Time) state.Store {
	all := map[string]func(t *testing.T, now func() time.Time) state.Store{
		"memory": func(t *testing.T, now func() time.Time) state.Store { return state.NewMemory(now) },
		"file": func(t *testing.T, now func() time.Time) state.Store {
			s, err := state.OpenFile(filepath.Join(t.TempDir(), "state.db"), now)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"dynamodb": newDynamoDB,
	}
	for name, mk := range maps.Clone(all) {
		all["scope/"+name] = func(t *testing.T, now func() time.Time) state.Store { return state.NewScope(mk(t, now), now) }
	}
	return all
}

// secretRead is a GetSecretValue by the Stratus Red Team user (Invictus),
// varied.
func secretRead(t *testing.T, user, secret string, at time.Time) *event.Event {
	return vary(t, template(t, "get-secret-value.json"),
		"userIdentity.userName", user, "userIdentity.arn", "arn:aws:iam::123837392027:user/"+user,
		"requestParameters.secretId", secret, "eventTime", at, "eventID", nextID())
}

func observeThreshold(t *testing.T, th *Thresholds, spec *ThresholdSpec, ev *event.Event) *Crossing {
	t.Helper()
	c, err := th.Observe(context.Background(), "secrets-read-in-bulk", spec, ev)
	if err != nil {
		t.Fatalf("Observe(%s): %v", ev, err)
	}
	return c
}

// TestThresholdRepeatedSecretReads is the story thresholds exist for: one
// principal reading secrets over and over alerts once, on the Nth read in
// the window, and not below N; every store agrees.
func TestThresholdRepeatedSecretReads(t *testing.T) {
	spec := &ThresholdSpec{Count: 5, Window: 10 * time.Minute, By: []string{"principal"}}
	for name, mk := range thresholdStores() {
		t.Run(name, func(t *testing.T) {
			clk := newClock(t0())
			th := NewThresholds(mk(t, clk.Now), clk.Now)
			at := t0()
			var alerts []int
			for i := 1; i <= 12; i++ {
				if c := observeThreshold(t, th, spec, secretRead(t, "mallory", "prod/db", at)); c != nil {
					alerts = append(alerts, i)
					if c.Count != 5 || c.Window != 10*time.Minute || len(c.First) != 3 || c.Annotation() != "5 matches in 10m" {
						t.Errorf("crossing %+v (%q)", c, c.Annotation())
					}
					if got := c.Annotations()["ja"]; got != "10分以内に5件一致" {
						t.Errorf("ja annotation %q", got)
					}
				}
				at = at.Add(30 * time.Second)
			}
			// Reads 1..12 within 6 minutes: the 5th alerts, the rest of
			// the window is quiet.
			if fmt.Sprint(alerts) != "[5]" {
				t.Fatalf("alerts on reads %v; want [5]", alerts)
			}
			// Another principal's reads are counted apart: 4 stay below.
			for range 4 {
				if c := observeThreshold(t, th, spec, secretRead(t, "alice", "prod/db", at)); c != nil {
					t.Fatalf("alice's 4 reads alerted: %+v", c)
				}
			}
			// Once the window after the alert (at 09:02) has passed, a
			// continuing burst alerts again.
			at = t0().Add(12*time.Minute + 30*time.Second)
			clk.Set(at) // the events are read as they happen
			var again bool
			for range 5 {
				again = again || observeThreshold(t, th, spec, secretRead(t, "mallory", "prod/db", at)) != nil
				at = at.Add(10 * time.Second)
			}
			if !again {
				t.Fatal("a burst continuing past the quiet window did not alert again")
			}
		})
	}
}

// TestThresholdBelowCountNeverAlerts spreads reads so that no window holds
// the count: four per window, for an hour.
func TestThresholdBelowCountNeverAlerts(t *testing.T) {
	spec := &ThresholdSpec{Count: 5, Window: 10 * time.Minute, By: []string{"principal"}}
	for name, mk := range thresholdStores() {
		t.Run(name, func(t *testing.T) {
			clk := newClock(t0())
			th := NewThresholds(mk(t, clk.Now), clk.Now)
			for i := range 24 {
				at := t0().Add(time.Duration(i) * 150 * time.Second) // 4 per 10 minutes
				clk.Set(at)
				if c := observeThreshold(t, th, spec, secretRead(t, "app", "prod/db", at)); c != nil {
					t.Fatalf("read %d at %s alerted: %+v", i+1, at.Format(time.TimeOnly), c)
				}
			}
		})
	}
}

// TestThresholdSlidesAcrossWindowEdges: a burst straddling where a fixed
// window would end still alerts (the blind spot of fixed windows).
func TestThresholdSlidesAcrossWindowEdges(t *testing.T) {
	spec := &ThresholdSpec{Count: 6, Window: 10 * time.Minute, By: []string{"principal"}}
	th := NewThresholds(state.NewMemory(nil), func() time.Time { return t0().Add(time.Hour) })
	// A read at 09:00 would open a fixed window to 09:10. Four reads at
	// 09:09-09:09:45 and four at 09:10:15-09:11 fall on both sides of its
	// end: five in one fixed window and four in the next, so a fixed window
	// never counts six; six fall within ten minutes from 09:10:30 on.
	observeThreshold(t, th, spec, secretRead(t, "mallory", "s", t0()))
	var fired []string
	for _, s := range []int{9 * 60, 9*60 + 15, 9*60 + 30, 9*60 + 45, 10*60 + 15, 10*60 + 30, 10*60 + 45, 11 * 60} {
		at := t0().Add(time.Duration(s) * time.Second)
		if c := observeThreshold(t, th, spec, secretRead(t, "mallory", "s", at)); c != nil {
			fired = append(fired, at.Format(time.TimeOnly))
		}
	}
	if strings.Join(fired, ",") != "09:10:30" {
		t.Fatalf("alerts at %v; want exactly one, at 09:10:30", fired)
	}
}

// TestThresholdCountsEachEventOnce: an event delivered twice counts once;
// the event that crossed the threshold, retried, raises the same alert
// again (delivery drops the copy).
func TestThresholdCountsEachEventOnce(t *testing.T) {
	spec := &ThresholdSpec{Count: 3, Window: time.Minute, By: []string{"principal"}}
	for name, mk := range thresholdStores() {
		t.Run(name, func(t *testing.T) {
			clk := newClock(t0())
			th := NewThresholds(mk(t, clk.Now), clk.Now)
			a := secretRead(t, "mallory", "s", t0())
			b := secretRead(t, "mallory", "s", t0().Add(time.Second))
			for _, ev := range []*event.Event{a, a, b, b} {
				if c := observeThreshold(t, th, spec, ev); c != nil {
					t.Fatalf("two events, each delivered twice, alerted: %+v", c)
				}
			}
			c3 := secretRead(t, "mallory", "s", t0().Add(2*time.Second))
			if observeThreshold(t, th, spec, c3) == nil {
				t.Fatal("the third event did not alert")
			}
			if c := observeThreshold(t, th, spec, c3); c == nil || c.Count != 3 {
				t.Fatalf("the alerting event retried = %+v; want the same crossing again", c)
			}
			if c := observeThreshold(t, th, spec, b); c != nil {
				t.Fatalf("an earlier event retried raised %+v", c)
			}
		})
	}
}

// TestThresholdDistinct counts distinct secrets, not reads: one secret read
// fifty times is an application; ten secrets in a minute is bulk reading.
// A list field counts each element.
func TestThresholdDistinct(t *testing.T) {
	spec := &ThresholdSpec{Count: 10, Window: 10 * time.Minute, By: []string{"principal"}, Distinct: []string{"requestParameters.secretId"}}
	for name, mk := range thresholdStores() {
		t.Run(name, func(t *testing.T) {
			clk := newClock(t0())
			th := NewThresholds(mk(t, clk.Now), clk.Now)
			at := t0()
			for range 50 {
				if c := observeThreshold(t, th, spec, secretRead(t, "app", "prod/db", at)); c != nil {
					t.Fatalf("one secret read 50 times alerted: %+v", c)
				}
				at = at.Add(time.Second)
			}
			var n int
			for i := range 12 {
				if c := observeThreshold(t, th, spec, secretRead(t, "mallory", fmt.Sprintf("prod/s%d", i), at)); c != nil {
					n = i + 1
					if got := c.Annotation(); got != "10 distinct requestParameters.secretId in 10m" {
						t.Errorf("annotation %q", got)
					}
					break
				}
			}
			if n != 10 {
				t.Fatalf("distinct secrets alerted at the %dth; want the 10th", n)
			}
			names := &ThresholdSpec{Count: 15, Window: 10 * time.Minute, By: []string{"principal"}, Distinct: []string{"requestParameters.name", "requestParameters.names"}}
			batch := func(i int) *event.Event {
				var ns []any
				for j := range 8 {
					ns = append(ns, fmt.Sprintf("/app/p%d", i*8+j))
				}
				return vary(t, template(t, "get-secret-value.json"), "eventName", "GetParameters",
					"requestParameters", map[string]any{"names": ns, "withDecryption": true}, "eventTime", at, "eventID", nextID())
			}
			if c := observeThreshold(t, th, names, batch(0)); c != nil {
				t.Fatalf("8 names alerted at 15: %+v", c)
			}
			if c := observeThreshold(t, th, names, batch(1)); c == nil || c.Count != 16 {
				t.Fatalf("16 names in two calls = %+v; want an alert counting 16", c)
			}
		})
	}
}

// writeCounter counts a store's writes.
type writeCounter struct {
	state.Store
	writes, reads int
}

func (w *writeCounter) Get(ctx context.Context, k string) ([]byte, bool, error) {
	w.reads++
	return w.Store.Get(ctx, k)
}

func (w *writeCounter) PutIfAbsent(ctx context.Context, k string, v []byte, ttl time.Duration) (bool, error) {
	w.writes++
	return w.Store.PutIfAbsent(ctx, k, v, ttl)
}

func (w *writeCounter) CompareAndSwap(ctx context.Context, k string, o, n []byte, ttl time.Duration) (bool, error) {
	w.writes++
	return w.Store.CompareAndSwap(ctx, k, o, n, ttl)
}

// TestThresholdRepeatedValuesAreCheap: an application reading its one secret
// over and over costs one read per call, no write, so a busy rule with
// distinct stays cheap on DynamoDB.
func TestThresholdRepeatedValuesAreCheap(t *testing.T) {
	spec := &ThresholdSpec{Count: 10, Window: 10 * time.Minute, By: []string{"principal"}, Distinct: []string{"requestParameters.secretId"}}
	wc := &writeCounter{Store: state.NewMemory(nil)}
	th := NewThresholds(wc, func() time.Time { return t0() })
	observeThreshold(t, th, spec, secretRead(t, "app", "prod/db", t0()))
	wc.writes, wc.reads = 0, 0
	for i := range 100 {
		observeThreshold(t, th, spec, secretRead(t, "app", "prod/db", t0().Add(time.Duration(i)*time.Second)))
	}
	if wc.writes != 0 || wc.reads != 100 {
		t.Fatalf("100 repeats cost %d writes and %d reads; want none and 100", wc.writes, wc.reads)
	}
}

// TestThresholdConcurrentObserversAlertOnce: many processes counting one
// key at once raise one alert.
func TestThresholdConcurrentObserversAlertOnce(t *testing.T) {
	spec := &ThresholdSpec{Count: 20, Window: 10 * time.Minute, By: []string{"principal"}}
	for name, mk := range thresholdStores() {
		t.Run(name, func(t *testing.T) {
			clk := newClock(t0())
			store := mk(t, clk.Now)
			evs := make([]*event.Event, 40)
			for i := range evs {
				evs[i] = secretRead(t, "mallory", "s", t0().Add(time.Duration(i)*time.Second))
			}
			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				alerts int
				errs   []error
			)
			for w := range 8 {
				th := NewThresholds(store, clk.Now) // one per process
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < len(evs); i += 8 {
						c, err := th.Observe(context.Background(), "r", spec, evs[i])
						mu.Lock()
						if err != nil {
							errs = append(errs, err)
						}
						if c != nil {
							alerts++
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(errs) > 0 || alerts != 1 {
				t.Fatalf("%d alerts, errors %v; want exactly one alert", alerts, errs)
			}
		})
	}
}

// failingStore fails every write after the first n.
type failingStore struct {
	state.Store
	mu   sync.Mutex
	left int
}

var errThrottled = errors.New("throttled")

func (f *failingStore) fail() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.left <= 0 {
		return true
	}
	f.left--
	return false
}

func (f *failingStore) CompareAndSwap(ctx context.Context, k string, o, n []byte, ttl time.Duration) (bool, error) {
	if f.fail() {
		return false, errThrottled
	}
	return f.Store.CompareAndSwap(ctx, k, o, n, ttl)
}

func (f *failingStore) PutIfAbsent(ctx context.Context, k string, v []byte, ttl time.Duration) (bool, error) {
	if f.fail() {
		return false, errThrottled
	}
	return f.Store.PutIfAbsent(ctx, k, v, ttl)
}

// TestThresholdStoreFailureIsRetried: a failed count is an error a retry
// can mend, and the retry counts the event (nothing lost, nothing twice).
func TestThresholdStoreFailureIsRetried(t *testing.T) {
	spec := &ThresholdSpec{Count: 2, Window: time.Minute, By: []string{"principal"}}
	mem := state.NewMemory(nil)
	th := NewThresholds(mem, nil)
	now := time.Now().UTC()
	first := secretRead(t, "mallory", "s", now)
	observeThreshold(t, th, spec, first)

	fs := &failingStore{Store: mem, left: 1} // the marker is written, the count fails
	second := secretRead(t, "mallory", "s", now.Add(time.Second))
	_, err := NewThresholds(fs, nil).Observe(context.Background(), "secrets-read-in-bulk", spec, second)
	var te interface{ Temporary() bool }
	if !errors.Is(err, errThrottled) || !errors.As(err, &te) || !te.Temporary() {
		t.Fatalf("store failure = %v; want a temporary error wrapping it", err)
	}
	if !strings.Contains(err.Error(), `threshold of rule "secrets-read-in-bulk"`) {
		t.Errorf("error does not name the rule: %v", err)
	}
	if c := observeThreshold(t, th, spec, second); c == nil {
		t.Fatal("the retried event did not cross the threshold")
	}
}

// TestThresholdClampsFutureTimes: an event claiming to come from next year
// counts now, so it cannot hold a window open or keep state alive.
func TestThresholdClampsFutureTimes(t *testing.T) {
	spec := &ThresholdSpec{Count: 2, Window: time.Minute, By: []string{"principal"}}
	clk := newClock(t0())
	th := NewThresholds(state.NewMemory(clk.Now), clk.Now)
	observeThreshold(t, th, spec, secretRead(t, "mallory", "s", t0().AddDate(1, 0, 0)))
	c := observeThreshold(t, th, spec, secretRead(t, "mallory", "s", t0().Add(time.Second)))
	if c == nil || !c.First[0].Time.Equal(t0()) {
		t.Fatalf("crossing %+v; want the future event counted at the clock's time", c)
	}
}

func TestThresholdSpecCheck(t *testing.T) {
	for _, tc := range []struct {
		spec ThresholdSpec
		want string
	}{
		{ThresholdSpec{Count: 20, Window: 10 * time.Minute, By: []string{"principal", "requestParameters.bucketName"}}, ""},
		{ThresholdSpec{Count: 1, Window: 10 * time.Minute}, "count must be between 2 and 10000, got 1"},
		{ThresholdSpec{Count: 5, Window: 48 * time.Hour}, "window must be between 10s and 24h, got 48h"},
		{ThresholdSpec{Count: 5, Window: time.Minute, By: []string{"prinicpal"}}, `by: "prinicpal" is neither a label (principal, principal_arn, principal_type, account, region, source_ip, user_agent, event_name, event_source, error_code) nor a dotted event field (like requestParameters.secretId)`},
	} {
		if got := strings.Join(tc.spec.Check(), "; "); got != tc.want {
			t.Errorf("Check(%+v) = %q; want %q", tc.spec, got, tc.want)
		}
	}
	s := ThresholdSpec{Count: 20, Window: 90 * time.Minute, By: []string{"principal"}}
	if got := s.Describe(); got != "20 matches in 1h30m per principal" {
		t.Errorf("Describe = %q", got)
	}
	if got := jaDuration(90 * time.Minute); got != "1時間30分" {
		t.Errorf("jaDuration = %q", got)
	}
}

// FuzzThresholdObserve counts arbitrary records: whatever the fields hold,
// a count never fails on a working store and never panics.
func FuzzThresholdObserve(f *testing.F) {
	f.Add([]byte(`{"eventID":"1","eventName":"GetParameters","eventTime":"2026-11-02T09:00:00Z","requestParameters":{"names":["a","b",{"x":1},null]}}`))
	f.Add([]byte(`{"eventTime":"9999-12-31T23:59:59Z","userIdentity":{"type":"AssumedRole","arn":"\u0000"},"requestParameters":{"name":"\xff"}}`))
	f.Add([]byte(`{"requestParameters":{"names":[]}}`))
	f.Add([]byte(`{}`))
	spec := &ThresholdSpec{Count: 2, Window: time.Minute, By: []string{"principal", "requestParameters.bucketName"},
		Distinct: []string{"requestParameters.name", "requestParameters.names", "source_ip"}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := event.Parse(raw, event.Origin{Input: "fuzz"})
		if err != nil {
			return
		}
		th := NewThresholds(state.NewMemory(t0), t0)
		for range 3 {
			c, err := th.Observe(context.Background(), "fuzz", spec, ev)
			if err != nil {
				t.Fatalf("Observe: %v", err)
			}
			if c != nil && c.Count < 2 {
				t.Fatalf("crossing below the count: %+v", c)
			}
		}
	})
}
