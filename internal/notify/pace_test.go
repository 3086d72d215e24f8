package notify_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/notify/notifytest"
	"github.com/trailwatch/trailwatch/internal/notify/slack"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/secret"
)

func TestLimiterIsATokenBucket(t *testing.T) {
	clock := notifytest.NewClock()
	l := notify.NewLimiter(notify.Rate{PerSecond: 1, Burst: 3}, clock.Now)
	start := clock.Now()
	var waits []time.Duration
	for range 5 {
		d, _, ok := l.Take(time.Time{})
		if !ok {
			t.Fatal("Take without a deadline refused")
		}
		waits = append(waits, d)
	}
	want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second}
	if len(waits) != len(want) {
		t.Fatalf("waits = %v", waits)
	}
	for i := range want {
		if waits[i] != want[i] {
			t.Errorf("waits = %v, want %v", waits, want)
			break
		}
	}
	// Two slots are promised ahead; in 2s they are used, and 3s more give 3.
	if n := l.Available(start.Add(2 * time.Second)); n != 0 {
		t.Errorf("Available(2s) = %d, want 0", n)
	}
	if n := l.Available(start.Add(5 * time.Second)); n != 3 {
		t.Errorf("Available(5s) = %d, want 3", n)
	}
	// A slot after the deadline is refused, and nothing is taken.
	if _, next, ok := l.Take(start.Add(2500 * time.Millisecond)); ok || !next.Equal(start.Add(3*time.Second)) {
		t.Errorf("Take before 2.5s = %v %v, want refused with the next slot at 3s", next, ok)
	}
	if _, _, ok := l.Take(start.Add(3 * time.Second)); !ok {
		t.Error("the slot at 3s was taken by a refused Take")
	}
	// After a quiet spell the bucket is full again, never fuller.
	clock.Sleep(context.Background(), time.Hour)
	if n := l.Available(clock.Now()); n != 3 {
		t.Errorf("Available after an hour = %d, want 3", n)
	}
	// A pause holds every slot until it ends; then one, then the rate.
	l.Pause(clock.Now().Add(10 * time.Second))
	if n := l.Available(clock.Now().Add(9 * time.Second)); n != 0 {
		t.Errorf("Available during a pause = %d", n)
	}
	if d, _, _ := l.Take(time.Time{}); d != 10*time.Second {
		t.Errorf("first slot after a 10s pause in %v", d)
	}
	if d, _, _ := l.Take(time.Time{}); d != 11*time.Second {
		t.Errorf("second slot after a 10s pause in %v", d)
	}
	if notify.NewLimiter(notify.Rate{}, nil) != nil || notify.NewLimiter(notify.Rate{PerSecond: math.Inf(1)}, nil) != nil {
		t.Error("an unlimited rate made a limiter")
	}
	var none *notify.Limiter
	if d, _, ok := none.Take(time.Now()); d != 0 || !ok || none.Available(time.Now()) != math.MaxInt {
		t.Error("a nil limiter limits")
	}
}

// TestPacedSendFailsFastPastTheDeadline: a send that cannot get a slot
// before the delivery's deadline fails at once, as retryable, without
// sending and without blocking past the deadline.
func TestPacedSendFailsFastPastTheDeadline(t *testing.T) {
	clock := notifytest.NewClock()
	r := clock.Retrier(nil)
	r.MaxElapsed = 500 * time.Millisecond
	calls := 0
	n := notify.Pace(notify.Func(func(context.Context, *render.Payload, *render.Group) (bool, error) {
		calls++
		return false, nil
	}), notify.Rate{PerSecond: 1, Burst: 1}, clock.Now)
	if err := r.Deliver(context.Background(), n, payload, notifytest.Group("ops")); err != nil {
		t.Fatal(err)
	}
	err := r.Deliver(context.Background(), n, payload, notifytest.Group("ops"))
	var de *notify.DeliveryError
	var pe *notify.PaceError
	if !errors.As(err, &de) || de.Permanent || de.Attempts != 0 || !errors.As(err, &pe) {
		t.Fatalf("err = %v", err)
	}
	want := `receiver "ops" (slack) failed to deliver group "ops/rule=root-console-login": not sent: no send slot before the deadline: the receiver is paced at 1/s, burst 1 and its next slot is in 1s, with 500ms left`
	if err.Error() != want {
		t.Errorf("error\n got: %s\nwant: %s", err, want)
	}
	if calls != 1 || len(clock.Waits()) != 0 {
		t.Errorf("calls = %d, waits = %v", calls, clock.Waits())
	}
	// With time enough, the send waits for its slot.
	r.MaxElapsed = 2 * time.Second
	if err := r.Deliver(context.Background(), n, payload, notifytest.Group("ops")); err != nil {
		t.Fatal(err)
	}
	if w := clock.Waits(); calls != 2 || len(w) != 1 || w[0] != time.Second {
		t.Errorf("calls = %d, waits = %v", calls, w)
	}
}

// TestRetryAfterPausesTheReceiver: a 429 with Retry-After holds back every
// send to that receiver, not only the one retried.
func TestRetryAfterPausesTheReceiver(t *testing.T) {
	clock := notifytest.NewClock()
	r := clock.Retrier(nil)
	calls := 0
	inner := notify.Func(func(context.Context, *render.Payload, *render.Group) (bool, error) {
		calls++
		if calls == 1 {
			return true, &notify.HTTPError{Target: "slack webhook", StatusCode: 429, RetryAfter: 3 * time.Second}
		}
		return false, nil
	})
	p := notify.Pace(inner, notify.Rate{PerSecond: 10, Burst: 5}, clock.Now).(*notify.Paced)
	during := -1
	r.Sleep = func(ctx context.Context, d time.Duration) error {
		if during < 0 {
			during = p.Limiter.Available(clock.Now().Add(d - time.Millisecond))
		}
		return clock.Sleep(ctx, d)
	}
	if err := r.Deliver(context.Background(), p, payload, notifytest.Group("ops")); err != nil {
		t.Fatal(err)
	}
	if during != 0 {
		t.Errorf("%d sends could start during the Retry-After wait, want 0", during)
	}
	if calls != 2 {
		t.Errorf("calls = %d", calls)
	}
}

// TestReceiverIsNeverSentFasterThanItsRate: many concurrent deliveries to a
// real HTTP receiver arrive no faster than its rate allows: for any two
// requests, those between them (inclusive) number at most burst plus rate
// times the time between them.
func TestReceiverIsNeverSentFasterThanItsRate(t *testing.T) {
	const (
		sends = 10
		per   = 4.0
		burst = 2
	)
	var mu sync.Mutex
	var times []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	hook, err := slack.New(slack.Options{URL: secret.New(srv.URL + "/services/T000/B000/" + token), Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	n := notify.Pace(hook, notify.Rate{PerSecond: per, Burst: burst}, nil)
	r := &notify.Retrier{MaxAttempts: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for i := range sends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Deliver(ctx, n, payload, notifytest.Group("ops")); err != nil {
				t.Errorf("send %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	if len(times) != sends {
		t.Fatalf("the server got %d requests, want %d", len(times), sends)
	}
	// Requests travel a little, and on a busy machine a goroutine wakes
	// late: allow each window 150ms of jitter, well under the 250ms
	// between two slots and far under what an unpaced flood would show.
	const slack = 150 * time.Millisecond
	for i := range times {
		for j := i; j < len(times); j++ {
			window := times[j].Sub(times[i]) + slack
			if allowed := burst + per*window.Seconds(); float64(j-i+1) > allowed {
				t.Fatalf("%d requests within %v, more than the %.1f the rate allows", j-i+1, times[j].Sub(times[i]), allowed)
			}
		}
	}
	if took, least := time.Since(start), time.Duration(float64(sends-burst)/per*float64(time.Second)); took < least-slack {
		t.Errorf("%d sends took %v, less than the %v the rate allows", sends, took, least)
	}
}

func TestDefaultRates(t *testing.T) {
	for kind, want := range map[string]string{
		"slack": "1/s, burst 3", "slackbot": "1/s, burst 3", "teams": "1/s, burst 3",
		"webhook": "10/s, burst 20", "sns": "30/s, burst 30", "email": "1/s, burst 1", "stdout": "unlimited",
	} {
		if got := notify.DefaultRate(kind).String(); got != want {
			t.Errorf("DefaultRate(%s) = %s, want %s", kind, got, want)
		}
	}
	n := notify.Pace(notify.Func(func(context.Context, *render.Payload, *render.Group) (bool, error) { return false, nil }), notify.DefaultRate("stdout"), nil)
	if _, paced := n.(*notify.Paced); paced {
		t.Error("stdout is paced")
	}
	if _, ok := notify.SendsBefore(n, time.Now()); ok {
		t.Error("an unpaced notifier reports a limit")
	}
	p := notify.Pace(n, notify.Rate{PerSecond: 2, Burst: 4}, nil)
	if c, ok := notify.SendsBefore(p, time.Now().Add(10*time.Second)); !ok || c < 23 || c > 24 {
		t.Errorf("SendsBefore(10s) = %d %v, want 24", c, ok)
	}
	if !strings.Contains((&notify.PaceError{Rate: notify.Rate{PerSecond: 1}}).Error(), "burst 1") {
		t.Error("a burst below one is not shown as one")
	}
}
