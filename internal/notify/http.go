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
	// Redirect is set for a 3xx answer, which is never followed;
	// RedirectHost is the host its Location names ("" when it names none).
	Redirect     bool
	RedirectHost string
}

// Error implements error: "slack webhook answered 400 Bad Request: invalid_payload".
func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s answered %d %s", e.Target, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Redirect {
		if e.RedirectHost != "" {
			s += " to host " + e.RedirectHost
		}
		return s + ", a redirect, which receivers never follow: if the service has moved, update the receiver's url"
	}
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

// NewHTTPClient returns the HTTP client receivers should be given: it
// gives up on a request after timeout (zero means 15 seconds) and never
// follows a redirect. Send refuses redirects whatever client it is given;
// this constructor makes the client safe on its own too.
func NewHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	return &http.Client{Timeout: timeout, CheckRedirect: refuseRedirect}
}

// refuseRedirect stops the client at a redirect and hands the 3xx answer
// back, so that Send reports it. Following one would re-post the body,
// forward the configured headers and announce the webhook URL in Referer
// to a host nobody configured.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Send performs req with client and classifies the outcome. On a 2xx answer
// it returns the answer's body (at most 1 MiB). Otherwise err is an
// *HTTPError (retry as Retryable says; Retry-After parsed; a redirect is
// never followed and never retried) or a *RequestError (retried unless the
// request was cancelled: a timeout is worth another attempt). target names
// the service in errors. red removes the receiver's secrets from all error
// text; nil means the parts of the request URL, which is itself a
// credential for a webhook.
func Send(client *http.Client, req *http.Request, target string, red *Redactor) (body []byte, retry bool, err error) {
	if client == nil {
		client = http.DefaultClient
	}
	if red == nil {
		red = &Redactor{}
		red.AddURL(req.URL.String())
	}
	// A copy of the caller's client that does not follow redirects,
	// whatever the caller set.
	c := *client
	c.CheckRedirect = refuseRedirect
	req.Header.Del("Referer")
	resp, err := c.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its text quotes the URL
		}
		return nil, !errors.Is(err, context.Canceled), &RequestError{Target: target, Err: red.Error(err)}
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if rerr != nil {
			// The answer was a success; only its body is missing.
			return nil, false, &RequestError{Target: target, Err: red.Error(fmt.Errorf("reading the answer: %w", rerr))}
		}
		return body, false, nil
	}
	he := &HTTPError{Target: target, StatusCode: resp.StatusCode}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		he.Redirect = true
		he.RedirectHost = redirectHost(req.URL, resp.Header.Get("Location"), red)
		return nil, false, he
	}
	he.Body = red.Snippet(body)
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		he.RetryAfter, he.RetryAt = ParseRetryAfter(resp.Header.Get("Retry-After"))
	}
	return nil, Retryable(resp.StatusCode), he
}

// redirectHost names the host a redirect points to, and only the host: the
// rest of the Location may quote the webhook's token.
func redirectHost(base *url.URL, location string, red *Redactor) string {
	if location == "" {
		return ""
	}
	u, err := base.Parse(location)
	if err != nil || u.Host == "" {
		return ""
	}
	h, _ := snippet(red.Redact(u.Host))
	if len(h) > 100 {
		return ""
	}
	return h
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

// Snippet returns the start of an answer body as one printable line. It
// removes no secret: use Redactor.Snippet for an answer that may quote one.
func Snippet(b []byte) string {
	s, cut := snippet(string(b[:min(len(b), maxSnippet*4)]))
	if cut || len(b) > maxSnippet*4 {
		s += "..."
	}
	return s
}

// snippet makes s one printable line of at most maxSnippet bytes. cut
// reports whether it shortened s.
func snippet(s string) (line string, cut bool) {
	return cutLine(flatten(s), maxSnippet)
}

// flatten makes s one printable line: invalid UTF-8 becomes "?", control
// characters and line separators spaces, and runs of spaces one.
func flatten(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// cutLine shortens s to at most n bytes on a rune boundary. A "<redacted>"
// the cut would split is kept whole, so that the line never ends in a
// fragment of it.
func cutLine(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	if i := strings.LastIndex(s[:n], "<"); i >= 0 && i+len(Redacted) > n && strings.HasPrefix(s[i:], Redacted) {
		n = i + len(Redacted)
	}
	return s[:n], true
}

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
