package teams

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

const hookToken = "XyZzY-t34ms-s1g-t0k3n"

func TestWebhook(t *testing.T) {
	body := `{"text":"Root user signed in","blocks":[]}`
	notifytest.RunHTTP(t, notifytest.HTTPCase{
		Receiver: "ops-teams",
		Payload:  &render.Payload{Receiver: "ops-teams", Kind: "teams", Body: []byte(body), ContentType: "application/json"},
		OK:       notifytest.Step{Status: 202},
		Path:     "/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=" + hookToken,
		Secrets:  []string{hookToken},
		New: func(t *testing.T, endpoint string, client *http.Client, _ *slog.Logger) notify.Notifier {
			n, err := New(Options{URL: secret.New(endpoint), Client: client})
			if err != nil {
				t.Fatal(err)
			}
			return n
		},
		Check: func(t *testing.T, r notifytest.Request) {
			if r.Method != "POST" || r.Path != "/workflows/abc/triggers/manual/paths/invoke" || r.RawQuery != "api-version=1&sig="+hookToken || string(r.Body) != body || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("request = %s %s %q %q", r.Method, r.Path, r.Body, r.Header.Get("Content-Type"))
			}
		},
	})
}

func TestNewErrors(t *testing.T) {
	for _, tt := range []struct {
		url, want string
	}{
		{"", "teams: the workflow url is empty"},
		{"hooks.example.test/services/" + hookToken, "teams: the workflow url: the url must start with https://"},
		{"https://%zz/" + hookToken, "teams: the workflow url: the url does not parse"},
	} {
		_, err := New(Options{URL: secret.New(tt.url)})
		if err == nil || err.Error() != tt.want {
			t.Errorf("New(%q) = %v, want %s", tt.url, err, tt.want)
		}
	}
}

// TestHostileEchoIsRedacted: the workflow URL's signature never reaches an
// error or a log line, whatever encoding the server echoes it in.
func TestHostileEchoIsRedacted(t *testing.T) {
	notifytest.RunHostile(t, notifytest.HostileCase{
		Payload: &render.Payload{Receiver: "ops-teams", Kind: "teams", Body: []byte(`{"type":"message"}`)},
		Path:    "/workflows/4d0c2a1e9b8f/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + hookToken,
		Echo:    []string{"{url}", hookToken, "sig=" + hookToken},
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
