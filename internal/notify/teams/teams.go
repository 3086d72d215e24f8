// Package teams sends payloads to a Microsoft Teams Workflows webhook (the
// "Post to a channel when a webhook request is received" flow that replaced
// Office 365 connectors). The payload body is the message JSON holding an
// Adaptive Card attachment, as render builds it.
//
// The flow answers 202 Accepted (some tenants 200) once it has queued the
// message, 429 with Retry-After when throttled, 4xx for a malformed card or a
// disabled flow, and 5xx when the service fails.
package teams

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/secret"
)

// Options configure a Teams receiver.
type Options struct {
	// URL is the workflow's HTTP trigger URL. It carries a signature (sig=)
	// in its query and is a credential.
	URL secret.Secret
	// Client sends the requests; nil means http.DefaultClient.
	Client *http.Client
}

// Notifier posts to one Teams workflow. Safe for concurrent use.
type Notifier struct {
	o Options
}

// New returns a Notifier, or an error when the URL is missing.
func New(o Options) (*Notifier, error) {
	if o.URL.IsZero() {
		return nil, errors.New("teams: the workflow url is empty")
	}
	if err := notify.CheckURL(o.URL.Reveal()); err != nil {
		return nil, fmt.Errorf("teams: the workflow url: %w", err)
	}
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	return &Notifier{o: o}, nil
}

// Notify implements notify.Notifier: it POSTs p.Body.
func (n *Notifier) Notify(ctx context.Context, p *render.Payload, _ *render.Group) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.o.URL.Reveal(), bytes.NewReader(p.Body))
	if err != nil {
		return false, errors.New("teams workflow url is not a valid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	_, retry, err := notify.Send(n.o.Client, req, "teams workflow")
	return retry, err
}
