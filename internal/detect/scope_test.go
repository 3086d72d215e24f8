package detect

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/state"
	"github.com/trailwatch/trailwatch/internal/state/statetest"
)

// TestScopedContainersAgreeDynamoDB runs the detectors as concurrent
// Lambda containers do: eight workers, each reading its share of the
// events as one message, with its own state.Scope over its own DynamoDB
// store on one shared table. What each Scope remembers of the others'
// writes goes stale, and still every detector raises its alert exactly
// once: a burst of failures, a spraying address, a new network.
func TestScopedContainersAgreeDynamoDB(t *testing.T) {
	client := statetest.DynamoDB(t)
	clk := newClock(t0())
	cfg := burstConfig + `
  - id: signin-new-network
    kind: first-seen
    attribute: network
    learning: 24h
`
	s := newSet(t, cfg, Options{Store: state.NewDynamoDB(client, statetest.Table, clk.Now), Now: clk.Now})
	// A baseline: anaya signs in from Tokyo, a day and more ago.
	observe(t, s, login(t, "anaya", tokyo, t0()))
	at := t0().Add(48 * time.Hour)
	clk.Set(at.Add(time.Hour))

	var evs []*event.Event
	for i := range 32 {
		ti := at.Add(time.Duration(i) * time.Second)
		evs = append(evs,
			failure(t, "anaya", london, ti),                             // a burst of one principal
			failure(t, "user"+string(rune('a'+i%16)), "198.18.9.9", ti), // spraying from one address
			login(t, "anaya", "192.0.2."+string(rune('1'+i%9)), ti),     // a new network
		)
	}
	var (
		mu  sync.Mutex
		got []*event.Alert
		wg  sync.WaitGroup
	)
	const workers = 8
	for w := range workers {
		wg.Go(func() {
			sc := state.NewScope(state.NewDynamoDB(client, statetest.Table, clk.Now), clk.Now)
			view := s.WithStore(sc)
			for i := w; i < len(evs); i += workers {
				a, err := view.Observe(context.Background(), evs[i])
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				got = append(got, a...)
				mu.Unlock()
			}
			if err := sc.End(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	count := map[string]int{}
	for _, a := range got {
		count[a.Rule.ID]++
	}
	for _, id := range []string{"signin-failure-burst", "signin-password-spraying", "signin-new-network"} {
		if count[id] != 1 {
			t.Errorf("%s raised %d times; want exactly once (all alerts: %v)", id, count[id], count)
		}
	}
}

// TestScopedThresholdsAgreeDynamoDB counts one key from eight processes,
// each through its own Scope: one alert, and every match counted.
func TestScopedThresholdsAgreeDynamoDB(t *testing.T) {
	client := statetest.DynamoDB(t)
	clk := newClock(t0())
	spec := &ThresholdSpec{Count: 40, Window: 10 * time.Minute, By: []string{"principal"}}
	evs := make([]*event.Event, 40)
	for i := range evs {
		evs[i] = secretRead(t, "mallory", "s", t0().Add(time.Duration(i)*time.Second))
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		alerts []*Crossing
	)
	for w := range 8 {
		wg.Go(func() {
			th := NewThresholds(state.NewScope(state.NewDynamoDB(client, statetest.Table, clk.Now), clk.Now), clk.Now)
			for i := w; i < len(evs); i += 8 {
				c, err := th.Observe(context.Background(), "r", spec, evs[i])
				if err != nil {
					t.Error(err)
				}
				if c != nil {
					mu.Lock()
					alerts = append(alerts, c)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	// The alert comes at the 40th count: no count was lost to a stale
	// remembered value.
	if len(alerts) != 1 || alerts[0].Count != 40 {
		t.Fatalf("alerts %+v; want exactly one, at 40 matches", alerts)
	}
}

// TestLearningStartAsksTheStoreOnce: once an account's learning start is
// recorded, its later events cost no store call, whatever their eventTime
// looks like; an earlier event moves the start back.
func TestLearningStartAsksTheStoreOnce(t *testing.T) {
	clk := newClock(replayClock())
	cs := &countingStore{Store: state.NewMemory(clk.Now)}
	s := newSet(t, `
detectors:
  - {id: n, kind: first-seen, attribute: network, learning: 7d}
`, Options{Store: cs, Now: clk.Now})
	ctx := context.Background()
	unwatched := func(at any) *event.Event {
		return vary(t, template(t, "get-secret-value.json"), "eventTime", at, "eventID", nextID(), "recipientAccountId", "111122223333")
	}
	if err := s.Learn(ctx, unwatched(t0())); err != nil {
		t.Fatal(err)
	}
	first := cs.calls.Load()
	if first == 0 {
		t.Fatal("the first event of an account recorded no learning start")
	}
	for _, at := range []any{t0().Add(time.Hour), "2026-11-02T10:00:00.250Z", t0(), "not a time"} {
		if err := s.Learn(ctx, unwatched(at)); err != nil {
			t.Fatal(err)
		}
	}
	if n := cs.calls.Load(); n != first {
		t.Fatalf("%d store calls for later events of the account; want none", n-first)
	}
	if err := s.Learn(ctx, unwatched(t0().Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	if cs.calls.Load() == first {
		t.Fatal("an earlier event did not move the learning start back")
	}
	if start, ok := s.learningStartFor(s.learners[0], unwatched(t0())); !ok || !start.Equal(t0().Add(-time.Hour)) {
		t.Fatalf("learning start %s %v; want %s", start, ok, t0().Add(-time.Hour))
	}
}

func TestIsCanonicalTime(t *testing.T) {
	for s, want := range map[string]bool{
		"2023-07-10T11:45:01Z":      true,
		"2023-07-10T11:45:01.5Z":    false,
		"2023-07-10T11:45:01+09:00": false,
		"2023-07-10 11:45:01Z":      false,
		"2023-07-1OT11:45:01Z":      false,
		"":                          false,
	} {
		if got := isCanonicalTime([]byte(s)); got != want {
			t.Errorf("isCanonicalTime(%q) = %v; want %v", s, got, want)
		}
	}
}
