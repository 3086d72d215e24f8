// Package slack sends payloads to a Slack incoming webhook.
//
// Slack answers 200 "ok" on success, 4xx with a short reason
// ("invalid_payload", "channel_not_found", "no_service") that no retry will
// change, 429 with Retry-After when the webhook is rate limited, and 5xx when
// Slack itself fails. The notify package's Send classifies those answers.
package slack

import (
	"net/http"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/secret"
)

// Options configure a receiver.
type Options struct {
	// URL is the incoming webhook URL. It is a credential: whoever has it can
	// post to the channel.
	URL secret.Secret
	// Client sends the requests; nil means http.DefaultClient. Give it a
	// timeout (notify.NewHTTPClient). Redirects are never followed.
	Client *http.Client
	// Redactor receives the URL as a secret; nil means one of the
	// receiver's own. Share one across receivers to redact every
	// receiver's secrets from every error.
	Redactor *notify.Redactor
}

// Notifier posts to one incoming webhook. Safe for concurrent use.
type Notifier struct {
	*notify.JSONPoster
}

// New returns a Notifier, or an error when the URL is missing or not https.
func New(o Options) (*Notifier, error) {
	p, err := notify.NewJSONPoster("slack", "webhook", o.URL, o.Client, o.Redactor, "application/json; charset=utf-8")
	if err != nil {
		return nil, err
	}
	return &Notifier{p}, nil
}
