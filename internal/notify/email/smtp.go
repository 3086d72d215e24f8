package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/secret"
)

// TLS modes of an SMTP receiver.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (port 587); the default
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // no encryption; only for a server on a loopback address
)

// SMTPOptions configure an SMTP receiver.
type SMTPOptions struct {
	// Addr is the server's host:port.
	Addr string
	// From, To and CC as for SES; To needs at least one.
	From   string
	To, CC []string
	// Username and Password authenticate when Username is set.
	Username string
	Password secret.Secret
	// Auth is "plain", "login" or empty: PLAIN when the server offers it,
	// else LOGIN.
	Auth string
	// TLS is TLSStartTLS (the default), TLSImplicit or TLSNone.
	TLS string
	// TLSConfig verifies the server; nil means the system roots and the
	// host of Addr. Tests give their own RootCAs.
	TLSConfig *tls.Config
	// HelloName is the name sent in EHLO; empty means "localhost".
	HelloName string
	// Dial opens the connection; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Now is the clock for the Date header; nil means time.Now.
	Now func() time.Time
	// Timeout bounds one send when the context has no deadline; zero means
	// 30 seconds.
	Timeout time.Duration
	// Redactor receives the password as a secret; nil means one of the
	// receiver's own.
	Redactor *notify.Redactor
}

// SMTP sends through an SMTP server, one connection per message. Safe for
// concurrent use.
type SMTP struct {
	o      SMTPOptions
	host   string
	from   *mail.Address
	to, cc []*mail.Address
	red    *notify.Redactor
}

// NewSMTP checks o and returns an SMTP receiver.
func NewSMTP(o SMTPOptions) (*SMTP, error) {
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil || host == "" {
		return nil, fmt.Errorf("smtp: address %q is not host:port", o.Addr)
	}
	f, t, c, err := addresses("smtp", o.From, o.To, o.CC)
	if err != nil {
		return nil, err
	}
	switch o.TLS = strings.ToLower(o.TLS); o.TLS {
	case "":
		o.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !loopback(host) {
			return nil, fmt.Errorf("smtp: tls: none is only allowed for a server on a loopback address, not %q; use starttls or tls", host)
		}
	default:
		return nil, fmt.Errorf("smtp: tls %q is not starttls, tls or none", o.TLS)
	}
	switch o.Auth = strings.ToLower(o.Auth); o.Auth {
	case "", "plain", "login":
	default:
		return nil, fmt.Errorf("smtp: auth %q is not plain or login", o.Auth)
	}
	if o.Username != "" && o.Password.IsZero() {
		return nil, fmt.Errorf("smtp: username %q has no password", o.Username)
	}
	if strings.ContainsAny(o.Username, "\r\n\x00") || strings.ContainsAny(o.HelloName, "\r\n\x00 ") {
		return nil, errors.New("smtp: the username or hello name holds a line break or NUL")
	}
	if o.TLSConfig == nil {
		o.TLSConfig = &tls.Config{}
	}
	o.TLSConfig = o.TLSConfig.Clone()
	if o.TLSConfig.ServerName == "" {
		o.TLSConfig.ServerName = host
	}
	if o.HelloName == "" {
		o.HelloName = "localhost"
	}
	if o.Dial == nil {
		var d net.Dialer
		o.Dial = d.DialContext
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	red := o.Redactor
	if red == nil {
		red = &notify.Redactor{}
	}
	red.AddBasic(o.Username, o.Password.Reveal())
	return &SMTP{o: o, host: host, from: f, to: t, cc: c, red: red}, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Notify implements notify.Notifier.
func (s *SMTP) Notify(ctx context.Context, p *render.Payload, _ *render.Group) (bool, error) {
	if err := checkPayload("smtp", p); err != nil {
		return false, err
	}
	msg, err := s.message(p)
	if err != nil {
		return false, err
	}
	retry, err := s.send(ctx, msg)
	if err != nil {
		return retry, fmt.Errorf("smtp %s: %w", s.o.Addr, s.red.Error(err))
	}
	return false, nil
}

// stageError says which step of the SMTP dialogue failed.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.stage + " failed: " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

func (s *SMTP) send(ctx context.Context, msg []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	conn, err := s.o.Dial(ctx, "tcp", s.o.Addr)
	if err != nil {
		return ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded), &stageError{"connect", err}
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	secure := false
	if s.o.TLS == TLSImplicit {
		tc := tls.Client(conn, s.o.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return classify(err), &stageError{"TLS handshake", err}
		}
		conn, secure = tc, true
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return classify(err), &stageError{"greeting", err}
	}
	defer c.Close()
	if err := c.Hello(s.o.HelloName); err != nil {
		return classify(err), &stageError{"EHLO", err}
	}
	if s.o.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return false, errors.New("the server does not offer STARTTLS; refusing to send in clear text (use tls: tls for port 465)")
		}
		if err := c.StartTLS(s.o.TLSConfig); err != nil {
			return classify(err), &stageError{"STARTTLS", err}
		}
		secure = true
	}
	if s.o.Username != "" {
		a, err := s.auth(c, secure)
		if err != nil {
			return false, err
		}
		if err := c.Auth(a); err != nil {
			return classify(err), &stageError{"AUTH", err}
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return classify(err), &stageError{"MAIL FROM", err}
	}
	for _, r := range append(append([]*mail.Address(nil), s.to...), s.cc...) {
		if err := c.Rcpt(r.Address); err != nil {
			return classify(err), &stageError{"RCPT TO " + r.Address, err}
		}
	}
	w, err := c.Data()
	if err != nil {
		return classify(err), &stageError{"DATA", err}
	}
	if _, err := w.Write(msg); err != nil {
		return classify(err), &stageError{"DATA", err}
	}
	if err := w.Close(); err != nil {
		return classify(err), &stageError{"end of DATA", err}
	}
	// The server has taken the message; a failed QUIT changes nothing.
	_ = c.Quit()
	return false, nil
}

func (s *SMTP) auth(c *smtp.Client, secure bool) (smtp.Auth, error) {
	if !secure && s.o.TLS != TLSNone {
		return nil, errors.New("refusing to authenticate over an unencrypted connection")
	}
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return nil, errors.New("the server offers no AUTH, but a username is configured")
	}
	offered := strings.Fields(strings.ToUpper(mechs))
	has := func(m string) bool {
		for _, o := range offered {
			if o == m {
				return true
			}
		}
		return false
	}
	mech := s.o.Auth
	if mech == "" {
		mech = "plain"
		if !has("PLAIN") && has("LOGIN") {
			mech = "login"
		}
	}
	if !has(strings.ToUpper(mech)) {
		return nil, fmt.Errorf("the server does not offer AUTH %s (it offers %s)", strings.ToUpper(mech), mechs)
	}
	if mech == "login" {
		return &loginAuth{user: s.o.Username, pass: s.o.Password}, nil
	}
	return &plainAuth{user: s.o.Username, pass: s.o.Password}, nil
}

// classify says whether an SMTP failure may succeed later: 4xx replies and
// broken connections yes; 5xx replies and certificate problems no.
func classify(err error) bool {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 400 && te.Code < 500
	}
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	if errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) {
		return false
	}
	return true
}

// plainAuth is SASL PLAIN (RFC 4616). Unlike smtp.PlainAuth it does not
// check for TLS itself; SMTP.auth does, for every mechanism.
type plainAuth struct {
	user string
	pass secret.Secret
}

func (a *plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass.Reveal()), nil
}

func (a *plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge during AUTH PLAIN")
	}
	return nil, nil
}

// loginAuth is the LOGIN mechanism: the server asks for the username, then
// the password.
type loginAuth struct {
	user string
	pass secret.Secret
}

func (a *loginAuth) Start(*smtp.ServerInfo) (string, []byte, error) { return "LOGIN", nil, nil }

func (a *loginAuth) Next(from []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch q := strings.ToLower(string(from)); {
	case strings.Contains(q, "username"):
		return []byte(a.user), nil
	case strings.Contains(q, "password"):
		return []byte(a.pass.Reveal()), nil
	}
	return nil, errors.New("unexpected server challenge during AUTH LOGIN")
}

// message builds the RFC 5322 message: headers, then a multipart/alternative
// body with the text and HTML parts, each quoted-printable in UTF-8.
func (s *SMTP) message(p *render.Payload) ([]byte, error) {
	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(name + ": " + value + "\r\n")
	}
	header("From", format(s.from))
	header("To", list(s.to))
	if len(s.cc) > 0 {
		header("Cc", list(s.cc))
	}
	header("Subject", EncodeSubject(p.Subject))
	header("Date", s.o.Now().Format(time.RFC1123Z))
	header("Message-ID", messageID(s.from.Address))
	header("MIME-Version", "1.0")
	header("Auto-Submitted", "auto-generated")

	part := func(w *bytes.Buffer, text string) error {
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(text)); err != nil {
			return err
		}
		return qp.Close()
	}
	if p.Text == "" || p.HTML == "" {
		ct, text := "text/plain; charset=utf-8", p.Text
		if p.Text == "" {
			ct, text = "text/html; charset=utf-8", p.HTML
		}
		header("Content-Type", ct)
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := part(&b, text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	header("Content-Type", "multipart/alternative;\r\n boundary=\""+mw.Boundary()+"\"")
	b.WriteString("\r\n")
	for _, pt := range []struct{ ct, text string }{{"text/plain; charset=utf-8", p.Text}, {"text/html; charset=utf-8", p.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {pt.ct}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		var pb bytes.Buffer
		if err := part(&pb, pt.text); err != nil {
			return nil, err
		}
		if _, err := w.Write(pb.Bytes()); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	b.Write(body.Bytes())
	return b.Bytes(), nil
}

// EncodeSubject returns s as a Subject header value. Short printable
// ASCII is kept as it is; anything else (non-ASCII, control characters, a
// long line, or text that looks like an encoded word and would be decoded
// by mail readers) becomes RFC 2047 B-encoded UTF-8 words of at most 68
// characters, one per folded line, so that no line exceeds 78 characters.
func EncodeSubject(s string) string {
	plain := len(s) <= 69 && !strings.Contains(s, "=?")
	for i := 0; plain && i < len(s); i++ {
		plain = s[i] >= ' ' && s[i] <= '~'
	}
	if plain {
		return s
	}
	const chunk = 42 // bytes; 56 base64 characters plus 12 of framing
	var words []string
	for len(s) > 0 {
		n := min(len(s), chunk)
		for n < len(s) && n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		if n == 0 { // not UTF-8 at all: cut anywhere
			n = min(len(s), chunk)
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, "\r\n ")
}

func list(as []*mail.Address) string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = format(a)
	}
	return strings.Join(out, ", ")
}

func messageID(from string) string {
	var r [16]byte
	_, _ = rand.Read(r[:])
	domain := "trailwatch.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		domain = from[i+1:]
	}
	return "<" + hex.EncodeToString(r[:]) + "@" + domain + ">"
}
