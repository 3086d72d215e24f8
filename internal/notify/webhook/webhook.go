// Package webhook sends payloads as JSON to any HTTP endpoint, with custom
// headers and an optional HMAC-SHA256 signature.
//
// # Signature
//
// When a signing key is set, every request carries two headers:
//
//	X-Trailwatch-Timestamp: 1763866800
//	X-Trailwatch-Signature: sha256=<hex>
//
// The timestamp is the sending time in Unix seconds. The signature is the
// lower-case hex HMAC-SHA256, keyed with the signing key, of the timestamp,
// a full stop and the exact request body bytes:
//
//	hex(HMAC-SHA256(key, timestamp + "." + body))
//
// A receiver verifies by recomputing it from the headers and the raw body,
// comparing in constant time, and rejecting a timestamp more than five
// minutes from its own clock, so that a captured request cannot be replayed
// later. A retry is signed anew with its own timestamp.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/secret"
)

// The signature headers.
const (
	TimestampHeader = "X-Trailwatch-Timestamp"
	SignatureHeader = "X-Trailwatch-Signature"
)

// Options configure a webhook receiver.
type Options struct {
	// URL is the endpoint. It may carry a token and is treated as a
	// credential.
	URL secret.Secret
	// Method is POST (the default) or PUT.
	Method string
	// Headers are added to every request. Their values are secrets
	// (typically Authorization) and never printed.
	Headers map[string]secret.Secret
	// SigningKey, when set, signs every request (see the package doc).
	SigningKey secret.Secret
	// Client sends the requests; nil means http.DefaultClient. Redirects
	// are never followed.
	Client *http.Client
	// Redactor receives the URL, header values and signing key as
	// secrets; nil means one of the receiver's own.
	Redactor *notify.Redactor
	// Now is the clock for the signature timestamp; nil means time.Now.
	Now func() time.Time
}

// Notifier sends to one endpoint. Safe for concurrent use.
type Notifier struct {
	o Options
}

// reserved reports whether a header is set by the HTTP client or the
// signature, or must never be sent (Referer), and so cannot be configured.
func reserved(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Referer", TimestampHeader, SignatureHeader:
		return true
	}
	return false
}

// New checks o and returns a Notifier.
func New(o Options) (*Notifier, error) {
	if o.URL.IsZero() {
		return nil, errors.New("webhook: the url is empty")
	}
	if err := notify.CheckURL(o.URL.Reveal()); err != nil {
		return nil, fmt.Errorf("webhook: the url: %w", err)
	}
	switch o.Method = strings.ToUpper(o.Method); o.Method {
	case "":
		o.Method = http.MethodPost
	case http.MethodPost, http.MethodPut:
	default:
		return nil, fmt.Errorf("webhook: method %q is not POST or PUT", o.Method)
	}
	n := &Notifier{o: o}
	if n.o.Redactor == nil {
		n.o.Redactor = &notify.Redactor{}
	}
	red := n.o.Redactor
	red.AddURL(o.URL.Reveal())
	red.Add(o.SigningKey.Reveal())
	for name, v := range o.Headers {
		if !validName(name) {
			return nil, fmt.Errorf("webhook: header name %q is not a valid HTTP header name", name)
		}
		if reserved(name) {
			return nil, fmt.Errorf("webhook: header %q is set by trailwatch and cannot be configured", name)
		}
		if !validValue(v.Reveal()) {
			return nil, fmt.Errorf("webhook: the value of header %q holds a line break or control character", name)
		}
		red.AddHeader(v.Reveal())
	}
	if o.Client == nil {
		n.o.Client = http.DefaultClient
	}
	if o.Now == nil {
		n.o.Now = time.Now
	}
	return n, nil
}

// Sign returns the X-Trailwatch-Signature value for body sent at timestamp
// (Unix seconds): "sha256=" and the hex HMAC-SHA256 of timestamp "." body.
// Receivers written in Go may use it to verify.
func Sign(key []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a request's signature headers against body: the signature
// must match and the timestamp be within maxSkew of now.
func Verify(key []byte, timestamp, signature string, body []byte, now time.Time, maxSkew time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("webhook signature: the timestamp is not Unix seconds")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return fmt.Errorf("webhook signature: the timestamp is %s away from now, more than %s", d.Round(time.Second), maxSkew)
	}
	if !hmac.Equal([]byte(Sign(key, timestamp, body)), []byte(signature)) {
		return errors.New("webhook signature: the signature does not match the body")
	}
	return nil
}

// Notify implements notify.Notifier: it sends p.Body.
func (n *Notifier) Notify(ctx context.Context, p *render.Payload, _ *render.Group) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, n.o.Method, n.o.URL.Reveal(), bytes.NewReader(p.Body))
	if err != nil {
		return false, errors.New("webhook url is not a valid URL")
	}
	ct := p.ContentType
	if ct == "" {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("User-Agent", "trailwatch")
	for name, v := range n.o.Headers {
		req.Header.Set(name, v.Reveal())
	}
	if !n.o.SigningKey.IsZero() {
		ts := strconv.FormatInt(n.o.Now().Unix(), 10)
		req.Header.Set(TimestampHeader, ts)
		req.Header.Set(SignatureHeader, Sign([]byte(n.o.SigningKey.Reveal()), ts, p.Body))
	}
	_, retry, err := notify.Send(n.o.Client, req, "webhook", n.o.Redactor)
	return retry, err
}

// validName reports whether s is an HTTP token (RFC 9110 field name).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// validValue reports whether s can be a header value: no control
// characters other than tab, so no line break can start a new header.
func validValue(s string) bool {
	for _, c := range []byte(s) {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
