package pipeline

import (
	"time"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/notify"
)

// paced puts a receiver behind its rate: the one its configuration sets,
// else its kind's default (notify.DefaultRate). Every send to it, retries
// included, takes a slot; the Retrier waits for slots within the
// invocation's deadline.
func paced(n notify.Notifier, r *config.Receiver, now func() time.Time) notify.Notifier {
	rate := notify.DefaultRate(r.Kind())
	if r.Rate != nil {
		rate = notify.Rate{PerSecond: r.Rate.PerSecond, Burst: max(r.Rate.Burst, 1)}
	}
	return notify.Pace(n, rate, now)
}
