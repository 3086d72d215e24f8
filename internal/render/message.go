package render

import (
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
)

// Message is the neutral form of one group: everything any receiver shows,
// localised, with times in the configured zone, before any escaping. It is
// the dot of user templates (see TEMPLATES.md).
type Message struct {
	// Locale is "en" or "ja"; Words holds that locale's fixed text.
	Locale string
	Words  *Words
	// Receiver and GroupKey identify the group; Labels are its group_by
	// labels; Repeat is set for a repeat notification.
	Receiver, GroupKey string
	Labels             map[string]string
	Repeat             bool
	// Title is the headline: "[CRITICAL] Root user signed in to the
	// console", with the alert count for a group of more than one.
	Title string
	// Severity is the highest severity in the group; SeverityName its
	// localised name; Colour its hex colour ("#D00000").
	Severity     event.Severity
	SeverityName string
	Colour       string
	// Mention is the Slack mention for this message ("" for none).
	Mention string
	// Count is the number of alerts in the group, Shown how many Alerts
	// holds, More = Count - Shown, and MoreText says so ("and 295 more").
	Count, Shown, More int
	MoreText           string
	// Time and EndTime are the earliest and latest event times among the
	// shown alerts, in the configured zone; TimeText is Time formatted.
	Time, EndTime time.Time
	TimeText      string
	// Alerts are the shown alerts, in group order.
	Alerts []AlertView
	// Raw is set only on the escaped copy user templates see in markup
	// fields: it is the same message before escaping.
	Raw *Message
}

// AlertView is one alert as the reader sees it.
type AlertView struct {
	// RuleID, RuleTitle and RuleDescription come from the rule; Tags are its
	// tags.
	RuleID, RuleTitle, RuleDescription string
	Tags                               []string
	// Severity and its localised name.
	Severity     event.Severity
	SeverityName string
	// Time is the event time in the configured zone; TimeText is it
	// formatted ("2026-11-23 10:15:00 JST", or the locale's "unknown").
	Time     time.Time
	TimeText string
	// Event facts, as CloudTrail wrote them (untrusted text). Every text
	// value of an AlertView is cut at 4000 characters; the webhook document
	// and .Alert keep the whole value.
	EventID, EventName, EventSource, EventType string
	// Account is the account id, AccountName its configured alias, and
	// AccountText both ("111122223333 (prod)").
	Account, AccountName, AccountText string
	Region                            string
	// Principal is the short name ("root", "alice", "Role/Session"),
	// PrincipalType the userIdentity type and PrincipalARN its ARN.
	Principal, PrincipalType, PrincipalARN string
	SourceIP, UserAgent                    string
	// RequestParameters is requestParameters as compact JSON ("" when
	// null or missing).
	RequestParameters string
	// MFA is the localised "used", "not used" or "unknown"; MFAUsed and
	// MFAKnown are the facts behind it.
	MFA               string
	MFAUsed, MFAKnown bool
	// LoginResult is the localised sign-in result ("" when the event is not
	// a sign-in); LoginResultRaw is CloudTrail's "Success" or "Failure".
	LoginResult, LoginResultRaw string
	ErrorCode, ErrorMessage     string
	// ConsoleURL links to the event in the CloudTrail console, or to a
	// finding in its service's console ("" if none); ConsoleText is the
	// link's label in the message's locale.
	ConsoleURL, ConsoleText string
	// Summary is the rule's rendered summary and Annotation the jq result
	// or detector note; both embed untrusted text and have their control
	// characters made visible.
	Summary, Annotation string
	// Context holds detector facts ("location": "Tokyo, JP (AS2516)"),
	// sorted by key, with localised labels.
	Context []Fact
	// Also lists the other rules that fired on the same event and were
	// folded into this alert's message, in order of importance.
	Also []RuleRef
	// Facts are the labelled one-line facts shown in the message body, in
	// display order, with control characters made visible.
	Facts []Fact
	// Line is the alert on one line, for lists of a group's alerts: time,
	// event name, principal, source IP and error code, joined by " · ".
	Line string
	// Alert is the alert itself: .Alert.Event.Field "requestParameters.x"
	// reads any field. Text read through it is raw and unescaped.
	Alert *event.Alert
	// Finding is set on an alert about a GuardDuty or Security Hub
	// finding (see findingView for how its facts fill the fields above).
	Finding *event.Finding
}

// RuleRef is another rule folded into an alert's message.
type RuleRef struct {
	// ID is the rule id; Title its title in the message's locale.
	ID, Title string
	// Severity and its localised name.
	Severity     event.Severity
	SeverityName string
	// Summary and Annotation are the rule's own, on one line.
	Summary, Annotation string
}

// Fact is one labelled value.
type Fact struct {
	// Key is a stable name ("source_ip"); Label is localised.
	Key, Label, Value string
	// Long marks a value shown on its own rather than in a column (user
	// agent, error message).
	Long bool
}

// colour returns a severity's colour: info blue, low green, medium amber,
// high orange, critical red.
func colour(s event.Severity) string {
	switch s {
	case event.SeverityLow:
		return "#2EB886"
	case event.SeverityMedium:
		return "#DAA038"
	case event.SeverityHigh:
		return "#E8590C"
	case event.SeverityCritical:
		return "#D00000"
	}
	return "#439FE0"
}

// message builds the neutral Message for g, showing at most maxAlerts alerts.
func (r *Renderer) message(receiver string, g *Group, maxAlerts int) *Message {
	w := r.words
	shown := g.Alerts
	if len(shown) > maxAlerts {
		shown = shown[:maxAlerts]
	}
	count := g.Count
	if count < len(g.Alerts) {
		count = len(g.Alerts)
	}
	m := &Message{
		Locale:   w.Locale,
		Words:    w,
		Receiver: receiver,
		GroupKey: g.Key,
		Labels:   g.Labels,
		Repeat:   g.Repeat,
		Count:    count,
		Shown:    len(shown),
		More:     count - len(shown),
	}
	if m.More > 0 {
		m.MoreText = w.more(m.More)
	}
	failedLogin := false
	for i, a := range shown {
		v := r.alertView(a)
		m.Alerts = append(m.Alerts, v)
		if i == 0 || a.Rule.Severity > m.Severity {
			m.Severity = a.Rule.Severity
		}
		if t := v.Time; !t.IsZero() {
			if m.Time.IsZero() || t.Before(m.Time) {
				m.Time = t
			}
			if t.After(m.EndTime) {
				m.EndTime = t
			}
		}
		if v.LoginResultRaw == event.LoginFailure {
			failedLogin = true
		}
	}
	m.SeverityName = w.severity(m.Severity)
	m.Colour = colour(m.Severity)
	m.TimeText = r.timeText(m.Time)
	m.Mention = r.mentions.BySeverity[m.Severity]
	if m.Mention == "" && failedLogin {
		m.Mention = r.mentions.FailedLogin
	}
	title := m.Alerts[0].RuleTitle
	if title == "" {
		title = m.Alerts[0].RuleID
	}
	if title == "" {
		title = m.Alerts[0].EventName
	}
	m.Title = w.title(m.SeverityName, oneLine(title))
	if count > 1 {
		m.Title += " (" + w.alerts(count) + ")"
	}
	if m.Repeat {
		m.Title += " (" + w.Repeat + ")"
	}
	return m
}

func (r *Renderer) timeText(t time.Time) string {
	if t.IsZero() {
		return r.words.Unknown
	}
	return t.In(r.loc).Format(r.words.TimeLayout)
}

// maxViewRunes caps every text value of an AlertView. No receiver shows more
// of one value, and the cap keeps a 100 KB user agent from being copied and
// scanned again by every step of rendering.
const maxViewRunes = 4000

func (r *Renderer) alertView(a *event.Alert) AlertView {
	if a.Finding != nil {
		return r.findingView(a)
	}
	w := r.words
	e := a.Event
	p := e.Principal()
	c := func(s string) string { return Truncate(s, maxViewRunes) }
	v := AlertView{
		RuleID:            a.Rule.ID,
		RuleTitle:         a.Rule.TitleIn(w.Locale),
		RuleDescription:   a.Rule.DescriptionIn(w.Locale),
		Tags:              a.Rule.Tags,
		Severity:          a.Rule.Severity,
		SeverityName:      w.severity(a.Rule.Severity),
		EventID:           c(e.ID()),
		EventName:         c(e.Name()),
		EventSource:       c(e.Source()),
		EventType:         c(e.Type()),
		Account:           c(e.Account()),
		Region:            c(e.Region()),
		Principal:         c(p.String()),
		PrincipalType:     c(p.Type),
		PrincipalARN:      c(p.ARN),
		SourceIP:          c(e.SourceIP()),
		UserAgent:         c(e.UserAgent()),
		RequestParameters: c(e.Field("requestParameters")),
		LoginResultRaw:    e.LoginResult(),
		ErrorCode:         c(e.ErrorCode()),
		ErrorMessage:      c(e.ErrorMessage()),
		ConsoleURL:        e.ConsoleURL(),
		ConsoleText:       w.OpenConsole,
		Summary:           oneLine(c(a.SummaryIn(w.Locale))),
		Annotation:        oneLine(c(a.AnnotationIn(w.Locale))),
		Alert:             a,
	}
	if t := e.Time(); !t.IsZero() {
		v.Time = t.In(r.loc)
	}
	v.TimeText = r.timeText(v.Time)
	v.AccountName = r.accounts[v.Account]
	v.AccountText = v.Account
	if v.AccountName != "" {
		v.AccountText += " (" + v.AccountName + ")"
	}
	v.MFAUsed, v.MFAKnown = e.MFAUsed()
	switch {
	case !v.MFAKnown:
		v.MFA = w.MFAUnknown
	case v.MFAUsed:
		v.MFA = w.MFAUsed
	default:
		v.MFA = w.MFANotUsed
	}
	switch v.LoginResultRaw {
	case event.LoginSuccess:
		v.LoginResult = w.LoginSuccess
	case event.LoginFailure:
		v.LoginResult = w.LoginFailure
	}
	for _, k := range sortedKeys(a.Context) {
		v.Context = append(v.Context, Fact{Key: k, Label: oneLine(c(w.contextLabel(k))), Value: oneLine(c(w.contextValue(k, a.Context[k])))})
	}
	for _, o := range a.Also {
		ref := RuleRef{
			ID:           c(o.Rule.ID),
			Title:        oneLine(c(o.Rule.TitleIn(w.Locale))),
			Severity:     o.Rule.Severity,
			SeverityName: w.severity(o.Rule.Severity),
			Summary:      oneLine(c(o.SummaryIn(w.Locale))),
			Annotation:   oneLine(c(o.AnnotationIn(w.Locale))),
		}
		if ref.Title == "" {
			ref.Title = ref.ID
		}
		v.Also = append(v.Also, ref)
	}
	v.Facts = r.facts(&v, e.IsSignIn())
	parts := []string{v.TimeText}
	for _, s := range []string{v.EventName, v.Principal, v.SourceIP, v.ErrorCode} {
		if s != "" {
			parts = append(parts, oneLine(s))
		}
	}
	v.Line = strings.Join(parts, " · ")
	return v
}

// facts lists what the body shows, in order, leaving out what the event
// does not say.
func (r *Renderer) facts(v *AlertView, signIn bool) []Fact {
	w := r.words
	var fs []Fact
	add := func(key, label, value string, long bool) {
		if value != "" {
			fs = append(fs, Fact{Key: key, Label: label, Value: oneLine(value), Long: long})
		}
	}
	name := v.EventName
	if v.EventSource != "" {
		name += " (" + v.EventSource + ")"
	}
	add("event", w.Event, strings.TrimSpace(name), false)
	add("account", w.Account, v.AccountText, false)
	add("time", w.Time, v.TimeText, false)
	add("region", w.Region, v.Region, false)
	principal := v.Principal
	if v.PrincipalType != "" && v.PrincipalType != v.Principal {
		principal += " (" + v.PrincipalType + ")"
	}
	add("principal", w.Principal, principal, false)
	add("source_ip", w.SourceIP, v.SourceIP, false)
	if signIn || v.MFAKnown {
		add("mfa", w.MFA, v.MFA, false)
	}
	add("login_result", w.LoginResult, v.LoginResult, false)
	add("rule", w.Rule, v.RuleID, false)
	if len(v.Also) > 0 {
		add("also", w.AlsoMatched, alsoText(w, v.Also), true)
	}
	errText := v.ErrorCode
	if v.ErrorMessage != "" {
		if errText != "" {
			errText += ": "
		}
		errText += v.ErrorMessage
	}
	add("error", w.Error, errText, true)
	add("user_agent", w.UserAgent, v.UserAgent, true)
	add("request", w.Request, v.RequestParameters, true)
	return fs
}

// alsoText lists folded rules on one line: "[HIGH] Root user activity
// (root-activity) · [LOW] ... (cis-cloudwatch-1): annotation".
func alsoText(w *Words, refs []RuleRef) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		p := w.title(r.SeverityName, r.Title)
		if r.Title != r.ID {
			p += " (" + r.ID + ")"
		}
		if r.Annotation != "" {
			p += ": " + r.Annotation
		}
		parts[i] = p
	}
	return strings.Join(parts, " · ")
}

// mapText returns a copy of m with every text value passed through f: the
// escaped view user templates get for markup fields. m itself is kept as
// the copy's Raw.
func (m *Message) mapText(f func(string) string) *Message {
	c := *m
	c.Raw = m
	c.Title, c.SeverityName, c.MoreText = f(m.Title), f(m.SeverityName), f(m.MoreText)
	c.Receiver, c.GroupKey, c.TimeText = f(m.Receiver), f(m.GroupKey), f(m.TimeText)
	if m.Labels != nil {
		c.Labels = make(map[string]string, len(m.Labels))
		for k, v := range m.Labels {
			c.Labels[f(k)] = f(v)
		}
	}
	c.Alerts = make([]AlertView, len(m.Alerts))
	for i, a := range m.Alerts {
		a.RuleID, a.RuleTitle, a.RuleDescription = f(a.RuleID), f(a.RuleTitle), f(a.RuleDescription)
		tags := make([]string, len(a.Tags))
		for j, t := range a.Tags {
			tags[j] = f(t)
		}
		a.Tags = tags
		a.SeverityName, a.TimeText = f(a.SeverityName), f(a.TimeText)
		a.EventID, a.EventName, a.EventSource, a.EventType = f(a.EventID), f(a.EventName), f(a.EventSource), f(a.EventType)
		a.Account, a.AccountName, a.AccountText, a.Region = f(a.Account), f(a.AccountName), f(a.AccountText), f(a.Region)
		a.Principal, a.PrincipalType, a.PrincipalARN = f(a.Principal), f(a.PrincipalType), f(a.PrincipalARN)
		a.SourceIP, a.UserAgent, a.MFA = f(a.SourceIP), f(a.UserAgent), f(a.MFA)
		a.RequestParameters = f(a.RequestParameters)
		a.LoginResult, a.LoginResultRaw = f(a.LoginResult), f(a.LoginResultRaw)
		a.ErrorCode, a.ErrorMessage, a.ConsoleURL = f(a.ErrorCode), f(a.ErrorMessage), f(a.ConsoleURL)
		a.ConsoleText = f(a.ConsoleText)
		a.Summary, a.Annotation, a.Line = f(a.Summary), f(a.Annotation), f(a.Line)
		a.Context = mapFacts(a.Context, f)
		a.Facts = mapFacts(a.Facts, f)
		if a.Also != nil {
			also := make([]RuleRef, len(a.Also))
			for j, r := range a.Also {
				r.ID, r.Title, r.SeverityName = f(r.ID), f(r.Title), f(r.SeverityName)
				r.Summary, r.Annotation = f(r.Summary), f(r.Annotation)
				also[j] = r
			}
			a.Also = also
		}
		c.Alerts[i] = a
	}
	return &c
}

func mapFacts(fs []Fact, f func(string) string) []Fact {
	out := make([]Fact, len(fs))
	for i, x := range fs {
		out[i] = Fact{Key: x.Key, Label: f(x.Label), Value: f(x.Value), Long: x.Long}
	}
	return out
}
