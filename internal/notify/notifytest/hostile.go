package notifytest

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/render"
)

// Echo is one form in which a hostile server may send a secret back.
type Echo struct {
	// Name says which encoding ("json \\/", "percent lower", ...).
	Name string
	// Text is the secret in that encoding.
	Text string
}

// Echoes returns s in every encoding a server that quotes a request back
// can be expected to use: raw; JSON-escaped with "/" kept, as "\/", as
// "\u002f" and as "\u002F", and with every non-alphanumeric character as
// \u00XX; HTML-escaped; percent-encoded in upper and lower case; base64 in
// the standard and URL alphabets, padded and not; and base64 of a longer
// blob in which s starts at each of the three byte alignments (as a Basic
// credential "user:pass" holds the password).
//
// The encoders are written here on purpose, apart from the ones the notify
// package redacts with, so that a mistake in one is caught by the other.
func Echoes(s string) []Echo {
	jsonWith := func(slash string, all bool) string {
		var b strings.Builder
		for _, r := range s {
			switch {
			case r == '/':
				b.WriteString(slash)
			case r == '"' || r == '\\':
				b.WriteString(`\` + string(r))
			case all && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
				fmt.Fprintf(&b, `\u%04x`, r)
			case r < 0x20:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	percent := func(upper bool) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
				b.WriteByte(c)
				continue
			}
			f := "%%%02x"
			if upper {
				f = "%%%02X"
			}
			fmt.Fprintf(&b, f, c)
		}
		return b.String()
	}
	html := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
	out := []Echo{
		{"raw", s},
		{`json /`, jsonWith("/", false)},
		{`json \/`, jsonWith(`\/`, false)},
		{`json \u002f`, jsonWith(`\u002f`, false)},
		{`json \u002F`, jsonWith(`\u002F`, false)},
		{`json all \u`, jsonWith(`\u002f`, true)},
		{"html", html},
		{"percent upper", percent(true)},
		{"percent lower", percent(false)},
		{"base64 std", base64.StdEncoding.EncodeToString([]byte(s))},
		{"base64 std raw", base64.RawStdEncoding.EncodeToString([]byte(s))},
		{"base64 url", base64.URLEncoding.EncodeToString([]byte(s))},
		{"base64 url raw", base64.RawURLEncoding.EncodeToString([]byte(s))},
	}
	for _, pre := range []string{"u:", "us:", "use:"} {
		out = append(out,
			Echo{"base64 std after " + pre, base64.StdEncoding.EncodeToString([]byte(pre + s + "\x00"))},
			Echo{"base64 url after " + pre, base64.RawURLEncoding.EncodeToString([]byte(pre + s + "!?"))})
	}
	return out
}

// Pieces returns every substring of s of n bytes: a leak check for a token
// of which a server echoes, or a cut leaves, only a part.
func Pieces(s string, n int) []string {
	var out []string
	for i := 0; i+n <= len(s); i++ {
		if utf8.RuneStart(s[i]) {
			out = append(out, s[i:i+n])
		}
	}
	return out
}

// LeaksAnyForm fails the test when an output holds a secret in any of its
// Echoes, or any six-byte piece of a secret in plain text. Secrets given here
// must be distinctive tokens, not whole URLs whose host any message may name.
func LeaksAnyForm(t testing.TB, secrets []string, outputs ...string) {
	t.Helper()
	for _, o := range outputs {
		for _, s := range secrets {
			if s == "" {
				continue
			}
			leaked := false
			for _, e := range Echoes(s) {
				if strings.Contains(o, e.Text) {
					t.Errorf("output holds the secret %q (%s): %s", s, e.Name, o)
					leaked = true
					break
				}
			}
			if leaked {
				continue
			}
			for _, p := range Pieces(s, 6) {
				if strings.Contains(o, p) {
					t.Errorf("output holds %q, a piece of the secret %q: %s", p, s, o)
					break
				}
			}
		}
	}
}

// HostileCase describes an HTTP receiver for RunHostile.
type HostileCase struct {
	// Payload is what to send; Path is appended to the server URL to form
	// the endpoint (it may carry a token).
	Payload *render.Payload
	Path    string
	// Echo lists what the server sends back: typically the whole request
	// URL (in RunHostile it is known only once the server runs, so "{url}"
	// stands for it), tokens, header values and "user:pass".
	Echo []string
	// Secrets must appear in no error and no log line, in any form.
	Secrets []string
	// Status is the status the hostile server answers with; zero means 401.
	Status int
	// Wrap, when set, wraps each echo into the answer body (the Slack Web
	// API's {"ok":false,"error":...}); nil sends "echo: " and the text.
	Wrap func(echo string) string
	// New builds the Notifier for the endpoint.
	New func(t *testing.T, endpoint string, client *http.Client, logger *slog.Logger) notify.Notifier
}

// HostileServer answers every request with the next of its bodies (then
// with the last one) and the given status.
type HostileServer struct {
	*httptest.Server
	status int
	mu     sync.Mutex
	bodies []string
	n      int
	// Header holds the headers of the last request.
	Header http.Header
}

// NewHostileServer starts a server on 127.0.0.1 that answers status with
// each body in turn.
func NewHostileServer(t testing.TB, status int) *HostileServer {
	h := &HostileServer{status: status}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h.mu.Lock()
		body := ""
		if len(h.bodies) > 0 {
			body = h.bodies[min(h.n, len(h.bodies)-1)]
		}
		h.n++
		h.Header = r.Header.Clone()
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(h.status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(h.Close)
	return h
}

// Script sets the bodies the server answers with from now on.
func (h *HostileServer) Script(bodies ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.bodies, h.n = bodies, 0
}

// HostileBodies returns the answers that echo each of echoes: one answer per
// encoding with the echo first, one with the echo placed across the 256-byte
// mark where error texts are cut, and one holding every encoding at once. A
// receiver that redacts after cutting, or misses an encoding, leaks.
func HostileBodies(echoes []string, wrap func(string) string) []string {
	if wrap == nil {
		wrap = func(s string) string { return "echo: " + s }
	}
	var out []string
	var all []string
	for _, s := range echoes {
		for _, e := range Echoes(s) {
			out = append(out, wrap(e.Text))
			all = append(all, e.Text)
		}
		for _, at := range []int{230, 240, 250} {
			out = append(out, wrap(strings.Repeat("x", at)+" "+s))
		}
	}
	out = append(out, wrap(strings.Join(all, " ")))
	return out
}

// RunHostile sends through a receiver whose server answers with every
// HostileBodies answer for c.Echo, once directly and once through a Retrier
// that logs, and fails when any error or log line holds a secret in any
// form.
func RunHostile(t *testing.T, c HostileCase) {
	t.Helper()
	status := c.Status
	if status == 0 {
		status = http.StatusUnauthorized
	}
	srv := NewHostileServer(t, status)
	endpoint := srv.URL + c.Path
	var echoes []string
	for _, e := range c.Echo {
		echoes = append(echoes, strings.ReplaceAll(e, "{url}", endpoint))
	}
	bodies := HostileBodies(echoes, c.Wrap)

	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n := c.New(t, endpoint, srv.Client(), logger)
	var outs []string
	for _, b := range bodies {
		srv.Script(b)
		_, err := n.Notify(context.Background(), c.Payload, Group("hostile"))
		if err == nil {
			t.Fatalf("the hostile answer %.60q was taken as a success", b)
		}
		outs = append(outs, err.Error())
	}
	// Through a Retrier: each failure is logged before the next attempt.
	clock := NewClock()
	r := clock.Retrier(logger)
	r.MaxAttempts = 2
	for _, b := range bodies[len(bodies)-4:] {
		srv.Script(b)
		if err := r.Deliver(context.Background(), retryAll{n}, c.Payload, Group("hostile")); err != nil {
			outs = append(outs, err.Error())
		}
	}
	logMu.Lock()
	outs = append(outs, logs.String())
	logMu.Unlock()
	LeaksAnyForm(t, c.Secrets, outs...)
	// A redacted answer still says what happened.
	if !strings.Contains(strings.Join(outs, "\n"), "<redacted>") {
		t.Errorf("no error says that something was redacted:\n%s", strings.Join(outs[:min(3, len(outs))], "\n"))
	}
}

// retryAll makes every failure retryable, so that the Retrier logs each.
type retryAll struct{ n notify.Notifier }

func (r retryAll) Notify(ctx context.Context, p *render.Payload, g *render.Group) (bool, error) {
	_, err := r.n.Notify(ctx, p, g)
	return err != nil, err
}

// SessionToken stands for the temporary credentials of a Lambda role: the
// hostile tests of receivers built on an AWS SDK client sign with it.
const SessionToken = "FwoGZXIvYXdzEBYaDHs3ss10n-t0k3n-d1st1nct1ve-4f9a2c"

// RunAWSEcho checks a receiver built on an AWS SDK client against an
// endpoint that quotes the request's session token or secret key back in
// its error, in every encoding (one HostileBodies answer per request, in
// turn, written by refuse as the service writes its errors). newSend
// points a receiver signed with SessionToken and secret at the server and
// returns what sends one message through it; every send must fail, and no
// error may hold either secret in any form.
func RunAWSEcho(t *testing.T, secret string, refuse func(w http.ResponseWriter, r *http.Request, echo string), newSend func(srv *httptest.Server) func() error) {
	t.Helper()
	secrets := []string{SessionToken, secret}
	bodies := HostileBodies(secrets, func(s string) string { return s })
	var (
		mu sync.Mutex
		i  int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		echo := bodies[min(i, len(bodies)-1)]
		i++
		mu.Unlock()
		if r.Header.Get("X-Amz-Security-Token") != SessionToken {
			t.Errorf("the request carries no session token: %v", r.Header)
		}
		refuse(w, r, echo)
	}))
	t.Cleanup(srv.Close)
	send := newSend(srv)
	var outs []string
	for range bodies {
		err := send()
		if err == nil {
			t.Fatal("a refused send was taken as a success")
		}
		outs = append(outs, err.Error())
	}
	LeaksAnyForm(t, secrets, outs...)
}
