package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxBody is how much of an answer Send reads; maxSnippet how much of an
// error answer goes into an HTTPError.
const (
	maxBody    = 1 << 20
	maxSnippet = 256
)

// HTTPError is an answer with a status other than 2xx.
type HTTPError struct {
	// Target names what was called ("slack webhook"), never its URL.
	Target     string
	StatusCode int
	// Body is the start of the answer on one line, with secrets removed.
	Body string
	// RetryAfter and RetryAt hold a Retry-After header given in seconds or
	// as an HTTP date.
	RetryAfter time.Duration
	RetryAt    time.Time
}

// Error implements error: "slack webhook answered 400 Bad Request: invalid_payload".
func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s answered %d %s", e.Target, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// RetryDelay implements RetryDelayer from the Retry-After header.
func (e *HTTPError) RetryDelay(now time.Time) (time.Duration, bool) {
	switch {
	case e.RetryAfter > 0:
		return e.RetryAfter, true
	case !e.RetryAt.IsZero():
		return max(e.RetryAt.Sub(now), 0), true
	}
	return 0, false
}

// RequestError is a request that got no answer: the connection failed, timed
// out or was cut. Its text never holds the request URL.
type RequestError struct {
	Target string
	Err    error
}

// Error implements error.
func (e *RequestError) Error() string { return e.Target + " request failed: " + e.Err.Error() }

// Unwrap returns the cause (with secrets removed from its text).
func (e *RequestError) Unwrap() error { return e.Err }

// Retryable reports whether an answer with this status may succeed later:
// 408, 425, 429 and every 5xx except 501 and 505, which no retry changes.
func Retryable(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return status >= 500
}

// Send performs req with client and classifies the outcome. On a 2xx answer
// it returns the answer's body (at most 1 MiB). Otherwise err is an
// *HTTPError (retry as Retryable says; Retry-After parsed) or a
// *RequestError (retry true unless ctx ended). target names the service in
// errors. The request's URL and every value in secrets are removed from all
// error text, because a webhook URL is itself a credential.
func Send(client *http.Client, req *http.Request, target string, secrets ...string) (body []byte, retry bool, err error) {
	if client == nil {
		client = http.DefaultClient
	}
	r := NewRedactor(append(URLSecrets(req.URL), secrets...)...)
	resp, err := client.Do(req)
	if err != nil {
		retry = req.Context().Err() == nil
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its text quotes the URL
		}
		return nil, retry, &RequestError{Target: target, Err: r.Error(err)}
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if rerr != nil {
			// The answer was a success; only its body is missing.
			return nil, false, &RequestError{Target: target, Err: r.Error(fmt.Errorf("reading the answer: %w", rerr))}
		}
		return body, false, nil
	}
	he := &HTTPError{Target: target, StatusCode: resp.StatusCode, Body: r.Redact(Snippet(body))}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		he.RetryAfter, he.RetryAt = ParseRetryAfter(resp.Header.Get("Retry-After"))
	}
	return nil, Retryable(resp.StatusCode), he
}

// ParseRetryAfter reads a Retry-After value: delay seconds, or an HTTP date.
// Both results are zero when the value is absent or malformed.
func ParseRetryAfter(v string) (after time.Duration, at time.Time) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, time.Time{}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0, time.Time{}
		}
		// Cap absurd values; the Retrier's deadline caps them again.
		return time.Duration(min(n, 24*3600)) * time.Second, time.Time{}
	}
	if t, err := http.ParseTime(v); err == nil {
		return 0, t
	}
	return 0, time.Time{}
}

// Snippet returns the start of an answer body as one printable line.
func Snippet(b []byte) string {
	s := strings.ToValidUTF8(string(b[:min(len(b), maxSnippet*4)]), "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxSnippet {
		cut := maxSnippet
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// URLSecrets returns the parts of u that are credentials: the whole URL (in
// its raw and escaped forms), its path, query, query values and user
// password. Short parts ("/", "1") are left out, as they name nothing and
// would garble every message they appear in.
func URLSecrets(u *url.URL) []string {
	if u == nil {
		return nil
	}
	out := []string{u.String(), u.Redacted()}
	add := func(s string) {
		if len(s) >= 6 {
			out = append(out, s)
		}
	}
	add(u.Path)
	add(u.EscapedPath())
	add(u.RawQuery)
	if p, ok := u.User.Password(); ok {
		add(p)
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			add(v)
			add(url.QueryEscape(v))
		}
	}
	return out
}

// Redactor removes known secret values from text.
type Redactor struct{ secrets []string }

// NewRedactor returns a Redactor for the non-empty values given.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	// Longest first, so a URL is removed whole before its path is.
	for i := 1; i < len(r.secrets); i++ {
		for j := i; j > 0 && len(r.secrets[j]) > len(r.secrets[j-1]); j-- {
			r.secrets[j], r.secrets[j-1] = r.secrets[j-1], r.secrets[j]
		}
	}
	return r
}

// Redact replaces every secret in s with "<redacted>".
func (r *Redactor) Redact(s string) string {
	for _, v := range r.secrets {
		s = strings.ReplaceAll(s, v, "<redacted>")
	}
	return s
}

// Error returns err unchanged when its text holds no secret. Otherwise it
// returns an error with the redacted text that unwraps only to the context
// errors err matched, so no caller can reach the original text.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	red := r.Redact(msg)
	if red == msg {
		return err
	}
	re := &redactedError{msg: red}
	for _, c := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, c) {
			re.cause = c
		}
	}
	return re
}

type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }

// CheckURL reports whether raw is an absolute http or https URL, without
// quoting it: the URL may be a credential.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("the url does not parse")
	}
	if u.Host == "" && (u.Scheme == "https" || u.Scheme == "http") {
		return errors.New("the url has no host")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback(u.Hostname()):
		// A receiver on this machine (a local relay, a test server).
	default:
		// The URL is a credential: never send it in clear text.
		return errors.New("the url must start with https://")
	}
	return nil
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
