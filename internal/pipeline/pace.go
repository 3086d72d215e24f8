package pipeline

import (
	"math"
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

// receiverPacer tells the dispatcher how many messages each receiver's rate
// lets it send before a deadline (route.Pacer): the groups beyond that are
// folded into one summary rather than queued past the deadline or dropped.
type receiverPacer map[string]notify.Notifier

// Capacity returns the sends receiver can still start before until; a
// receiver without a rate takes any number.
func (r receiverPacer) Capacity(receiver string, until time.Time) int {
	if n, ok := notify.SendsBefore(r[receiver], until); ok {
		return n
	}
	return math.MaxInt
}
