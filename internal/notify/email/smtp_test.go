package email

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mhale/smtpd"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/notify/notifytest"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/secret"
)

const (
	smtpUser = "alerts@example.com"
	smtpPass = "smtp-p4ssw0rd-d1st1nct"
)

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "trailwatch test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// mailbox is an in-process SMTP server and what it received.
type mailbox struct {
	addr string
	pool *x509.CertPool

	mu       sync.Mutex
	msgs     []received
	auths    []string     // mechanism:user
	failNext int          // answer this many DATA with 451
	wire     bytes.Buffer // every byte the client sent, as seen on the wire
}

func (mb *mailbox) raw() string {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.wire.String()
}

// tapListener records what clients send before any TLS is applied.
type tapListener struct {
	net.Listener
	mb *mailbox
}

func (l tapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tapConn{c, l.mb}, nil
}

type tapConn struct {
	net.Conn
	mb *mailbox
}

func (c tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mb.mu.Lock()
	c.mb.wire.Write(p[:n])
	c.mb.mu.Unlock()
	return n, err
}

type received struct {
	from string
	to   []string
	data []byte
}

type serverOpts struct {
	tls      bool // offer STARTTLS (and require it)
	implicit bool // TLS from the first byte
	auth     bool
}

func newMailbox(t *testing.T, so serverOpts) *mailbox {
	t.Helper()
	mb := &mailbox{}
	srv := &smtpd.Server{
		Hostname:          "mx.test",
		DisableReverseDNS: true,
		Timeout:           10 * time.Second,
		Handler: func(_ net.Addr, from string, to []string, data []byte) error {
			mb.mu.Lock()
			defer mb.mu.Unlock()
			if mb.failNext > 0 {
				mb.failNext--
				return errors.New("mailbox busy")
			}
			mb.msgs = append(mb.msgs, received{from, to, append([]byte(nil), data...)})
			return nil
		},
	}
	if so.auth {
		srv.AuthMechs = map[string]bool{"PLAIN": true, "LOGIN": true, "CRAM-MD5": false}
		srv.AuthRequired = true
		srv.AuthHandler = func(_ net.Addr, mech string, user, pass, _ []byte) (bool, error) {
			mb.mu.Lock()
			mb.auths = append(mb.auths, mech+":"+string(user))
			mb.mu.Unlock()
			return string(user) == smtpUser && string(pass) == smtpPass, nil
		}
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener = tapListener{tcp, mb}
	if so.tls || so.implicit {
		cert, pool := selfSigned(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		srv.TLSRequired = true
		mb.pool = pool
		if so.implicit {
			ln = tls.NewListener(ln, srv.TLSConfig)
		}
	}
	mb.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); _ = ln.Close() })
	return mb
}

func (mb *mailbox) received() []received {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]received(nil), mb.msgs...)
}

func (mb *mailbox) options() SMTPOptions {
	return SMTPOptions{
		Addr:      mb.addr,
		From:      "trailwatch <alerts@example.com>",
		To:        []string{"sec@example.com", "山田 <yamada@example.com>"},
		CC:        []string{"audit@example.com"},
		Username:  smtpUser,
		Password:  secret.New(smtpPass),
		TLSConfig: &tls.Config{RootCAs: mb.pool},
		Now:       func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.FixedZone("JST", 9*3600)) },
	}
}

func TestSMTPStartTLSAuthMultipart(t *testing.T) {
	for _, mech := range []string{"", "plain", "login"} {
		t.Run("auth "+mech, func(t *testing.T) {
			mb := newMailbox(t, serverOpts{tls: true, auth: true})
			o := mb.options()
			o.Auth = mech
			n, err := NewSMTP(o)
			if err != nil {
				t.Fatal(err)
			}
			p := mailPayload()
			if _, err := n.Notify(context.Background(), p, notifytest.Group("ops-mail")); err != nil {
				t.Fatal(err)
			}
			msgs := mb.received()
			if len(msgs) != 1 {
				t.Fatalf("%d messages", len(msgs))
			}
			want := "PLAIN:" + smtpUser
			if mech == "login" {
				want = "LOGIN:" + smtpUser
			}
			if len(mb.auths) != 1 || mb.auths[0] != want {
				t.Errorf("auths = %v, want %s", mb.auths, want)
			}
			m := msgs[0]
			if m.from != "alerts@example.com" || strings.Join(m.to, ",") != "sec@example.com,yamada@example.com,audit@example.com" {
				t.Errorf("envelope %s -> %v", m.from, m.to)
			}
			checkMessage(t, m.data, p)
			// The server requires TLS before MAIL and AUTH; the raw bytes
			// the client sent show STARTTLS and never the password.
			raw := mb.raw()
			if !strings.Contains(raw, "STARTTLS\r\n") {
				t.Errorf("no STARTTLS in what the client sent:\n%q", raw)
			}
			notifytest.Leaks(t, []string{smtpPass, "c210cC1wNHNzdzByZC1kMXN0MW5jdA", smtpUser}, raw)
		})
	}
}

// checkMessage parses an RFC 5322 message and compares it with p.
func checkMessage(t *testing.T, data []byte, p *render.Payload) {
	t.Helper()
	for i, line := range strings.Split(string(data), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line %d is %d characters long: %q", i, len(line), line)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	if len(h["Bcc"]) != 0 || len(h["X"]) != 0 {
		t.Errorf("an injected header arrived: %v", h)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil || subject != p.Subject {
		t.Errorf("Subject %q decodes to %q (%v)", h.Get("Subject"), subject, err)
	}
	if !strings.HasPrefix(h.Get("Subject"), "=?utf-8?b?") {
		t.Errorf("Subject is not B-encoded: %q", h.Get("Subject"))
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 2 || to[1].Name != "山田" || to[1].Address != "yamada@example.com" {
		t.Errorf("To = %v (%v)", to, err)
	}
	for k, want := range map[string]string{
		"From":           `"trailwatch" <alerts@example.com>`,
		"Cc":             "audit@example.com",
		"Date":           "Mon, 23 Nov 2026 12:00:00 +0900",
		"MIME-Version":   "1.0",
		"Auto-Submitted": "auto-generated",
	} {
		if h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, h.Get(k), want)
		}
	}
	if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("Message-ID = %q", id)
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q", h.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var parts []string
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if part.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
			t.Errorf("part encoding %q", part.Header.Get("Content-Transfer-Encoding"))
		}
		b, err := io.ReadAll(quotedprintable.NewReader(part))
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, part.Header.Get("Content-Type")+"|"+strings.ReplaceAll(string(b), "\r\n", "\n"))
	}
	want := []string{"text/plain; charset=utf-8|" + p.Text, "text/html; charset=utf-8|" + p.HTML}
	if strings.Join(parts, "\n--\n") != strings.Join(want, "\n--\n") {
		t.Errorf("parts\n got: %q\nwant: %q", parts, want)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	mb := newMailbox(t, serverOpts{implicit: true, auth: true})
	o := mb.options()
	o.TLS = TLSImplicit
	n, err := NewSMTP(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Notify(context.Background(), mailPayload(), nil); err != nil {
		t.Fatal(err)
	}
	if len(mb.received()) != 1 {
		t.Error("no message")
	}
}

func TestSMTPNoTLSOnLoopback(t *testing.T) {
	mb := newMailbox(t, serverOpts{})
	o := mb.options()
	o.TLS, o.Username, o.Password = TLSNone, "", secret.Secret{}
	p := mailPayload()
	p.HTML = ""
	n, err := NewSMTP(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Notify(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	msgs := mb.received()
	if len(msgs) != 1 {
		t.Fatal("no message")
	}
	msg, _ := mail.ReadMessage(bytes.NewReader(msgs[0].data))
	b, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if msg.Header.Get("Content-Type") != "text/plain; charset=utf-8" || strings.ReplaceAll(string(b), "\r\n", "\n") != p.Text+"\n" {
		t.Errorf("single part: %q %q", msg.Header.Get("Content-Type"), b)
	}
}

func TestSMTPFailures(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	var out []string
	ctx := context.Background()
	deliver := func(t *testing.T, o SMTPOptions, p *render.Payload, attempts int) (*notify.DeliveryError, *notifytest.Clock) {
		t.Helper()
		n, err := NewSMTP(o)
		if err != nil {
			t.Fatal(err)
		}
		clock := notifytest.NewClock()
		r := clock.Retrier(logger)
		r.MaxAttempts = attempts
		err = r.Deliver(ctx, n, p, notifytest.Group("ops-mail"))
		if err == nil {
			return nil, clock
		}
		out = append(out, err.Error())
		var de *notify.DeliveryError
		if !errors.As(err, &de) {
			t.Fatalf("err = %v", err)
		}
		return de, clock
	}

	t.Run("wrong password is permanent", func(t *testing.T) {
		mb := newMailbox(t, serverOpts{tls: true, auth: true})
		o := mb.options()
		o.Password = secret.New(smtpPass + "-wrong")
		de, _ := deliver(t, o, mailPayload(), 3)
		if de == nil || !de.Permanent || !strings.Contains(de.Error(), "AUTH failed: 535") {
			t.Errorf("err = %v", de)
		}
	})
	t.Run("451 is retried", func(t *testing.T) {
		mb := newMailbox(t, serverOpts{tls: true, auth: true})
		mb.failNext = 1
		de, clock := deliver(t, mb.options(), mailPayload(), 3)
		if de != nil || len(mb.received()) != 1 || len(clock.Waits()) != 1 {
			t.Errorf("err = %v, waits = %v", de, clock.Waits())
		}
	})
	t.Run("no STARTTLS offered", func(t *testing.T) {
		mb := newMailbox(t, serverOpts{auth: true})
		de, _ := deliver(t, mb.options(), mailPayload(), 3)
		if de == nil || !de.Permanent || !strings.Contains(de.Error(), "the server does not offer STARTTLS; refusing to send in clear text") || len(mb.received()) != 0 {
			t.Errorf("err = %v", de)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		mb := newMailbox(t, serverOpts{tls: true, auth: true})
		o := mb.options()
		o.TLSConfig = &tls.Config{RootCAs: x509.NewCertPool()}
		de, _ := deliver(t, o, mailPayload(), 3)
		if de == nil || !de.Permanent || !strings.Contains(de.Error(), "STARTTLS failed") {
			t.Errorf("err = %v", de)
		}
	})
	t.Run("connection refused is retried", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		o := (&mailbox{addr: addr}).options()
		de, _ := deliver(t, o, mailPayload(), 2)
		if de == nil || de.Permanent || de.Attempts != 2 || !strings.Contains(de.Error(), "connect failed") {
			t.Errorf("err = %v", de)
		}
	})
	t.Run("header injection refused", func(t *testing.T) {
		mb := newMailbox(t, serverOpts{tls: true, auth: true})
		for _, s := range []string{"alert\r\nBcc: evil@example.com", "alert\nBcc: evil@example.com", "alert\rX: y"} {
			p := mailPayload()
			p.Subject = s
			de, _ := deliver(t, mb.options(), p, 3)
			if de == nil || !de.Permanent || !strings.HasSuffix(de.Error(), "smtp subject holds a line break or NUL; refusing to send it as a header") {
				t.Errorf("%q: err = %v", s, de)
			}
		}
		if len(mb.received()) != 0 {
			t.Error("a message with an injected header was sent")
		}
		for _, o := range []SMTPOptions{
			{Addr: mb.addr, From: "a@example.com\r\nBcc: evil@example.com", To: []string{"b@example.com"}},
			{Addr: mb.addr, From: "a@example.com", To: []string{"b@example.com\r\nBcc: evil@example.com"}},
			{Addr: mb.addr, From: "a@example.com", To: []string{"b@example.com"}, CC: []string{"c@example.com\nX: y"}},
		} {
			if _, err := NewSMTP(o); err == nil || !strings.Contains(err.Error(), "holds a line break") {
				t.Errorf("NewSMTP accepted %q %q %q: %v", o.From, o.To, o.CC, err)
			}
		}
	})
	t.Run("no secret in errors, logs or the server's view of errors", func(t *testing.T) {
		notifytest.Leaks(t, []string{smtpPass, "c210cC1wNHNzdzByZC1kMXN0MW5jdA"}, append(out, logs.String())...)
	})
}

func TestNewSMTPErrors(t *testing.T) {
	ok := SMTPOptions{Addr: "127.0.0.1:25", From: "a@example.com", To: []string{"b@example.com"}}
	tests := []struct {
		edit func(o *SMTPOptions)
		want string
	}{
		{func(o *SMTPOptions) { o.Addr = "mail.example.com" }, `smtp: address "mail.example.com" is not host:port`},
		{func(o *SMTPOptions) { o.Addr, o.TLS = "mail.example.com:25", "none" }, `smtp: tls: none is only allowed for a server on a loopback address, not "mail.example.com"; use starttls or tls`},
		{func(o *SMTPOptions) { o.TLS = "ssl" }, `smtp: tls "ssl" is not starttls, tls or none`},
		{func(o *SMTPOptions) { o.Auth = "cram-md5" }, `smtp: auth "cram-md5" is not plain or login`},
		{func(o *SMTPOptions) { o.Username = "u" }, `smtp: username "u" has no password`},
	}
	for _, tt := range tests {
		o := ok
		tt.edit(&o)
		if _, err := NewSMTP(o); err == nil || err.Error() != tt.want {
			t.Errorf("NewSMTP = %v, want %s", err, tt.want)
		}
	}
	for _, host := range []string{"localhost:25", "[::1]:25", "127.0.0.2:25"} {
		o := ok
		o.Addr, o.TLS = host, TLSNone
		if _, err := NewSMTP(o); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
}

func TestEncodeSubject(t *testing.T) {
	var dec mime.WordDecoder
	for _, s := range []string{
		"Root user signed in",
		"[重大] ルートユーザーがコンソールにサインインしました。送信元 192.0.2.1、ユーザーエージェント Mozilla/5.0",
		strings.Repeat("long ascii subject ", 60),
		"Ünïcödé",
		"=?utf-8?b?Zm9v?= attacker text",
		"\xff\xfe not UTF-8",
	} {
		enc := EncodeSubject(s)
		for _, line := range strings.Split(enc, "\r\n") {
			if len(line)+len("Subject: ") > 78 {
				t.Errorf("line too long: %q", line)
			}
		}
		got, err := dec.DecodeHeader(strings.ReplaceAll(enc, "\r\n", ""))
		if err != nil || got != s {
			t.Errorf("EncodeSubject(%q) = %q decodes to %q (%v)", s, enc, got, err)
		}
	}
	if EncodeSubject("plain") != "plain" {
		t.Error("plain ASCII was encoded")
	}
	if enc := EncodeSubject("=?utf-8?b?Zm9v?="); !strings.HasPrefix(enc, "=?utf-8?b?PT91dGYtOD9iP1ptOXY/PQ==") {
		t.Errorf("an encoded-word lookalike was kept as it is: %q", enc)
	}
}

func FuzzEncodeSubject(f *testing.F) {
	for _, s := range []string{"Root user signed in", "[重大] ルート", "=?utf-8?q?x?=", "\xff", strings.Repeat("a", 100), "a\tb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\r\n") {
			return // refused before encoding
		}
		enc := EncodeSubject(s)
		for _, line := range strings.Split(enc, "\r\n") {
			if len(line)+len("Subject: ") > 78 || strings.ContainsAny(line, "\r\n") {
				t.Fatalf("EncodeSubject(%q) has line %q", s, line)
			}
		}
		if enc == s {
			return
		}
		var dec mime.WordDecoder
		dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
		got, err := dec.DecodeHeader(strings.ReplaceAll(enc, "\r\n", ""))
		if err != nil || got != s {
			t.Fatalf("EncodeSubject(%q) = %q decodes to %q (%v)", s, enc, got, err)
		}
	})
}
