package notify

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/trailwatch/trailwatch/internal/render"
)

// Rate is how fast one receiver may be sent to: PerSecond sends a second on
// average, and up to Burst at once after a quiet spell. A zero PerSecond
// means no limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Unlimited reports whether r sets no limit.
func (r Rate) Unlimited() bool {
	return r.PerSecond <= 0 || math.IsInf(r.PerSecond, 1) || math.IsNaN(r.PerSecond)
}

// String writes r as "1/s, burst 3", or "unlimited".
func (r Rate) String() string {
	if r.Unlimited() {
		return "unlimited"
	}
	return strconv.FormatFloat(r.PerSecond, 'g', 4, 64) + "/s, burst " + strconv.Itoa(max(r.Burst, 1))
}

// DefaultRate returns the pace of a receiver kind whose configuration sets
// none:
//
//   - slack and slackbot: 1 a second, bursts of 3. Slack allows about one
//     message a second to a channel (chat.postMessage and incoming webhooks
//     alike), with short bursts, and answers 429 beyond;
//   - teams: 1 a second, bursts of 3, well within what a Workflows trigger
//     accepts and what a channel's readers can follow;
//   - webhook: 10 a second, bursts of 20: the far end is the operator's own;
//   - sns: 30 a second, bursts of 30, far under the Publish quota of every
//     region, so a flood of groups cannot throttle the account's other
//     publishers;
//   - email: 1 a second, bursts of 1: SES's sending quota of an account in
//     the sandbox, and a pace mail servers and readers can bear;
//   - stdout and unknown kinds: no limit.
func DefaultRate(kind string) Rate {
	switch kind {
	case render.KindSlack, render.KindSlackBot, render.KindTeams:
		return Rate{PerSecond: 1, Burst: 3}
	case render.KindWebhook:
		return Rate{PerSecond: 10, Burst: 20}
	case render.KindSNS:
		return Rate{PerSecond: 30, Burst: 30}
	case render.KindEmail:
		return Rate{PerSecond: 1, Burst: 1}
	}
	return Rate{}
}

// Limiter is a token bucket: it holds up to Burst send slots, refilled at
// PerSecond, and a send takes one. A send that finds no slot waits for the
// next one, unless that comes after its deadline: then it fails at once
// with a *PaceError, which is retryable, rather than blocking past the
// time its caller has. A Retry-After answer pauses every send (Pause).
//
// Safe for concurrent use: concurrent sends to one receiver share its
// slots, in the order they ask.
type Limiter struct {
	rate Rate
	now  func() time.Time

	mu     sync.Mutex
	tokens float64   // slots at last; negative when slots are promised ahead
	last   time.Time // when tokens was right; may be ahead of now after a pause
}

// NewLimiter returns a Limiter for r on the clock now (nil means time.Now),
// with its bucket full. It returns nil for an unlimited rate; a nil
// *Limiter never waits.
func NewLimiter(r Rate, now func() time.Time) *Limiter {
	if r.Unlimited() {
		return nil
	}
	if r.Burst < 1 {
		r.Burst = 1
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: r, now: now, tokens: float64(r.Burst), last: now()}
}

// Rate returns the limiter's rate.
func (l *Limiter) Rate() Rate {
	if l == nil {
		return Rate{}
	}
	return l.rate
}

// advance refills the bucket up to now.
func (l *Limiter) advance(now time.Time) {
	if now.After(l.last) {
		l.tokens = math.Min(float64(l.rate.Burst), l.tokens+now.Sub(l.last).Seconds()*l.rate.PerSecond)
		l.last = now
	}
}

// slot returns when the next slot is free, given the bucket as it is.
func (l *Limiter) slot(now time.Time) time.Time {
	at := l.last
	if l.tokens < 1 {
		at = at.Add(time.Duration((1 - l.tokens) / l.rate.PerSecond * float64(time.Second)))
	}
	if at.Before(now) {
		return now
	}
	return at
}

// Take reserves the next send slot if it comes no later than deadline (a
// zero deadline means any time) and returns how long to wait for it. When
// it would come later, nothing is taken and ok is false; next says when it
// would come.
func (l *Limiter) Take(deadline time.Time) (wait time.Duration, next time.Time, ok bool) {
	if l == nil {
		return 0, time.Time{}, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.advance(now)
	at := l.slot(now)
	if !deadline.IsZero() && at.After(deadline) {
		return 0, at, false
	}
	l.tokens--
	return at.Sub(now), at, true
}

// Return gives back a slot that was taken but not used (its wait was cut
// short), so that a cancelled send does not slow the others.
func (l *Limiter) Return() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens = math.Min(float64(l.rate.Burst), l.tokens+1)
}

// Pause holds every send until t, as a 429 answer with Retry-After asks:
// the slots promised so far keep their order after it and the bucket starts
// refilling only then, so that the first sends after the pause do not come
// as one burst.
func (l *Limiter) Pause(until time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance(l.now())
	if until.After(l.last) {
		// One slot at the end of the pause, then the rate; slots promised
		// before the pause move behind it.
		l.tokens = math.Min(l.tokens, 1)
		l.last = until
	}
}

// Available returns how many sends could start from now until deadline
// without waiting past it, taking none: the free slots now plus those the
// rate refills by then, less those already promised. A caller that has more
// to send than this (a flood of groups) can fold the rest into a summary
// rather than have them fail. A nil Limiter returns math.MaxInt.
func (l *Limiter) Available(deadline time.Time) int {
	if l == nil {
		return math.MaxInt
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.advance(now)
	from := l.last
	if from.Before(now) {
		from = now
	}
	if deadline.Before(from) {
		return 0
	}
	// Slots are taken while tokens >= 1 at the time of the send; refill
	// during the window, capped at Burst, only matters when the bucket
	// drains: a sequence of sends at the earliest moments gets
	// floor(tokens + rate*window) of them.
	n := math.Floor(l.tokens + deadline.Sub(from).Seconds()*l.rate.PerSecond)
	if n < 0 {
		return 0
	}
	return int(n)
}

// Wait waits for a send slot, within ctx's deadline. It returns a
// *PaceError at once when the next slot comes after the deadline, and the
// context's error if it ends while waiting.
func (l *Limiter) Wait(ctx context.Context) error {
	dl, _ := ctx.Deadline()
	return l.wait(ctx, dl, sleepCtx)
}

func (l *Limiter) wait(ctx context.Context, deadline time.Time, sleep func(context.Context, time.Duration) error) error {
	if l == nil {
		return nil
	}
	d, next, ok := l.Take(deadline)
	if !ok {
		return &PaceError{Rate: l.rate, Next: next.Sub(l.now()), Left: deadline.Sub(l.now())}
	}
	if d <= 0 {
		return nil
	}
	if err := sleep(ctx, d); err != nil {
		l.Return()
		return err
	}
	return nil
}

// PaceError is a send that could not get a slot of its receiver's rate
// before its deadline. It is retryable: the alerts are reported as not
// delivered, and the input is retried later.
type PaceError struct {
	Rate Rate
	// Next is how long until the next free slot; Left how long until the
	// deadline.
	Next, Left time.Duration
}

// Error implements error.
func (e *PaceError) Error() string {
	return fmt.Sprintf("no send slot before the deadline: the receiver is paced at %s and its next slot is in %s, with %s left",
		e.Rate, e.Next.Round(time.Millisecond), max(e.Left, 0).Round(time.Millisecond))
}

// Temporary reports that a later attempt may succeed.
func (e *PaceError) Temporary() bool { return true }

// Paced is a Notifier whose sends are paced by a Limiter: every attempt,
// retries included, takes a slot. A Retrier waits for the slot itself,
// within the delivery's budget and outside the attempt timeout, and pauses
// the Limiter when the receiver answers 429 with Retry-After.
type Paced struct {
	Notifier
	Limiter *Limiter
}

// Pace returns n paced at r on the clock now (nil means time.Now), or n
// itself when r is unlimited.
func Pace(n Notifier, r Rate, now func() time.Time) Notifier {
	l := NewLimiter(r, now)
	if l == nil {
		return n
	}
	return &Paced{Notifier: n, Limiter: l}
}

// Notify implements Notifier: it waits for a slot within ctx's deadline,
// then sends. A slot that cannot come in time is a retryable failure.
func (p *Paced) Notify(ctx context.Context, pl *render.Payload, g *render.Group) (bool, error) {
	if err := p.Limiter.Wait(ctx); err != nil {
		return ctx.Err() == nil, err
	}
	return p.Notifier.Notify(ctx, pl, g)
}

// SendsBefore returns how many sends n can start before deadline without
// waiting past it, and false when n is not paced (it can start any number).
func SendsBefore(n Notifier, deadline time.Time) (int, bool) {
	p, ok := n.(*Paced)
	if !ok {
		return 0, false
	}
	return p.Limiter.Available(deadline), true
}
