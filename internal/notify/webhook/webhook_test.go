package webhook

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/notify/notifytest"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/secret"
)

const (
	pathToken  = "w3bh00k-p4th-t0k3n"
	signingKey = "s1gn1ng-k3y-d1st1nct"
	authValue  = "Bearer b34r3r-t0k3n-d1st1nct"
)

func TestWebhook(t *testing.T) {
	body := `{"receiver":"siem","alerts":[{"rule":"root-console-login"}]}`
	now := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	notifytest.RunHTTP(t, notifytest.HTTPCase{
		Receiver: "siem",
		Payload:  &render.Payload{Receiver: "siem", Kind: "webhook", Body: []byte(body), ContentType: "application/json"},
		OK:       notifytest.Step{Status: 204},
		Path:     "/ingest/" + pathToken,
		Secrets:  []string{pathToken, signingKey, authValue, "b34r3r-t0k3n-d1st1nct"},
		New: func(t *testing.T, endpoint string, client *http.Client, _ *slog.Logger) notify.Notifier {
			n, err := New(Options{
				URL:        secret.New(endpoint),
				Headers:    map[string]secret.Secret{"Authorization": secret.New(authValue), "X-Team": secret.New("security")},
				SigningKey: secret.New(signingKey),
				Client:     client,
				Now:        func() time.Time { return now },
			})
			if err != nil {
				t.Fatal(err)
			}
			return n
		},
		Check: func(t *testing.T, r notifytest.Request) {
			if r.Method != "POST" || string(r.Body) != body || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("request = %s %q %q", r.Method, r.Body, r.Header.Get("Content-Type"))
			}
			if r.Header.Get("Authorization") != authValue || r.Header.Get("X-Team") != "security" {
				t.Errorf("headers = %v", r.Header)
			}
			ts, sig := r.Header.Get(TimestampHeader), r.Header.Get(SignatureHeader)
			if ts != "1795402800" {
				t.Errorf("timestamp = %q", ts)
			}
			if err := Verify([]byte(signingKey), ts, sig, r.Body, now.Add(time.Minute), 5*time.Minute); err != nil {
				t.Error(err)
			}
		},
	})
}

func TestSignKnownVector(t *testing.T) {
	// Computed independently with Python's hmac module over the same bytes.
	want := "sha256=70985c05fc2dcd2f6eb24fd855498b8dcb4c7bdb37acea086c61d07e3db1c0ac"
	if got := Sign([]byte("k3y"), "1763866800", []byte(`{"a":1}`)); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	key, body := []byte("k"), []byte(`{"a":1}`)
	now := time.Unix(1763866800, 0)
	sig := Sign(key, "1763866800", body)
	tests := []struct {
		ts, sig string
		body    []byte
		at      time.Time
		want    string
	}{
		{"1763866800", sig, body, now.Add(4 * time.Minute), ""},
		{"1763866800", sig, body, now.Add(-4 * time.Minute), ""},
		{"1763866800", sig, body, now.Add(6 * time.Minute), "webhook signature: the timestamp is 6m0s away from now, more than 5m0s"},
		{"1763866801", sig, body, now, "webhook signature: the signature does not match the body"},
		{"1763866800", sig, []byte(`{"a":2}`), now, "webhook signature: the signature does not match the body"},
		{"1763866800", "sha256=00", body, now, "webhook signature: the signature does not match the body"},
		{"soon", sig, body, now, "webhook signature: the timestamp is not Unix seconds"},
	}
	for _, tt := range tests {
		err := Verify(key, tt.ts, tt.sig, tt.body, tt.at, 5*time.Minute)
		if (err == nil) != (tt.want == "") || err != nil && err.Error() != tt.want {
			t.Errorf("Verify(%s, %s) = %v, want %q", tt.ts, tt.body, err, tt.want)
		}
	}
}

func TestUnsignedAndPut(t *testing.T) {
	s := notifytest.NewServer(t, notifytest.Step{Status: 200})
	n, err := New(Options{URL: secret.New(s.URL + "/x"), Method: "put", Client: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Notify(context.Background(), &render.Payload{Body: []byte("{}")}, nil); err != nil {
		t.Fatal(err)
	}
	r := s.Requests()[0]
	if r.Method != "PUT" || r.Header.Get(SignatureHeader) != "" || r.Header.Get(TimestampHeader) != "" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request = %s %v", r.Method, r.Header)
	}
}

func TestNewErrors(t *testing.T) {
	u := secret.New("https://siem.example.test/" + pathToken)
	tests := []struct {
		o    Options
		want string
	}{
		{Options{}, "webhook: the url is empty"},
		{Options{URL: secret.New("siem.example.test/" + pathToken)}, "webhook: the url: the url must start with https://"},
		{Options{URL: u, Method: "DELETE"}, `webhook: method "DELETE" is not POST or PUT`},
		{Options{URL: u, Headers: map[string]secret.Secret{"Bad Name": secret.New("x")}}, `webhook: header name "Bad Name" is not a valid HTTP header name`},
		{Options{URL: u, Headers: map[string]secret.Secret{"x-trailwatch-signature": secret.New("x")}}, `webhook: header "x-trailwatch-signature" is set by trailwatch and cannot be configured`},
		{Options{URL: u, Headers: map[string]secret.Secret{"X-Key": secret.New(signingKey + "\r\nX-Injected: 1")}}, `webhook: the value of header "X-Key" holds a line break or control character`},
	}
	for _, tt := range tests {
		_, err := New(tt.o)
		if err == nil || err.Error() != tt.want {
			t.Errorf("New = %v, want %s", err, tt.want)
		}
		if err != nil && (strings.Contains(err.Error(), pathToken) || strings.Contains(err.Error(), signingKey)) {
			t.Errorf("error leaks a secret: %v", err)
		}
	}
}

// TestHostileEchoIsRedacted: the URL's token, the user and password of the
// URL (sent as Basic credentials), secret header values and the signing key
// never reach an error or a log line, in any encoding.
func TestHostileEchoIsRedacted(t *testing.T) {
	const (
		user   = "si3m-us3r"
		pass   = "p4ss-w0rd-d1st1nct"
		apiKey = "4p1-k3y-d1st1nct-77"
	)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	notifytest.RunHostile(t, notifytest.HostileCase{
		Payload: &render.Payload{Receiver: "siem", Kind: "webhook", Body: []byte(`{}`)},
		Path:    "/ingest/" + pathToken + "?key=" + apiKey,
		Echo:    []string{"{url}", pathToken, apiKey, "X-Api-Key: " + apiKey, authValue, basic, user + ":" + pass, pass, signingKey},
		Secrets: []string{pathToken, apiKey, pass, signingKey, "b34r3r-t0k3n-d1st1nct"},
		New: func(t *testing.T, endpoint string, client *http.Client, _ *slog.Logger) notify.Notifier {
			u, err := url.Parse(endpoint)
			if err != nil {
				t.Fatal(err)
			}
			u.User = url.UserPassword(user, pass)
			n, err := New(Options{
				URL: secret.New(u.String()),
				Headers: map[string]secret.Secret{
					"X-Api-Key":     secret.New(apiKey),
					"X-Forwarded":   secret.New(authValue),
					"Authorization": secret.New(basic),
				},
				SigningKey: secret.New(signingKey),
				Client:     client,
			})
			if err != nil {
				t.Fatal(err)
			}
			return n
		},
	})
}
