package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/secret"
)

// JSONPoster POSTs payload bodies to one URL that is itself a credential,
// as Slack incoming webhooks and Teams workflows are. Safe for concurrent
// use.
type JSONPoster struct {
	url         secret.Secret
	client      *http.Client
	red         *Redactor
	target      string // "slack webhook": names the receiver in errors
	contentType string
}

// NewJSONPoster checks the URL and returns a poster. pkg and what name it in
// errors ("slack", "webhook" give "slack: the webhook url is empty"); client
// nil means http.DefaultClient (redirects are never followed either way);
// red receives the URL as a secret (nil means a Redactor of its own).
func NewJSONPoster(pkg, what string, url secret.Secret, client *http.Client, red *Redactor, contentType string) (*JSONPoster, error) {
	if url.IsZero() {
		return nil, fmt.Errorf("%s: the %s url is empty", pkg, what)
	}
	if err := CheckURL(url.Reveal()); err != nil {
		return nil, fmt.Errorf("%s: the %s url: %w", pkg, what, err)
	}
	if client == nil {
		client = http.DefaultClient
	}
	if red == nil {
		red = &Redactor{}
	}
	red.AddURL(url.Reveal())
	return &JSONPoster{url: url, client: client, red: red, target: pkg + " " + what, contentType: contentType}, nil
}

// Notify implements Notifier: it POSTs p.Body.
func (n *JSONPoster) Notify(ctx context.Context, p *render.Payload, _ *render.Group) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url.Reveal(), bytes.NewReader(p.Body))
	if err != nil {
		// The parse error quotes the URL; say only what is wrong.
		return false, errors.New(n.target + " url is not a valid URL")
	}
	req.Header.Set("Content-Type", n.contentType)
	_, retry, err := Send(n.client, req, n.target, n.red)
	return retry, err
}
