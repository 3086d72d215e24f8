// Package notifytest holds what the receiver tests share: a fake clock, a
// scripted HTTP server, the HTTP delivery cases every HTTP receiver must
// pass, and a check that secrets never reach errors or logs.
package notifytest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/render"
)

// Clock is a fake clock whose Sleep records the wait and moves time on.
type Clock struct {
	mu    sync.Mutex
	t     time.Time
	waits []time.Duration
}

// NewClock returns a clock at a fixed instant.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)} }

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Sleep records d and advances the clock by it.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

// Waits returns the waits so far.
func (c *Clock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// Retrier returns a Retrier on this clock with jitter fixed at one half,
// logging to logger.
func (c *Clock) Retrier(logger *slog.Logger) *notify.Retrier {
	return &notify.Retrier{Now: c.Now, Sleep: c.Sleep, Rand: func() float64 { return 0.5 }, Logger: logger}
}

// Step is one scripted HTTP answer.
type Step struct {
	Status int
	Header map[string]string
	Body   string
}

// Request is what the Server received.
type Request struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// Server answers with its scripted steps in order, then with OK forever.
type Server struct {
	*httptest.Server
	ok Step

	mu       sync.Mutex
	steps    []Step
	requests []Request
}

// NewServer starts a Server on 127.0.0.1, closed when the test ends.
func NewServer(t testing.TB, ok Step, steps ...Step) *Server {
	s := &Server{ok: ok, steps: steps}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: b})
	st := s.ok
	if len(s.steps) > 0 {
		st, s.steps = s.steps[0], s.steps[1:]
	}
	s.mu.Unlock()
	for k, v := range st.Header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(st.Status)
	_, _ = io.WriteString(w, st.Body)
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Group returns a group with one alert for tests.
func Group(receiver string) *render.Group {
	ev, err := event.Parse([]byte(`{"eventVersion":"1.08","eventID":"3038ebd2-c98a-4c65-9b6e-e22506292313","eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","awsRegion":"us-east-1","recipientAccountId":"111122223333","userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root"},"sourceIPAddress":"192.0.2.1"}`), event.Origin{Input: "test"})
	if err != nil {
		panic(err)
	}
	a := &event.Alert{Rule: event.RuleInfo{ID: "root-console-login", Title: "Root user signed in", Severity: event.SeverityCritical}, Event: ev, Summary: "Root console sign-in"}
	return &render.Group{Key: receiver + "/rule=root-console-login", Receiver: receiver, Alerts: []*event.Alert{a}, Count: 1, Labels: map[string]string{"rule": "root-console-login"}}
}

// Leaks fails the test when any output holds any secret.
func Leaks(t testing.TB, secrets []string, outputs ...string) {
	t.Helper()
	for _, o := range outputs {
		for _, s := range secrets {
			if s != "" && strings.Contains(o, s) {
				t.Errorf("output holds the secret %q: %s", s, o)
			}
		}
	}
}

// HTTPCase describes an HTTP receiver for RunHTTP.
type HTTPCase struct {
	// Receiver is the receiver's name; Payload what to send.
	Receiver string
	Payload  *render.Payload
	// OK is the receiver's success answer.
	OK Step
	// Path is appended to the server URL to form the endpoint, typically
	// holding a distinctive secret.
	Path string
	// New builds the Notifier for the endpoint; logger receives its logs.
	New func(t *testing.T, endpoint string, client *http.Client, logger *slog.Logger) notify.Notifier
	// Secrets must appear in no error and no log line.
	Secrets []string
	// Check inspects every request the receiver made (may be nil).
	Check func(t *testing.T, r Request)
}

// RunHTTP runs the delivery cases every HTTP receiver must pass: 429 with
// Retry-After (seconds and HTTP date) then success, 500 then success, a
// permanent 400, a network failure retried, a redirect refused and failed,
// and a request that hangs past its attempt timeout retried; and checks
// that no error or log line holds a secret.
func RunHTTP(t *testing.T, c HTTPCase) {
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var errs []string
	deliver := func(t *testing.T, srv *httptest.Server, clock *Clock, r *notify.Retrier) error {
		n := c.New(t, srv.URL+c.Path, srv.Client(), logger)
		g := Group(c.Receiver)
		err := r.Deliver(context.Background(), n, c.Payload, g)
		if err != nil {
			errs = append(errs, err.Error())
		}
		return err
	}
	check := func(t *testing.T, s *Server, want int) {
		t.Helper()
		reqs := s.Requests()
		if len(reqs) != want {
			t.Errorf("the server got %d requests, want %d", len(reqs), want)
		}
		for _, r := range reqs {
			if c.Check != nil {
				c.Check(t, r)
			}
		}
	}

	t.Run("429 Retry-After seconds", func(t *testing.T) {
		s := NewServer(t, c.OK, Step{Status: 429, Header: map[string]string{"Retry-After": "7"}, Body: "rate limited " + c.Path})
		clock := NewClock()
		if err := deliver(t, s.Server, clock, clock.Retrier(logger)); err != nil {
			t.Fatal(err)
		}
		check(t, s, 2)
		if w := clock.Waits(); len(w) != 1 || w[0] != 7*time.Second {
			t.Errorf("waits = %v, want [7s]", w)
		}
	})
	t.Run("429 Retry-After date", func(t *testing.T) {
		clock := NewClock()
		at := clock.Now().Add(9 * time.Second).UTC().Format(http.TimeFormat)
		s := NewServer(t, c.OK, Step{Status: 429, Header: map[string]string{"Retry-After": at}})
		if err := deliver(t, s.Server, clock, clock.Retrier(logger)); err != nil {
			t.Fatal(err)
		}
		check(t, s, 2)
		if w := clock.Waits(); len(w) != 1 || w[0] != 9*time.Second {
			t.Errorf("waits = %v, want [9s]", w)
		}
	})
	t.Run("429 Retry-After beyond the deadline", func(t *testing.T) {
		s := NewServer(t, c.OK, Step{Status: 429, Header: map[string]string{"Retry-After": "3600"}})
		clock := NewClock()
		err := deliver(t, s.Server, clock, clock.Retrier(logger))
		if err == nil || !strings.Contains(err.Error(), "the server asked to wait 1h0m0s, beyond the 2m0s left") {
			t.Errorf("err = %v", err)
		}
		check(t, s, 1)
		if w := clock.Waits(); len(w) != 0 {
			t.Errorf("waited %v past the deadline", w)
		}
	})
	t.Run("500 then success", func(t *testing.T) {
		s := NewServer(t, c.OK, Step{Status: 500, Body: "internal error"}, Step{Status: 503, Body: "unavailable"})
		clock := NewClock()
		if err := deliver(t, s.Server, clock, clock.Retrier(logger)); err != nil {
			t.Fatal(err)
		}
		check(t, s, 3)
		// Full jitter at one half: half of 500ms, then half of 1s.
		if w := clock.Waits(); len(w) != 2 || w[0] != 250*time.Millisecond || w[1] != 500*time.Millisecond {
			t.Errorf("waits = %v, want [250ms 500ms]", w)
		}
	})
	t.Run("400 is permanent", func(t *testing.T) {
		s := NewServer(t, c.OK, Step{Status: 400, Body: "invalid_payload for " + c.Path})
		clock := NewClock()
		err := deliver(t, s.Server, clock, clock.Retrier(logger))
		var de *notify.DeliveryError
		if !errors.As(err, &de) || !de.Permanent || de.Attempts != 1 {
			t.Fatalf("err = %#v", err)
		}
		for _, want := range []string{`receiver "` + c.Receiver + `"`, `group "` + c.Receiver + `/rule=root-console-login"`, "not retried", "400 Bad Request", "invalid_payload"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		var he *notify.HTTPError
		if !errors.As(err, &he) || he.StatusCode != 400 {
			t.Errorf("error does not unwrap to the HTTP answer: %v", err)
		}
		check(t, s, 1)
	})
	t.Run("network failure retried", func(t *testing.T) {
		s := NewServer(t, c.OK)
		s.Close()
		clock := NewClock()
		r := clock.Retrier(logger)
		r.MaxAttempts = 3
		err := deliver(t, s.Server, clock, r)
		var de *notify.DeliveryError
		if !errors.As(err, &de) || de.Permanent || de.Attempts != 3 {
			t.Fatalf("err = %v", err)
		}
		if !strings.Contains(err.Error(), "gave up after 3 attempts") || !strings.Contains(err.Error(), "request failed") {
			t.Errorf("err = %v", err)
		}
		if len(clock.Waits()) != 2 {
			t.Errorf("waits = %v", clock.Waits())
		}
	})
	t.Run("redirect is a failed send", func(t *testing.T) {
		other := NewServer(t, c.OK)
		s := NewServer(t, c.OK, Step{Status: 307, Header: map[string]string{"Location": other.URL + "/stolen" + c.Path}})
		clock := NewClock()
		err := deliver(t, s.Server, clock, clock.Retrier(logger))
		var de *notify.DeliveryError
		if !errors.As(err, &de) || !de.Permanent || de.Attempts != 1 {
			t.Fatalf("err = %v", err)
		}
		host := strings.TrimPrefix(other.URL, "http://")
		if !strings.Contains(err.Error(), "307 Temporary Redirect to host "+host) || strings.Contains(err.Error(), "/stolen") {
			t.Errorf("err = %v", err)
		}
		if n := len(other.Requests()); n != 0 {
			t.Errorf("the redirect was followed: the other host got %d requests", n)
		}
	})
	t.Run("hung attempt retried", func(t *testing.T) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body) // so that the server sees the client leave
			if calls.Add(1) == 1 {
				<-r.Context().Done()
				return
			}
			for k, v := range c.OK.Header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(c.OK.Status)
			_, _ = io.WriteString(w, c.OK.Body)
		}))
		t.Cleanup(srv.Close)
		clock := NewClock()
		r := clock.Retrier(logger)
		r.AttemptTimeout = 50 * time.Millisecond
		if err := deliver(t, srv, clock, r); err != nil {
			t.Fatalf("a request that hung once was not retried: %v", err)
		}
		if n := calls.Load(); n != 2 {
			t.Errorf("the server got %d requests, want 2", n)
		}
	})
	t.Run("no secret in errors or logs", func(t *testing.T) {
		logMu.Lock()
		out := logs.String()
		logMu.Unlock()
		if !strings.Contains(out, "notify_retry") {
			t.Errorf("no retry was logged: %s", out)
		}
		Leaks(t, c.Secrets, append(errs, out)...)
	})
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
