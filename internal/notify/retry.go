package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/trailwatch/trailwatch/internal/render"
)

// Defaults of a Retrier's zero fields.
const (
	DefaultInitial    = 500 * time.Millisecond
	DefaultMax        = 30 * time.Second
	DefaultMaxElapsed = 2 * time.Minute
)

// RetryDelayer is implemented by errors that say when to try again, such as
// an HTTPError carrying a Retry-After header.
type RetryDelayer interface {
	// RetryDelay returns how long to wait after now; ok is false when the
	// error carries no such hint.
	RetryDelay(now time.Time) (d time.Duration, ok bool)
}

// Retrier delivers a payload through a Notifier, retrying failures the
// Notifier marks as retryable. Waits grow exponentially with full jitter (a
// uniform random wait between zero and min(Max, Initial·2^(n-1)) after the
// n-th failure); a failure carrying a RetryDelayer hint (HTTP 429 with
// Retry-After) waits exactly that long instead. No wait reaches past the end
// of the delivery's time budget: the context's deadline or MaxElapsed after
// the start, whichever comes first. When the next attempt would start after
// it, Deliver stops and returns the last failure.
//
// An attempt that runs out of its own AttemptTimeout is retried whatever the
// Notifier made of its ended context: a request that hung may succeed on
// the next attempt, while the delivery's own deadline still ends it all. A
// Paced notifier's slot is waited for before each attempt, under the
// delivery's budget rather than the attempt's; a Retry-After hint pauses its
// Limiter, so that every send to that receiver waits.
//
// The zero value is ready to use with the defaults. A Retrier is safe for
// concurrent use if its Rand is (the default is).
type Retrier struct {
	// Initial is the wait ceiling after the first failure (DefaultInitial).
	Initial time.Duration
	// Max caps the wait ceiling (DefaultMax).
	Max time.Duration
	// MaxElapsed caps the whole delivery, waits included
	// (DefaultMaxElapsed); the context's deadline may end it sooner.
	MaxElapsed time.Duration
	// MaxAttempts caps the number of attempts; zero means only time does.
	MaxAttempts int
	// AttemptTimeout bounds one attempt; zero means only the budget does.
	AttemptTimeout time.Duration

	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for jitter; nil means math/rand/v2.
	Rand func() float64
	// Logger receives a "notify_retry" warning before each wait; nil
	// discards.
	Logger *slog.Logger
}

// DeliveryError is the final failure of a delivery. It names the receiver,
// its kind and the group, and says whether the failure was permanent or the
// retries ran out.
type DeliveryError struct {
	Receiver, Kind string
	// GroupKey is the group's key; AlertKeys the keys (event id|rule id) of
	// the alerts the payload carried, so a caller can tell which inputs
	// were not delivered.
	GroupKey  string
	AlertKeys []string
	// Attempts is how many times the Notifier was called.
	Attempts int
	// Permanent is set when the Notifier said retrying cannot help.
	Permanent bool
	// Err is the last attempt's failure, or the reason retrying stopped.
	Err error
}

// Error implements error.
func (e *DeliveryError) Error() string {
	how := fmt.Sprintf("gave up after %d attempts", e.Attempts)
	switch {
	case e.Permanent:
		how = "not retried (permanent failure)"
	case e.Attempts == 0:
		how = "not sent"
	case e.Attempts == 1:
		how = "gave up after 1 attempt"
	}
	if e.GroupKey == "" {
		return fmt.Sprintf("receiver %q (%s) failed to deliver: %s: %v", e.Receiver, e.Kind, how, e.Err)
	}
	return fmt.Sprintf("receiver %q (%s) failed to deliver group %q: %s: %v", e.Receiver, e.Kind, e.GroupKey, how, e.Err)
}

// Unwrap returns the last failure.
func (e *DeliveryError) Unwrap() error { return e.Err }

// errAttemptTimedOut is the cause of an attempt's context that ran out of
// the attempt's own time.
var errAttemptTimedOut = errors.New("the attempt timed out")

// Deliver sends p through n with a default Retrier.
func Deliver(ctx context.Context, n Notifier, p *render.Payload, g *render.Group) error {
	var r Retrier
	return r.Deliver(ctx, n, p, g)
}

// Deliver sends p through n, retrying as the Retrier describes. It returns
// nil once an attempt succeeds, or a *DeliveryError.
func (r *Retrier) Deliver(ctx context.Context, n Notifier, p *render.Payload, g *render.Group) error {
	now, sleep, rnd := r.Now, r.Sleep, r.Rand
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepCtx
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	initial, maxWait, budget := orDefault(r.Initial, DefaultInitial), orDefault(r.Max, DefaultMax), orDefault(r.MaxElapsed, DefaultMaxElapsed)
	start := now()
	if dl, ok := ctx.Deadline(); ok {
		// The context's deadline is on the wall clock; the budget is
		// measured on the Retrier's clock so that tests can move it.
		budget = min(budget, time.Until(dl))
	}
	end := start.Add(budget)

	fail := func(attempts int, permanent bool, err error) error {
		de := &DeliveryError{Attempts: attempts, Permanent: permanent, Err: err}
		if p != nil {
			de.Receiver, de.Kind = p.Receiver, p.Kind
		}
		if g != nil {
			de.GroupKey = g.Key
			if de.Receiver == "" {
				de.Receiver = g.Receiver
			}
			for _, a := range g.Alerts {
				if a != nil && a.Event != nil {
					de.AlertKeys = append(de.AlertKeys, a.Key())
				}
			}
		}
		return de
	}

	// A paced receiver's slot is waited for here, under the delivery's
	// budget and outside the attempt timeout, so that a wait for the rate
	// is never mistaken for a hung request.
	var limiter *Limiter
	if pn, ok := n.(*Paced); ok {
		n, limiter = pn.Notifier, pn.Limiter
	}

	var last error
	for attempt := 1; ; attempt++ {
		if err := limiter.wait(ctx, end, sleep); err != nil {
			if last != nil {
				err = fmt.Errorf("%w; then %w", last, err)
			}
			if ctx.Err() != nil {
				return fail(attempt-1, false, fmt.Errorf("%w (stopped: %w)", err, context.Cause(ctx)))
			}
			return fail(attempt-1, false, err)
		}
		actx, cancel := ctx, context.CancelFunc(func() {})
		if r.AttemptTimeout > 0 {
			actx, cancel = context.WithTimeoutCause(ctx, r.AttemptTimeout, errAttemptTimedOut)
		}
		retry, err := n.Notify(actx, p, g)
		// Read before cancel, which would set a cause of its own.
		timedOut := err != nil && errors.Is(context.Cause(actx), errAttemptTimedOut)
		cancel()
		if err == nil {
			return nil
		}
		last = err
		if ctx.Err() != nil {
			return fail(attempt, false, fmt.Errorf("%w (stopped: %w)", err, context.Cause(ctx)))
		}
		if timedOut {
			// The attempt ran out of its own time, not the delivery's: a
			// request that hung may well succeed on another attempt,
			// whatever the receiver made of the ended context.
			retry = true
			err = fmt.Errorf("%w (the attempt timed out after %s)", err, r.AttemptTimeout)
			last = err
		}
		if !retry {
			return fail(attempt, true, err)
		}
		if r.MaxAttempts > 0 && attempt >= r.MaxAttempts {
			return fail(attempt, false, err)
		}

		ceiling := initial << min(attempt-1, 30)
		if ceiling <= 0 || ceiling > maxWait {
			ceiling = maxWait
		}
		wait := time.Duration(rnd() * float64(ceiling))
		hinted := false
		var rd RetryDelayer
		if errors.As(err, &rd) {
			if d, ok := rd.RetryDelay(now()); ok {
				wait, hinted = max(d, 0), true
				// Every send to this receiver waits, not only this one.
				limiter.Pause(now().Add(wait))
			}
		}
		left := end.Sub(now())
		if wait >= left {
			if hinted {
				return fail(attempt, false, fmt.Errorf("%w (the server asked to wait %s, beyond the %s left)", err, wait.Round(time.Millisecond), max(left, 0).Round(time.Millisecond)))
			}
			return fail(attempt, false, err)
		}
		if r.Logger != nil {
			attrs := []any{"attempt", attempt, "wait", wait, "error", err.Error()}
			if p != nil {
				attrs = append(attrs, "receiver", p.Receiver, "kind", p.Kind)
			}
			if g != nil {
				attrs = append(attrs, "group_key", g.Key)
			}
			r.Logger.WarnContext(ctx, "notify_retry", attrs...)
		}
		if serr := sleep(ctx, wait); serr != nil {
			return fail(attempt, false, fmt.Errorf("%w (stopped while waiting to retry: %w)", err, serr))
		}
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
