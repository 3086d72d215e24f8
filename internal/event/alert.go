package event

import (
	"fmt"
	"strings"
)

// Severity orders how urgent an alert is.
type Severity int

// Severities from least to most urgent. The zero value is SeverityInfo.
const (
	SeverityInfo Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

// String returns the lower-case name: "info" ... "critical".
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name, case-insensitively.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want one of info, low, medium, high, critical)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// RuleInfo is what an alert carries of the rule or detector that raised it.
type RuleInfo struct {
	ID          string
	Title       string
	Severity    Severity
	Description string
	Tags        []string
	Refs        []string
	// Locales holds the rule's title and description in other languages,
	// keyed by locale ("ja"); Title and Description are the English text.
	Locales map[string]LocalText
}

// LocalText is a rule's or detector's text in one locale. Empty fields fall
// back to the English text.
type LocalText struct {
	Title       string
	Description string
}

// TitleIn returns the rule's title in locale, or the English title when
// the rule has none in that locale.
func (r RuleInfo) TitleIn(locale string) string {
	if t := r.Locales[locale].Title; t != "" {
		return t
	}
	return r.Title
}

// DescriptionIn returns the rule's description in locale, or the English
// description when the rule has none in that locale.
func (r RuleInfo) DescriptionIn(locale string) string {
	if d := r.Locales[locale].Description; d != "" {
		return d
	}
	return r.Description
}

// Alert is one rule firing on one event.
type Alert struct {
	Rule RuleInfo
	// Event is the event that fired the rule; it is a clone and may be kept.
	Event *Event
	// Summary is the rule's summary template rendered on the event.
	Summary string
	// Annotation is a jq rule's non-boolean result as compact JSON, or text
	// a detector adds ("6 failures in 5m0s").
	Annotation string
	// Context holds extra facts detectors add, such as "location" or "asn".
	Context map[string]string
	// Summaries holds the summary rendered in other locales, keyed by
	// locale ("ja"), for rules that carry a summary in that locale.
	Summaries map[string]string
	// Also holds the alerts other rules raised on the same event when they
	// are sent as one message with this one (see internal/fold): this
	// alert's rule is the message's primary, the others follow in order.
	// Nil for an alert sent on its own.
	Also []*Alert
	// Finding is set on an alert about a GuardDuty or Security Hub
	// finding (see internal/finding); Event is then the finding's own
	// record. Nil for alerts about CloudTrail events.
	Finding *Finding
}

// SummaryIn returns the alert's summary in locale, or the English summary
// when the rule has none in that locale.
func (a *Alert) SummaryIn(locale string) string {
	if s, ok := a.Summaries[locale]; ok && s != "" {
		return s
	}
	return a.Summary
}

// Key identifies the alert for idempotent delivery: the event id and the rule
// id. An event without an id falls back to a hash of its bytes. An alert
// about a finding is keyed by the finding (Finding.Key).
func (a *Alert) Key() string {
	if a.Finding != nil {
		return a.Finding.Key()
	}
	id := a.Event.ID()
	if id == "" {
		id = "sha256:" + rawHash(a.Event.Raw())
	}
	return id + "|" + a.Rule.ID
}

// RulePrefix starts the per-rule labels of a folded alert (one whose Also
// is set): the message about rules a and b carries "rule:a" and "rule:b"
// with the value "true", beside "rule", which names the primary.
const RulePrefix = "rule:"

// Labels returns the labels routes and silences match on. An alert with
// Also set carries rule:<id> for every rule of the message and the tags of
// all of them. An alert about a finding carries the finding's labels
// instead of the event's: source, finding_type, finding_id, product,
// resource_type, resource_id and, where the finding has them, principal,
// source_ip, generator, control, compliance and sample.
func (a *Alert) Labels() map[string]string {
	if a.Finding != nil {
		return a.Finding.labels(a.Rule)
	}
	e := a.Event
	p := e.Principal()
	l := map[string]string{
		"rule":           a.Rule.ID,
		"severity":       a.Rule.Severity.String(),
		"account":        e.Account(),
		"region":         e.Region(),
		"principal":      p.String(),
		"principal_type": p.Type,
		"principal_arn":  p.ARN,
		"event_name":     e.Name(),
		"event_source":   e.Source(),
		"source_ip":      e.SourceIP(),
	}
	for _, t := range a.Rule.Tags {
		l["tag:"+t] = "true"
	}
	if len(a.Also) > 0 {
		l[RulePrefix+a.Rule.ID] = "true"
		for _, o := range a.Also {
			l[RulePrefix+o.Rule.ID] = "true"
			for _, t := range o.Rule.Tags {
				l["tag:"+t] = "true"
			}
		}
	}
	return l
}
