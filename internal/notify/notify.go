// Package notify delivers rendered payloads to receivers and retries what
// can succeed later.
//
// A receiver is one package under notify/ (slack, slackbot, teams, webhook,
// sns, email, stdout) with a constructor that takes its own Options and
// returns a Notifier. A Notifier makes one attempt and says whether a failure
// may succeed later; a Retrier (or the Deliver function) turns attempts into a
// delivery: exponential backoff with full jitter, Retry-After honoured, all
// within the context's deadline, and a final error that names the receiver
// and the group. Failures are returned to the caller, never dropped.
//
// Secrets (webhook URLs, tokens, passwords, signing keys) never appear in an
// error or a log line: Send removes the request URL and the given secret
// values from every error it builds, and receivers pass their credentials to
// it.
package notify

import (
	"context"

	"github.com/trailwatch/trailwatch/internal/render"
)

// Notifier sends one payload to one receiver.
type Notifier interface {
	// Notify sends one payload. retry reports whether a failure may succeed
	// later.
	Notify(ctx context.Context, p *render.Payload, g *render.Group) (retry bool, err error)
}

// Func adapts a function to the Notifier interface.
type Func func(ctx context.Context, p *render.Payload, g *render.Group) (bool, error)

// Notify implements Notifier.
func (f Func) Notify(ctx context.Context, p *render.Payload, g *render.Group) (bool, error) {
	return f(ctx, p, g)
}
