package email

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/trailwatch/trailwatch/internal/notify/notifytest"
	"github.com/trailwatch/trailwatch/internal/secret"
)

// echoSMTP is an SMTP server that refuses every AUTH with a reply quoting
// the next of its echoes.
type echoSMTP struct {
	addr   string
	mu     sync.Mutex
	echoes []string
	n      int
}

func newEchoSMTP(t *testing.T, echoes []string) *echoSMTP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	s := &echoSMTP{addr: ln.Addr().String(), echoes: echoes}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *echoSMTP) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	write := func(l string) { _, _ = c.Write([]byte(l + "\r\n")) }
	write("220 mx.test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.Fields(line + " x")[0])
		switch cmd {
		case "EHLO", "HELO":
			write("250-mx.test")
			write("250 AUTH PLAIN LOGIN")
		case "AUTH":
			s.mu.Lock()
			echo := s.echoes[min(s.n, len(s.echoes)-1)]
			s.n++
			s.mu.Unlock()
			// A reply is one line: the echo's own line breaks would end it.
			echo = strings.NewReplacer("\r", " ", "\n", " ").Replace(echo)
			write("535 5.7.8 authentication failed for " + echo)
		case "QUIT":
			write("221 bye")
			return
		default:
			write("502 5.5.2 unknown command")
		}
	}
}

// TestSMTPHostileEchoIsRedacted: a server that quotes the password, the
// user:password pair or the AUTH PLAIN credential back in any encoding never
// gets them into an error or a log line.
func TestSMTPHostileEchoIsRedacted(t *testing.T) {
	plain := "\x00" + smtpUser + "\x00" + smtpPass
	bodies := notifytest.HostileBodies([]string{smtpPass, smtpUser + ":" + smtpPass, plain, "AUTH PLAIN " + plain}, func(s string) string { return s })
	srv := newEchoSMTP(t, bodies)
	n, err := NewSMTP(SMTPOptions{
		Addr: srv.addr, From: "alerts@example.com", To: []string{"sec@example.com"},
		Username: smtpUser, Password: secret.New(smtpPass), TLS: TLSNone,
	})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	clock := notifytest.NewClock()
	r := clock.Retrier(slog.New(slog.NewJSONHandler(&logs, nil)))
	r.MaxAttempts = 1
	var outs []string
	for range bodies {
		_, err := n.Notify(context.Background(), mailPayload(), notifytest.Group("ops-mail"))
		if err == nil {
			t.Fatal("a refused AUTH was taken as a success")
		}
		outs = append(outs, err.Error())
	}
	notifytest.LeaksAnyForm(t, []string{smtpPass}, append(outs, logs.String())...)
	if !strings.Contains(strings.Join(outs, "\n"), "<redacted>") {
		t.Errorf("no error says what was redacted: %s", outs[0])
	}
}
