// Package slack sends payloads to a Slack incoming webhook.
//
// Slack answers 200 "ok" on success, 4xx with a short reason
// ("invalid_payload", "channel_not_found", "no_service") that no retry will
// change, 429 with Retry-After when the webhook is rate limited, and 5xx when
// Slack itself fails. The notify package's Send classifies those answers.
package slack

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

// Options configure a webhook receiver.
type Options struct {
	// URL is the incoming webhook URL. It is a credential: whoever has it can
	// post to the channel.
	URL secret.Secret
	// Client sends the requests; nil means http.DefaultClient. Give it a
	// timeout.
	Client *http.Client
}

// Notifier posts to one incoming webhook. Safe for concurrent use.
type Notifier struct {
	o Options
}

// New returns a Notifier, or an error when the URL is missing.
func New(o Options) (*Notifier, error) {
	if o.URL.IsZero() {
		return nil, errors.New("slack: the webhook url is empty")
	}
	if err := notify.CheckURL(o.URL.Reveal()); err != nil {
		return nil, fmt.Errorf("slack: the webhook url: %w", err)
	}
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	return &Notifier{o: o}, nil
}

// Notify implements notify.Notifier: it POSTs p.Body (Slack message JSON).
func (n *Notifier) Notify(ctx context.Context, p *render.Payload, _ *render.Group) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.o.URL.Reveal(), bytes.NewReader(p.Body))
	if err != nil {
		// The parse error quotes the URL; say only what is wrong.
		return false, errors.New("slack webhook url is not a valid URL")
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	_, retry, err := notify.Send(n.o.Client, req, "slack webhook")
	return retry, err
}
