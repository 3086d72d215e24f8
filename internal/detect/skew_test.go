package detect

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/state"
)

// TestFutureEventTimeIsNotBelieved: one forged record dated 2099 must not
// switch the burst detector off for its principal, nor keep a network
// "known" until 2099; the detectors take the time of reading instead and
// log why.
func TestFutureEventTimeIsNotBelieved(t *testing.T) {
	forgedAt := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	t.Run("burst", func(t *testing.T) {
		clk := newClock(t0())
		var logs bytes.Buffer
		s := newSet(t, burstConfig, Options{Store: state.NewMemory(clk.Now), Now: clk.Now,
			Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
		forged := failure(t, "anaya", london, forgedAt)
		observe(t, s, forged)
		var got []*event.Alert
		for i := range 5 {
			at := t0().Add(time.Duration(i+1) * 20 * time.Second)
			clk.Set(at)
			got = append(got, observe(t, s, failure(t, "anaya", london, at))...)
		}
		if ids(got) != "signin-failure-burst" {
			t.Fatalf("five real failures after a forged one dated 2099 = %q; want signin-failure-burst", ids(got))
		}
		if !strings.Contains(logs.String(), `"msg":"event_time_in_future"`) || !strings.Contains(logs.String(), forged.ID()) ||
			!strings.Contains(logs.String(), `"event_time":"2099-01-01T00:00:00Z"`) {
			t.Errorf("no log line names the forged event:\n%s", logs.String())
		}
	})
	t.Run("first-seen network", func(t *testing.T) {
		clk := newClock(t0())
		s := newSet(t, `
detectors:
  - {id: n, kind: first-seen, attribute: network, learning: 1h, retention: 30d}
`, Options{Store: state.NewMemory(clk.Now), Now: clk.Now})
		step := func(at time.Time, ip string, evAt time.Time) []*event.Alert {
			clk.Set(at)
			return observe(t, s, login(t, "anaya", ip, evAt))
		}
		step(t0(), tokyo, t0())
		step(t0().Add(2*time.Hour), london, forgedAt)
		day20 := t0().Add(20 * 24 * time.Hour)
		step(day20, tokyo, day20) // the principal stays active
		// 40 days later the network has been unseen for longer than the
		// retention: a real sign-in from it is news again.
		at := t0().Add(40 * 24 * time.Hour)
		if a := step(at, london, at); ids(a) != "n" {
			t.Fatalf("a network last seen (by a forged record dated 2099) 40 days ago = %q; want an alert", ids(a))
		}
	})
	t.Run("a small skew is believed", func(t *testing.T) {
		clk := newClock(t0())
		s := newSet(t, burstConfig, Options{Store: state.NewMemory(clk.Now), Now: clk.Now})
		o := &obs{ev: failure(t, "anaya", london, t0().Add(DefaultMaxSkew)), set: s}
		if got := o.time(); !got.Equal(t0().Add(DefaultMaxSkew)) {
			t.Fatalf("an event %s ahead of the clock read as %s", DefaultMaxSkew, got)
		}
		old := t0().Add(-300 * 24 * time.Hour)
		o = &obs{ev: failure(t, "anaya", london, old), set: s}
		if got := o.time(); !got.Equal(old) {
			t.Fatalf("an archived event read as %s; want its own time %s", got, old)
		}
	})
}
