package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/notify/notifytest"
	"github.com/trailwatch/trailwatch/internal/render"
)

// script is a Notifier answering with scripted results.
type script struct {
	results []result
	calls   int
}

type result struct {
	retry bool
	err   error
}

func (s *script) Notify(context.Context, *render.Payload, *render.Group) (bool, error) {
	s.calls++
	if len(s.results) == 0 {
		return false, nil
	}
	r := s.results[0]
	s.results = s.results[1:]
	return r.retry, r.err
}

var (
	payload = &render.Payload{Receiver: "ops", Kind: "slack", Body: []byte(`{}`)}
	errBusy = errors.New("busy")
)

func TestDeliverSucceedsAfterRetries(t *testing.T) {
	clock := notifytest.NewClock()
	var logs bytes.Buffer
	r := clock.Retrier(slog.New(slog.NewJSONHandler(&logs, nil)))
	n := &script{results: []result{{true, errBusy}, {true, errBusy}, {true, errBusy}}}
	if err := r.Deliver(context.Background(), n, payload, notifytest.Group("ops")); err != nil {
		t.Fatal(err)
	}
	if n.calls != 4 {
		t.Errorf("calls = %d, want 4", n.calls)
	}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second}
	if got := clock.Waits(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
	if c := strings.Count(logs.String(), `"msg":"notify_retry"`); c != 3 || !strings.Contains(logs.String(), `"group_key":"ops/rule=root-console-login"`) {
		t.Errorf("logs: %s", logs.String())
	}
}

func TestDeliverFullJitterIsCapped(t *testing.T) {
	clock := notifytest.NewClock()
	r := clock.Retrier(nil)
	r.Rand = func() float64 { return 0.999999 }
	r.Max = 2 * time.Second
	r.MaxAttempts = 6
	n := &script{}
	for range 6 {
		n.results = append(n.results, result{true, errBusy})
	}
	err := r.Deliver(context.Background(), n, payload, notifytest.Group("ops"))
	var de *notify.DeliveryError
	if !errors.As(err, &de) || de.Attempts != 6 || de.Permanent {
		t.Fatalf("err = %v", err)
	}
	for i, w := range clock.Waits() {
		ceiling := min(500*time.Millisecond<<i, 2*time.Second)
		if w > ceiling || w < ceiling*99/100 {
			t.Errorf("wait %d = %v, want just under %v", i, w, ceiling)
		}
	}
	if !errors.Is(err, errBusy) {
		t.Error("the final error does not wrap the last failure")
	}
	want := `receiver "ops" (slack) failed to deliver group "ops/rule=root-console-login": gave up after 6 attempts: busy`
	if err.Error() != want {
		t.Errorf("error\n got: %s\nwant: %s", err, want)
	}
	if len(de.AlertKeys) != 1 || de.AlertKeys[0] != notifytest.Group("ops").Alerts[0].Key() || !strings.HasPrefix(de.AlertKeys[0], "3038ebd2-c98a-4c65-9b6e-e22506292313|") {
		t.Errorf("alert keys = %v", de.AlertKeys)
	}
}

func TestDeliverStopsAtTheBudget(t *testing.T) {
	clock := notifytest.NewClock()
	r := clock.Retrier(nil)
	r.MaxElapsed = 3 * time.Second
	n := &script{}
	for range 100 {
		n.results = append(n.results, result{true, errBusy})
	}
	err := r.Deliver(context.Background(), n, payload, notifytest.Group("ops"))
	if err == nil {
		t.Fatal("delivery succeeded")
	}
	var total time.Duration
	for _, w := range clock.Waits() {
		total += w
	}
	if total >= 3*time.Second {
		t.Errorf("waited %v, more than the 3s budget", total)
	}
	// 250ms + 500ms + 1s + 2s would pass 3s: three waits, four attempts.
	if n.calls != 4 {
		t.Errorf("calls = %d, want 4", n.calls)
	}
}

func TestDeliverUsesTheContextDeadline(t *testing.T) {
	clock := notifytest.NewClock()
	r := clock.Retrier(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 900*time.Millisecond)
	defer cancel()
	n := &script{results: []result{{true, errBusy}, {true, errBusy}, {true, errBusy}}}
	if err := r.Deliver(ctx, n, payload, nil); err == nil {
		t.Fatal("delivery succeeded")
	}
	// 250ms then 500ms fit in 900ms; the 1s wait does not.
	if n.calls != 3 {
		t.Errorf("calls = %d, want 3", n.calls)
	}
}

func TestDeliverPermanent(t *testing.T) {
	clock := notifytest.NewClock()
	n := &script{results: []result{{false, errors.New("slack webhook answered 400 Bad Request: invalid_payload")}}}
	err := clock.Retrier(nil).Deliver(context.Background(), n, payload, notifytest.Group("ops"))
	want := `receiver "ops" (slack) failed to deliver group "ops/rule=root-console-login": not retried (permanent failure): slack webhook answered 400 Bad Request: invalid_payload`
	if err == nil || err.Error() != want {
		t.Errorf("error\n got: %v\nwant: %s", err, want)
	}
	if n.calls != 1 || len(clock.Waits()) != 0 {
		t.Errorf("calls = %d, waits = %v", n.calls, clock.Waits())
	}
}

func TestDeliverCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	n := notify.Func(func(context.Context, *render.Payload, *render.Group) (bool, error) {
		calls++
		cancel()
		return true, errBusy
	})
	err := notify.Deliver(ctx, n, payload, nil)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, errBusy) || calls != 1 {
		t.Errorf("err = %v, calls = %d", err, calls)
	}

	// A real sleep ends when the context does.
	ctx2, cancel2 := context.WithCancel(context.Background())
	r := &notify.Retrier{Initial: time.Hour, Rand: func() float64 { return 0.5 }}
	go func() { time.Sleep(20 * time.Millisecond); cancel2() }()
	start := time.Now()
	err = r.Deliver(ctx2, notify.Func(func(context.Context, *render.Payload, *render.Group) (bool, error) { return true, errBusy }), payload, nil)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 10*time.Second {
		t.Errorf("err = %v after %v", err, time.Since(start))
	}
}

func TestDeliverAttemptTimeout(t *testing.T) {
	clock := notifytest.NewClock()
	r := clock.Retrier(nil)
	r.AttemptTimeout = 10 * time.Millisecond
	r.MaxAttempts = 2
	calls := 0
	n := notify.Func(func(ctx context.Context, _ *render.Payload, _ *render.Group) (bool, error) {
		calls++
		<-ctx.Done()
		return true, ctx.Err()
	})
	err := r.Deliver(context.Background(), n, payload, nil)
	if calls != 2 || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("calls = %d, err = %v", calls, err)
	}
}

func TestRetryable(t *testing.T) {
	for code, want := range map[int]bool{200: false, 400: false, 401: false, 403: false, 404: false, 408: true, 410: false, 413: false, 425: true, 429: true, 500: true, 501: false, 502: true, 503: true, 504: true, 505: false} {
		if got := notify.Retryable(code); got != want {
			t.Errorf("Retryable(%d) = %v", code, got)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	at := time.Date(2026, 11, 23, 3, 0, 9, 0, time.UTC)
	tests := []struct {
		in    string
		after time.Duration
		at    time.Time
	}{
		{"7", 7 * time.Second, time.Time{}},
		{" 120 ", 120 * time.Second, time.Time{}},
		{"0", 0, time.Time{}},
		{"-3", 0, time.Time{}},
		{"999999999", 24 * time.Hour, time.Time{}},
		{at.Format(http.TimeFormat), 0, at},
		{"Mon, 23 Nov 2026 03:00:09 GMT", 0, at},
		{"soon", 0, time.Time{}},
		{"", 0, time.Time{}},
	}
	for _, tt := range tests {
		after, when := notify.ParseRetryAfter(tt.in)
		if after != tt.after || !when.Equal(tt.at) {
			t.Errorf("ParseRetryAfter(%q) = %v %v", tt.in, after, when)
		}
	}
	e := &notify.HTTPError{RetryAt: at}
	if d, ok := e.RetryDelay(at.Add(-4 * time.Second)); !ok || d != 4*time.Second {
		t.Errorf("RetryDelay = %v %v", d, ok)
	}
	if d, ok := e.RetryDelay(at.Add(time.Minute)); !ok || d != 0 {
		t.Errorf("RetryDelay after the date = %v %v", d, ok)
	}
	if _, ok := (&notify.HTTPError{}).RetryDelay(at); ok {
		t.Error("no Retry-After gave a delay")
	}
}

const token = "T0KEN-d1st1nct1ve-9f8e7d"

func TestSendRedactsTheURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		fmt.Fprintf(w, "bad request to %s?%s\n\x1b[31mwith\tcontrol\n", r.URL.Path, r.URL.RawQuery)
	}))
	defer srv.Close()
	u := srv.URL + "/services/" + token + "?sig=" + token + "x"
	req, _ := http.NewRequest("POST", u, strings.NewReader("{}"))
	_, retry, err := notify.Send(srv.Client(), req, "test hook", nil)
	if retry || err == nil {
		t.Fatalf("retry = %v, err = %v", retry, err)
	}
	want := "test hook answered 400 Bad Request: bad request to <redacted>?<redacted> [31mwith control"
	if err.Error() != want {
		t.Errorf("error\n got: %s\nwant: %s", err, want)
	}
	srv.Close()
	req, _ = http.NewRequest("POST", u, strings.NewReader("{}"))
	_, retry, err = notify.Send(srv.Client(), req, "test hook", nil)
	var re *notify.RequestError
	if !retry || !errors.As(err, &re) || strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "/services/") {
		t.Errorf("retry = %v, err = %v", retry, err)
	}
	if !strings.HasPrefix(err.Error(), "test hook request failed: ") {
		t.Errorf("err = %v", err)
	}

	// A redirect loop's error quotes the URL in the inner error too.
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.String(), http.StatusTemporaryRedirect)
	}))
	defer loop.Close()
	req, _ = http.NewRequest("GET", loop.URL+"/hook/"+token, nil)
	_, _, err = notify.Send(loop.Client(), req, "test hook", nil)
	if err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("redirect error: %v", err)
	}

	// A cancelled request is not retried.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ = http.NewRequestWithContext(ctx, "POST", loop.URL+"/hook/"+token, nil)
	if _, retry, err := notify.Send(loop.Client(), req, "test hook", nil); retry || !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), token) {
		t.Errorf("cancelled: retry = %v, err = %v", retry, err)
	}
}

func TestSendSuccessReturnsBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL, nil)
	body, retry, err := notify.Send(nil, req, "x", nil)
	if string(body) != "ok" || retry || err != nil {
		t.Errorf("Send = %q %v %v", body, retry, err)
	}
}

func TestSnippet(t *testing.T) {
	long := strings.Repeat("日本語", 200)
	s := notify.Snippet([]byte(long))
	if !strings.HasSuffix(s, "...") || len(s) > 260 || !strings.HasPrefix(s, "日本語") {
		t.Errorf("Snippet = %q", s)
	}
	if got := notify.Snippet([]byte("a\r\nb\xff\u2028c")); got != "a b? c" {
		t.Errorf("Snippet = %q", got)
	}
}

func TestCheckURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.example.test/x": "",
		"http://127.0.0.1:1/x":         "",
		"http://localhost/x":           "",
		"http://[::1]:8080/x":          "",
		"http://hooks.example.test/x":  "the url must start with https://",
		"http://10.0.0.1/x":            "the url must start with https://",
		"ftp://x/y":                    "the url must start with https://",
		"hooks.example.test/x":         "the url must start with https://",
		"https:///x":                   "the url has no host",
		"https://a b/%zz":              "the url does not parse",
	} {
		err := notify.CheckURL(in)
		if (err == nil) != (want == "") || err != nil && err.Error() != want {
			t.Errorf("CheckURL(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestAWSRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&smithy.GenericAPIError{Code: "ThrottlingException"}, true},
		{&smithy.GenericAPIError{Code: "Throttling"}, true},
		{&smithy.GenericAPIError{Code: "TooManyRequestsException"}, true},
		{&smithy.GenericAPIError{Code: "Throttled"}, true},
		{&smithy.GenericAPIError{Code: "KMSThrottling"}, true},
		{&smithy.GenericAPIError{Code: "InternalError", Fault: smithy.FaultServer}, true},
		{&smithy.GenericAPIError{Code: "NotFound", Fault: smithy.FaultClient}, false},
		{&smithy.GenericAPIError{Code: "InvalidParameter"}, false},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		{context.Canceled, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := notify.AWSRetryable(tt.err); got != tt.want {
			t.Errorf("AWSRetryable(%v) = %v", tt.err, got)
		}
	}
}

func TestRedactor(t *testing.T) {
	r := notify.NewRedactor("", "abc", "abcdef")
	if got := r.Redact("x abcdef y abc"); got != "x <redacted> y <redacted>" {
		t.Errorf("Redact = %q", got)
	}
	err := fmt.Errorf("wrapped: %w: abc", context.DeadlineExceeded)
	red := r.Error(err)
	if red.Error() != "wrapped: context deadline exceeded: <redacted>" || !errors.Is(red, context.DeadlineExceeded) {
		t.Errorf("Error = %v", red)
	}
	if errors.Unwrap(red) != context.DeadlineExceeded {
		t.Error("a redacted error unwraps to the original text")
	}
	plain := errors.New("nothing secret")
	if r.Error(plain) != plain || r.Error(nil) != nil {
		t.Error("Error changed an error holding no secret")
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"7", "0", "-1", "Mon, 23 Nov 2026 03:00:09 GMT", "Monday, 23-Nov-26 03:00:09 GMT", "Mon Nov 23 03:00:09 2026", "soon", "", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		after, at := notify.ParseRetryAfter(s)
		if after < 0 || after > 24*time.Hour {
			t.Fatalf("ParseRetryAfter(%q) = %v", s, after)
		}
		if after > 0 && !at.IsZero() {
			t.Fatalf("ParseRetryAfter(%q) gave both forms", s)
		}
	})
}
