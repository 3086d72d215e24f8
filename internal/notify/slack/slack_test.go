package slack

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/notify/notifytest"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/secret"
)

const hookToken = "XyZzY-sl4ck-h00k-t0k3n"

func TestWebhook(t *testing.T) {
	body := `{"text":"Root user signed in","blocks":[]}`
	notifytest.RunHTTP(t, notifytest.HTTPCase{
		Receiver: "ops-slack",
		Payload:  &render.Payload{Receiver: "ops-slack", Kind: "slack", Body: []byte(body), ContentType: "application/json"},
		OK:       notifytest.Step{Status: 200, Body: "ok"},
		Path:     "/services/T000/B000/" + hookToken,
		Secrets:  []string{hookToken},
		New: func(t *testing.T, endpoint string, client *http.Client, _ *slog.Logger) notify.Notifier {
			n, err := New(Options{URL: secret.New(endpoint), Client: client})
			if err != nil {
				t.Fatal(err)
			}
			return n
		},
		Check: func(t *testing.T, r notifytest.Request) {
			if r.Method != "POST" || r.Path != "/services/T000/B000/"+hookToken || string(r.Body) != body || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("request = %s %s %q %q", r.Method, r.Path, r.Body, r.Header.Get("Content-Type"))
			}
		},
	})
}

func TestNewErrors(t *testing.T) {
	for _, tt := range []struct {
		url, want string
	}{
		{"", "slack: the webhook url is empty"},
		{"hooks.example.test/services/" + hookToken, "slack: the webhook url: the url must start with https://"},
		{"https://%zz/" + hookToken, "slack: the webhook url: the url does not parse"},
	} {
		_, err := New(Options{URL: secret.New(tt.url)})
		if err == nil || err.Error() != tt.want {
			t.Errorf("New(%q) = %v, want %s", tt.url, err, tt.want)
		}
	}
}

// TestHostileEchoIsRedacted: a server that answers with the webhook URL or
// its token, in any encoding and anywhere in the body, never gets it into
// an error or a log line.
func TestHostileEchoIsRedacted(t *testing.T) {
	notifytest.RunHostile(t, notifytest.HostileCase{
		Payload: &render.Payload{Receiver: "ops-slack", Kind: "slack", Body: []byte(`{"text":"x"}`)},
		Path:    "/services/T000/B000/" + hookToken,
		Echo:    []string{"{url}", hookToken},
		Secrets: []string{hookToken},
		New: func(t *testing.T, endpoint string, client *http.Client, _ *slog.Logger) notify.Notifier {
			n, err := New(Options{URL: secret.New(endpoint), Client: client})
			if err != nil {
				t.Fatal(err)
			}
			return n
		},
	})
}
