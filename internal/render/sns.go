package render

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// SNS limits.
const (
	// SNSMaxBytes is the largest SNS message: 256 KiB, counting the message
	// and its attributes.
	SNSMaxBytes = 256 * 1024
	// SNSMaxSubject is the longest SNS subject, in ASCII characters.
	SNSMaxSubject = 100
	// snsMaxAttribute bounds one attribute value, far below SNS's limit, so
	// that filter policies see sane values.
	snsMaxAttribute = 256
)

// snsMessage is the SNS message in MessageStructure=json form: "default"
// goes to every protocol without its own key (SQS, Lambda, HTTP/S,
// Firehose) and carries the webhook document; "email" carries the readable
// text.
type snsMessage struct {
	Default string `json:"default"`
	Email   string `json:"email"`
}

// renderSNS returns Body as an SNS message to publish with
// MessageStructure=json, Text as the readable form alone, Subject ASCII-only
// and at most SNSMaxSubject characters, and Attributes severity, rule,
// account and event_name (empty ones left out).
func (r *Renderer) renderSNS(receiver string, g *Group) (*Payload, error) {
	// The exact form (raw records, whole values) is tried first unless the
	// raw records alone are already too large.
	rawSize := 0
	for i, a := range g.Alerts {
		if i < r.maxAlerts {
			rawSize += len(a.Event.Raw())
		}
	}
	for i, step := range shrinkSteps() {
		if i == 0 && rawSize > SNSMaxBytes/2 {
			continue
		}
		alerts := r.maxAlerts
		if step.alerts > 0 && step.alerts < alerts {
			alerts = step.alerts
		}
		valueRunes := 0 // the machine form keeps exact values while it fits
		if i > 0 {
			valueRunes = step.value
		}
		d, err := r.webhookDoc(KindSNS, receiver, g, alerts, valueRunes, i == 0)
		if err != nil {
			return nil, err
		}
		doc, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("encode SNS message: %w", err)
		}
		m, err := r.prepare(KindSNS, receiver, g, alerts)
		if err != nil {
			return nil, err
		}
		m.limitValues(step.value)
		text, _, err := r.exec(KindSNS, FieldBody, true, m)
		if err != nil {
			return nil, err
		}
		subject, _, err := r.exec(KindSNS, FieldSubject, true, m)
		if err != nil {
			return nil, err
		}
		body, err := json.Marshal(snsMessage{Default: string(doc), Email: text})
		if err != nil {
			return nil, fmt.Errorf("encode SNS message: %w", err)
		}
		attrs := snsAttributes(m)
		rules := snsRules(m)
		size := len(body)
		for k, v := range attrs {
			size += len(k) + len(v) + len("String")
		}
		if list, err := json.Marshal(rules); err == nil {
			size += len("rules") + len(list) + len("String.Array")
		}
		if size <= SNSMaxBytes {
			return &Payload{
				Body:           body,
				ContentType:    "application/json; charset=utf-8",
				Subject:        snsSubject(subject, m),
				Text:           text,
				Attributes:     attrs,
				ListAttributes: map[string][]string{"rules": rules},
			}, nil
		}
	}
	return nil, fmt.Errorf("the SNS message is over %d bytes even when shortened; shorten the subject or body template", SNSMaxBytes)
}

func snsAttributes(m *Message) map[string]string {
	a := &m.Alerts[0]
	attrs := map[string]string{}
	for k, v := range map[string]string{
		"severity":   m.Severity.String(),
		"rule":       a.RuleID,
		"account":    a.Account,
		"event_name": a.EventName,
	} {
		if v = strings.TrimSpace(asciiOnly(v)); v != "" {
			attrs[k] = cutASCII(v, snsMaxAttribute)
		}
	}
	return attrs
}

// snsMaxRules bounds the rule ids of the "rules" attribute.
const snsMaxRules = 50

// snsRules returns the ids of every rule the message reports: each alert's
// rule and the rules folded into it, once each, in order, so that a
// subscription filter policy on one rule finds the message whichever rule
// leads it.
func snsRules(m *Message) []string {
	var ids []string
	add := func(id string) {
		id = cutASCII(strings.TrimSpace(asciiOnly(id)), snsMaxAttribute)
		if id != "" && len(ids) < snsMaxRules && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for i := range m.Alerts {
		add(m.Alerts[i].RuleID)
		for _, o := range m.Alerts[i].Also {
			add(o.ID)
		}
	}
	return ids
}

// snsSubject makes s a valid SNS subject: printable ASCII only, starting
// with a letter, digit or punctuation, at most SNSMaxSubject characters.
// A subject in another script (a Japanese title) cannot be sent, so it is
// replaced by one made of identifiers only: the severity as routes name it,
// the rule id (or the title, in English), the count and the account, as
// "[critical] root-console-login (x3) - 111122223333". Words in English
// are used only for an English message.
func snsSubject(s string, m *Message) string {
	s = strings.TrimSpace(oneLine(s))
	if nonASCII(s) > 0 {
		a := &m.Alerts[0]
		title := a.RuleID
		if m.Locale == "en" && a.RuleTitle != "" && nonASCII(a.RuleTitle) == 0 {
			title = a.RuleTitle
		}
		if title == "" {
			title = a.EventName
		}
		s = "[" + m.Severity.String() + "] " + title
		if m.Count > 1 {
			s += fmt.Sprintf(" (x%d)", m.Count)
		}
		if a.Account != "" {
			s += " - " + a.Account
		}
	}
	s = strings.TrimSpace(asciiOnly(s))
	if s == "" {
		s = "trailwatch"
		if m != nil {
			s = "[" + m.Severity.String() + "] " + s
		}
	}
	return cutASCII(s, SNSMaxSubject)
}

func nonASCII(s string) int {
	n := 0
	for _, c := range s {
		if c < 0x20 || c > 0x7e {
			n++
		}
	}
	return n
}

// asciiOnly replaces every rune outside printable ASCII with '?'.
func asciiOnly(s string) string {
	return strings.Map(func(c rune) rune {
		if c < 0x20 || c > 0x7e {
			return '?'
		}
		return c
	}, s)
}

// cutASCII shortens ASCII text to max bytes with an ASCII "..." marker.
func cutASCII(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return strings.TrimSpace(s[:max-3]) + "..."
}

// limitValues shortens the shown values (facts, context, summary,
// annotation) to n runes each.
func (m *Message) limitValues(n int) {
	for i := range m.Alerts {
		a := &m.Alerts[i]
		a.Summary, a.Annotation = Truncate(a.Summary, n), Truncate(a.Annotation, n)
		for j := range a.Facts {
			a.Facts[j].Value = Truncate(a.Facts[j].Value, n)
		}
		for j := range a.Context {
			a.Context[j].Value = Truncate(a.Context[j].Value, n)
		}
	}
}
