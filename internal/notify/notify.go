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
// error or a log line: each receiver registers its credentials with a
// Redactor when it is built, and every error built from a server's answer
// goes through it. The Redactor looks for each secret in the encodings a
// server that quotes a request back is likely to use (JSON, HTML, percent
// and base64 escapes, and pieces of it), before an answer is cut short.
//
// A receiver is never redirected: Send does not follow a 3xx answer, whatever
// HTTP client it is given, and reports it as a failed send naming only the
// host it pointed to; no request carries a Referer.
//
// A receiver may be paced (Pace, Limiter): a token bucket per receiver, with
// defaults per kind (DefaultRate), that a Retrier waits on within the
// delivery's deadline and pauses when the receiver answers 429 with
// Retry-After. A send that cannot get a slot before the deadline fails at
// once, as retryable, rather than blocking past it.
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
