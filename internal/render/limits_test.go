package render

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/event"
)

// checkSlackLimits fails when a Slack body breaks a Block Kit limit.
func checkSlackLimits(t *testing.T, body []byte) {
	t.Helper()
	if !utf8.Valid(body) {
		t.Fatal("Slack body is not valid UTF-8")
	}
	var m slackMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("Slack body is not JSON: %v", err)
	}
	runes := utf8.RuneCountInString
	if runes(m.Text) > SlackMaxMessageText {
		t.Errorf("text is %d characters", runes(m.Text))
	}
	blocks := append([]slackBlock(nil), m.Blocks...)
	for _, a := range m.Attachments {
		blocks = append(blocks, a.Blocks...)
		if runes(a.Fallback) > SlackMaxMessageText {
			t.Errorf("fallback is %d characters", runes(a.Fallback))
		}
	}
	if len(blocks) > SlackMaxBlocks {
		t.Errorf("%d blocks, over %d", len(blocks), SlackMaxBlocks)
	}
	for i, b := range blocks {
		switch b.Type {
		case "header":
			if n := runes(b.Text.Text); n > SlackMaxHeader {
				t.Errorf("header is %d characters", n)
			}
		case "section":
			if b.Text != nil && runes(b.Text.Text) > SlackMaxSectionText {
				t.Errorf("block %d text is %d characters", i, runes(b.Text.Text))
			}
			if len(b.Fields) > SlackMaxFields {
				t.Errorf("block %d has %d fields", i, len(b.Fields))
			}
			for _, f := range b.Fields {
				if runes(f.Text) > SlackMaxFieldText {
					t.Errorf("block %d field is %d characters", i, runes(f.Text))
				}
			}
		case "context":
			if len(b.Elements) > SlackMaxContextItems {
				t.Errorf("context block %d has %d elements", i, len(b.Elements))
			}
		}
	}
}

// bigUserAgentEvent is the AWS docs root sign-in with a 100 KB user agent
// full of characters that grow when escaped.
func bigUserAgentEvent(t testing.TB) *event.Event {
	ua := strings.Repeat("Mozilla/5.0 <!channel> & [x](y) *b* 日本語 ", 100*1024/48)
	return hostileEvent(t, map[string]any{"userAgent": ua})
}

// burstGroup is a group of n alerts, all on the docs' failed sign-in event.
func burstGroup(t testing.TB, n int, ev *event.Event) *Group {
	g := &Group{Key: "burst", Receiver: "ops", Count: n}
	for i := 0; i < n; i++ {
		g.Alerts = append(g.Alerts, &event.Alert{Rule: ruleUnauthorized, Event: ev,
			Summary: "Denied call " + strings.Repeat("x", i%50)})
	}
	return g
}

func TestLimitsHold(t *testing.T) {
	big := bigUserAgentEvent(t)
	plainEv := loadEvent(t, "iam-user-login-failure-no-mfa.json")
	cases := map[string]*Group{
		"100KB user agent":           hostileGroup(t, big),
		"300 alerts":                 burstGroup(t, 300, plainEv),
		"300 alerts, 100KB each":     burstGroup(t, 300, big),
		"one alert of a 10000 group": {Key: "k", Count: 10000, Alerts: []*event.Alert{{Rule: ruleUnauthorized, Event: plainEv}}},
	}
	for _, maxAlerts := range []int{0, 300} {
		for _, locale := range []string{"en", "ja"} {
			r, err := New(Options{Locale: locale, MaxAlerts: maxAlerts})
			if err != nil {
				t.Fatal(err)
			}
			for name, g := range cases {
				for _, kind := range Kinds() {
					p, err := r.Render(kind, "ops", g)
					if err != nil {
						t.Fatalf("%s %s %s: %v", name, kind, locale, err)
					}
					where := name + " " + kind + " " + locale
					if kind != KindEmail && !json.Valid(p.Body) {
						t.Errorf("%s: body is not valid JSON", where)
					}
					switch kind {
					case KindSlack, KindSlackBot:
						checkSlackLimits(t, p.Body)
					case KindTeams:
						if len(p.Body) > TeamsMaxBytes {
							t.Errorf("%s: card is %d bytes", where, len(p.Body))
						}
					case KindSNS:
						size := len(p.Body)
						for k, v := range p.Attributes {
							size += len(k) + len(v) + len("String")
						}
						if size > SNSMaxBytes {
							t.Errorf("%s: SNS message is %d bytes", where, size)
						}
						if len(p.Subject) > SNSMaxSubject || nonASCII(p.Subject) > 0 || p.Subject == "" {
							t.Errorf("%s: SNS subject %q", where, p.Subject)
						}
						var sm snsMessage
						if err := json.Unmarshal(p.Body, &sm); err != nil || !json.Valid([]byte(sm.Default)) {
							t.Errorf("%s: SNS default message is not JSON: %v", where, err)
						}
					case KindEmail:
						if !utf8.ValidString(p.HTML) || !utf8.ValidString(p.Text) {
							t.Errorf("%s: email is not valid UTF-8", where)
						}
						if utf8.RuneCountInString(p.Subject) > EmailMaxSubject {
							t.Errorf("%s: subject is %d characters", where, utf8.RuneCountInString(p.Subject))
						}
					}
				}
			}
		}
	}
}

func TestTruncationIsMarked(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := hostileGroup(t, bigUserAgentEvent(t))
	for _, kind := range []string{KindSlack, KindTeams, KindEmail, KindSNS} {
		p, err := r.Render(kind, "ops", g)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(p.Body)+p.Text+p.HTML, TruncMarker) {
			t.Errorf("%s: a 100 KB user agent was cut without the marker", kind)
		}
	}
	p, err := r.Render(KindSNS, "ops", g)
	if err != nil {
		t.Fatal(err)
	}
	var sm snsMessage
	if err := json.Unmarshal(p.Body, &sm); err != nil {
		t.Fatal(err)
	}
	var d WebhookDoc
	if err := json.Unmarshal([]byte(sm.Default), &d); err != nil {
		t.Fatal(err)
	}
	// A document that was not marked as shortened carries the exact
	// values and the raw record.
	a := d.Alerts[0]
	full := bigUserAgentEvent(t).UserAgent()
	if !d.Truncated && (a.Event.UserAgent != full || a.Raw == nil) {
		t.Errorf("SNS document shortened without saying so")
	}
	if d.Truncated && a.Event.UserAgent == full && a.Raw != nil {
		t.Errorf("SNS document marked as shortened but complete")
	}
}

func TestGroupShowsFirstAlerts(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := burstGroup(t, 300, loadEvent(t, "iam-user-login-failure-no-mfa.json"))
	p, err := r.Render(KindWebhook, "ops", g)
	if err != nil {
		t.Fatal(err)
	}
	var d WebhookDoc
	if err := json.Unmarshal(p.Body, &d); err != nil {
		t.Fatal(err)
	}
	if d.Count != 300 || len(d.Alerts) != DefaultMaxAlerts {
		t.Errorf("count %d with %d alerts, want 300 with %d", d.Count, len(d.Alerts), DefaultMaxAlerts)
	}
	p, err = r.Render(KindEmail, "ops", g)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Text, "and 295 more") || !strings.Contains(p.Subject, "(300 alerts)") {
		t.Errorf("email does not say how many more:\n%s\n%s", p.Subject, p.Text)
	}
}
