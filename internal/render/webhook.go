package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/event"
)

// WebhookVersion is the version of the webhook document. Fields may be added
// within a version; none is removed or changes meaning.
const WebhookVersion = "1"

// WebhookDoc is the JSON document the webhook receiver posts, SNS delivers to
// machine subscribers and stdout prints, one per group. Its JSON names are
// the stable schema; see TEMPLATES.md for an example.
type WebhookDoc struct {
	// Version is WebhookVersion.
	Version string `json:"version"`
	// Receiver and GroupKey identify the group; Labels are its group_by
	// labels.
	Receiver string            `json:"receiver"`
	GroupKey string            `json:"group_key"`
	Labels   map[string]string `json:"labels,omitempty"`
	// Repeat is true for a repeat notification of a group.
	Repeat bool `json:"repeat"`
	// Title is the readable headline, Severity the highest severity in the
	// group ("info" ... "critical"), Locale the headline's language.
	Title    string `json:"title"`
	Severity string `json:"severity"`
	Locale   string `json:"locale"`
	// Count is the number of alerts in the group; Alerts holds the first
	// few; Truncated is true when values were shortened to fit a size
	// limit (SNS only).
	Count     int            `json:"count"`
	Alerts    []WebhookAlert `json:"alerts"`
	Truncated bool           `json:"truncated,omitempty"`
	// RenderedAt is when the document was made, RFC 3339 in UTC.
	RenderedAt string `json:"rendered_at"`
}

// WebhookAlert is one alert of a WebhookDoc. Rule titles, descriptions
// and summaries are in the document's locale (English when a rule has no
// text in it).
type WebhookAlert struct {
	Rule       WebhookRule       `json:"rule"`
	Severity   string            `json:"severity"`
	Summary    string            `json:"summary,omitempty"`
	Annotation string            `json:"annotation,omitempty"`
	Context    map[string]string `json:"context,omitempty"`
	ConsoleURL string            `json:"console_url,omitempty"`
	// Also lists the other rules that fired on the same event, sent in
	// this one message, most important first.
	Also  []WebhookAlso `json:"also,omitempty"`
	Event WebhookEvent  `json:"event"`
	// Finding is set on an alert about a GuardDuty or Security Hub
	// finding; Event then holds the finding's id (id), type (name),
	// product (source), account, region, remote address and the time it
	// was updated, and Raw the finding's own JSON.
	Finding *WebhookFinding `json:"finding,omitempty"`
	// Raw is the CloudTrail record exactly as read (left out only when an
	// SNS message would otherwise be too large).
	Raw json.RawMessage `json:"raw,omitempty"`
}

// WebhookRule is what an alert carries of its rule.
type WebhookRule struct {
	ID          string   `json:"id"`
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Refs        []string `json:"refs,omitempty"`
}

// WebhookAlso is another rule folded into an alert's message.
type WebhookAlso struct {
	Rule       WebhookRule `json:"rule"`
	Severity   string      `json:"severity"`
	Summary    string      `json:"summary,omitempty"`
	Annotation string      `json:"annotation,omitempty"`
}

// WebhookEvent holds the event facts trailwatch reads; every string is
// CloudTrail's text, unescaped.
type WebhookEvent struct {
	ID          string `json:"id,omitempty"`
	Time        string `json:"time,omitempty"` // RFC 3339, UTC, as CloudTrail wrote it
	Name        string `json:"name,omitempty"`
	Source      string `json:"source,omitempty"`
	Type        string `json:"type,omitempty"`
	Account     string `json:"account,omitempty"`
	AccountName string `json:"account_name,omitempty"`
	Region      string `json:"region,omitempty"`
	SourceIP    string `json:"source_ip,omitempty"`
	UserAgent   string `json:"user_agent,omitempty"`
	// Principal is who made the call.
	Principal WebhookPrincipal `json:"principal"`
	// MFAUsed is true or false, or null when the event does not say.
	MFAUsed *bool `json:"mfa_used"`
	// LoginResult is "Success" or "Failure" for sign-in events.
	LoginResult  string `json:"login_result,omitempty"`
	ErrorCode    string `json:"error_code,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
	// ReadOnly is the event's readOnly, or null when it does not say.
	ReadOnly *bool `json:"read_only"`
}

// WebhookPrincipal is userIdentity, read.
type WebhookPrincipal struct {
	Type        string `json:"type"`
	Name        string `json:"name,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"account_id,omitempty"`
	SessionName string `json:"session_name,omitempty"`
}

// webhookDoc builds the document. valueRunes > 0 shortens every event string
// to that many runes; raw false leaves the raw records out.
func (r *Renderer) webhookDoc(kind, receiver string, g *Group, maxAlerts, valueRunes int, raw bool) (*WebhookDoc, error) {
	m, err := r.prepare(kind, receiver, g, maxAlerts)
	if err != nil {
		return nil, err
	}
	cut := func(s string) string {
		if valueRunes > 0 {
			return Truncate(s, valueRunes)
		}
		return s
	}
	d := &WebhookDoc{
		Version:    WebhookVersion,
		Receiver:   receiver,
		GroupKey:   g.Key,
		Labels:     g.Labels,
		Repeat:     g.Repeat,
		Title:      m.Title,
		Severity:   m.Severity.String(),
		Locale:     m.Locale,
		Count:      m.Count,
		Truncated:  valueRunes > 0 || !raw,
		RenderedAt: r.now().UTC().Format(time.RFC3339),
		Alerts:     make([]WebhookAlert, 0, len(m.Alerts)),
	}
	for i := range m.Alerts {
		v := &m.Alerts[i]
		a := v.Alert
		e := a.Event
		p := e.Principal()
		wa := WebhookAlert{
			Rule:       webhookRule(a.Rule, m.Locale),
			Severity:   a.Rule.Severity.String(),
			Summary:    cut(a.SummaryIn(m.Locale)),
			Annotation: cut(a.AnnotationIn(m.Locale)),
			ConsoleURL: v.ConsoleURL,
			Event: WebhookEvent{
				ID:          cut(e.ID()),
				Time:        cut(e.Str("eventTime")),
				Name:        cut(e.Name()),
				Source:      cut(e.Source()),
				Type:        cut(e.Type()),
				Account:     cut(e.Account()),
				AccountName: v.AccountName,
				Region:      cut(e.Region()),
				SourceIP:    cut(e.SourceIP()),
				UserAgent:   cut(e.UserAgent()),
				Principal: WebhookPrincipal{
					Type: cut(p.Type), Name: cut(p.Name), ARN: cut(p.ARN),
					AccountID: cut(p.AccountID), SessionName: cut(p.SessionName),
				},
				LoginResult:  v.LoginResultRaw,
				ErrorCode:    cut(e.ErrorCode()),
				ErrorMessage: cut(e.ErrorMessage()),
			},
		}
		if a.Finding != nil {
			wa.Event, wa.Finding = webhookFinding(a.Finding, v, cut)
		}
		for _, o := range a.Also {
			wa.Also = append(wa.Also, WebhookAlso{
				Rule:       webhookRule(o.Rule, m.Locale),
				Severity:   o.Rule.Severity.String(),
				Summary:    cut(o.SummaryIn(m.Locale)),
				Annotation: cut(o.AnnotationIn(m.Locale)),
			})
		}
		if len(a.Context) > 0 {
			wa.Context = make(map[string]string, len(a.Context))
			for k, val := range a.Context {
				wa.Context[cut(k)] = cut(val)
			}
		}
		if v.MFAKnown {
			used := v.MFAUsed
			wa.Event.MFAUsed = &used
		}
		if ro, ok := e.ReadOnly(); ok {
			wa.Event.ReadOnly = &ro
		}
		if raw {
			b := e.Raw()
			if !utf8.Valid(b) {
				// Keep the document valid UTF-8; bad bytes can only sit
				// inside JSON strings, where U+FFFD is harmless.
				b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
			}
			wa.Raw = json.RawMessage(b)
		}
		d.Alerts = append(d.Alerts, wa)
	}
	return d, nil
}

// WebhookFinding is what an alert carries of a GuardDuty or Security Hub
// finding; every string is the product's text, unescaped.
type WebhookFinding struct {
	Source          string `json:"source"` // "guardduty" or "securityhub"
	ID              string `json:"id"`
	ARN             string `json:"arn,omitempty"`
	Type            string `json:"type,omitempty"`
	Title           string `json:"title,omitempty"`
	Description     string `json:"description,omitempty"`
	ProductSeverity string `json:"product_severity,omitempty"`
	Product         string `json:"product,omitempty"`
	Generator       string `json:"generator,omitempty"`
	Control         string `json:"control,omitempty"`
	Compliance      string `json:"compliance,omitempty"`
	Workflow        string `json:"workflow,omitempty"`
	ResourceType    string `json:"resource_type,omitempty"`
	ResourceID      string `json:"resource_id,omitempty"`
	MoreResources   int    `json:"more_resources,omitempty"`
	Principal       string `json:"principal,omitempty"`
	RemoteIP        string `json:"remote_ip,omitempty"`
	Count           int    `json:"count,omitempty"`
	// Times are RFC 3339, UTC.
	FirstSeen   string `json:"first_seen,omitempty"`
	LastSeen    string `json:"last_seen,omitempty"`
	CreatedAt   string `json:"created_at,omitempty"`
	UpdatedAt   string `json:"updated_at,omitempty"`
	Remediation string `json:"remediation,omitempty"`
	Sample      bool   `json:"sample,omitempty"`
}

// webhookFinding returns the event facts and the finding object of an
// alert about f; cut shortens each text when the document must shrink.
func webhookFinding(f *event.Finding, v *AlertView, cut func(string) string) (WebhookEvent, *WebhookFinding) {
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	ev := WebhookEvent{
		ID: cut(f.ID), Time: at(f.UpdatedAt), Name: cut(v.EventName), Source: cut(f.Product),
		Account: cut(f.Account), AccountName: v.AccountName, Region: cut(f.Region), SourceIP: cut(f.RemoteIP),
		Principal: WebhookPrincipal{Name: cut(f.Principal)},
	}
	return ev, &WebhookFinding{
		Source: f.Source.String(), ID: cut(f.ID), ARN: cut(f.ARN), Type: cut(f.Type), Title: cut(f.Title),
		Description: cut(f.Description), ProductSeverity: cut(f.ProductSeverity), Product: cut(f.Product),
		Generator: cut(f.Generator), Control: cut(f.Control), Compliance: cut(f.Compliance), Workflow: cut(f.Workflow),
		ResourceType: cut(f.ResourceType), ResourceID: cut(f.ResourceID), MoreResources: f.MoreResources,
		Principal: cut(f.Principal), RemoteIP: cut(f.RemoteIP), Count: f.Count,
		FirstSeen: at(f.FirstSeen), LastSeen: at(f.LastSeen), CreatedAt: at(f.CreatedAt), UpdatedAt: at(f.UpdatedAt),
		Remediation: cut(f.Remediation), Sample: f.Sample,
	}
}

func webhookRule(r event.RuleInfo, locale string) WebhookRule {
	return WebhookRule{
		ID: r.ID, Title: r.TitleIn(locale), Description: r.DescriptionIn(locale),
		Tags: r.Tags, Refs: r.Refs,
	}
}

// WebhookMaxBytes bounds a webhook body (and a stdout line). A larger
// document is shortened as an SNS message is: raw records left out, then
// values cut, then fewer alerts.
const WebhookMaxBytes = 1 << 20

func (r *Renderer) renderWebhook(receiver string, g *Group) (*Payload, error) {
	d, b, err := r.fitDoc(KindWebhook, receiver, g, WebhookMaxBytes)
	if err != nil {
		return nil, err
	}
	return &Payload{Body: b, ContentType: "application/json; charset=utf-8", Text: d.Title}, nil
}

// fitDoc returns the webhook document for g and its JSON, shortened step by
// step until the JSON is at most max bytes.
func (r *Renderer) fitDoc(kind, receiver string, g *Group, max int) (*WebhookDoc, []byte, error) {
	rawSize := 0
	for i, a := range g.Alerts {
		if i < r.maxAlerts {
			rawSize += len(a.Event.Raw())
		}
	}
	last := 0
	for i, step := range shrinkSteps() {
		if i == 0 && rawSize > max {
			continue
		}
		alerts := r.maxAlerts
		if step.alerts > 0 && step.alerts < alerts {
			alerts = step.alerts
		}
		valueRunes := 0 // the first step keeps exact values
		if i > 0 {
			valueRunes = step.value
		}
		d, err := r.webhookDoc(kind, receiver, g, alerts, valueRunes, i == 0)
		if err != nil {
			return nil, nil, err
		}
		b, err := json.Marshal(d)
		if err != nil {
			return nil, nil, fmt.Errorf("encode webhook document: %w", err)
		}
		if len(b) <= max {
			return d, b, nil
		}
		last = len(b)
	}
	return nil, nil, fmt.Errorf("webhook document is %d bytes even when shortened, over the %d byte limit; shorten the title template", last, max)
}
