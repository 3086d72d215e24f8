package email

import (
	"context"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/render"
)

// TestRenderedJapaneseMail sends what render makes of a group, in Japanese,
// through the SMTP receiver and reads it back.
func TestRenderedJapaneseMail(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	r, err := render.New(render.Options{Locale: "ja", Location: tokyo})
	if err != nil {
		t.Fatal(err)
	}
	ev := event.MustParse(`{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com",
		"eventType":"AwsConsoleSignIn","eventTime":"2026-11-23T01:15:00Z","awsRegion":"us-east-1",
		"recipientAccountId":"111122223333","sourceIPAddress":"192.0.2.0",
		"userAgent":"Mozilla/5.0\r\nBcc: evil@example.com",
		"userIdentity":{"type":"Root","accountId":"111122223333"},
		"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"}}`)
	g := &render.Group{Key: "ops-mail/root", Receiver: "ops-mail", Count: 1, Alerts: []*event.Alert{{
		Rule:  event.RuleInfo{ID: "root-console-login", Title: "ルートユーザーがコンソールにサインインしました", Severity: event.SeverityCritical},
		Event: ev,
	}}}
	p, err := r.Render(render.KindEmail, "ops-mail", g)
	if err != nil {
		t.Fatal(err)
	}
	mb := newMailbox(t, serverOpts{tls: true, auth: true})
	n, err := NewSMTP(mb.options())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Notify(context.Background(), p, g); err != nil {
		t.Fatal(err)
	}
	msgs := mb.received()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	checkMessage(t, msgs[0].data, p)
}
