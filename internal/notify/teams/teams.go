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
	"net/http"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/secret"
)

// Options configure a receiver.
type Options struct {
	// URL is the workflow's HTTP trigger URL. It carries a signature (sig=)
	// in its query and is a credential.
	URL secret.Secret
	// Client sends the requests; nil means http.DefaultClient. Give it a
	// timeout (notify.NewHTTPClient). Redirects are never followed.
	Client *http.Client
	// Redactor receives the URL as a secret; nil means one of the
	// receiver's own. Share one across receivers to redact every
	// receiver's secrets from every error.
	Redactor *notify.Redactor
}

// Notifier posts to one Teams workflow. Safe for concurrent use.
type Notifier struct {
	*notify.JSONPoster
}

// New returns a Notifier, or an error when the URL is missing or not https.
func New(o Options) (*Notifier, error) {
	p, err := notify.NewJSONPoster("teams", "workflow", o.URL, o.Client, o.Redactor, "application/json")
	if err != nil {
		return nil, err
	}
	return &Notifier{p}, nil
}
