package render

import (
	"strconv"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
)

// findingView is alertView for an alert about a GuardDuty or Security Hub
// finding. The fields a CloudTrail event fills carry the finding's
// nearest facts, so lists of alerts and user templates read them the same
// way: EventID is the finding id, EventName its type (or the control of a
// failed check), EventSource the product, Principal the IAM identity it
// names, SourceIP the remote address it saw, Time when it was last
// updated, and ConsoleURL its page in the service's console. Facts list
// the finding's own: its title, type, resource, count and times, and its
// description and remediation as the product wrote them.
func (r *Renderer) findingView(a *event.Alert) AlertView {
	w := r.words
	f := a.Finding
	c := func(s string) string { return Truncate(s, maxViewRunes) }
	name := f.Type
	if f.Control != "" && f.Compliance != "" {
		name = f.Control
	}
	v := AlertView{
		RuleID:          a.Rule.ID,
		RuleTitle:       a.Rule.TitleIn(w.Locale),
		RuleDescription: a.Rule.DescriptionIn(w.Locale),
		Tags:            a.Rule.Tags,
		Severity:        a.Rule.Severity,
		SeverityName:    w.severity(a.Rule.Severity),
		EventID:         c(f.ID),
		EventName:       c(name),
		EventSource:     c(f.Product),
		Account:         c(f.Account),
		Region:          c(f.Region),
		Principal:       c(f.Principal),
		SourceIP:        c(f.RemoteIP),
		ConsoleURL:      f.URL,
		ConsoleText:     w.OpenSecurityHub,
		Summary:         oneLine(c(a.SummaryIn(w.Locale))),
		Annotation:      oneLine(c(a.Annotation)),
		Alert:           a,
		Finding:         f,
	}
	if f.Source == event.KindGuardDuty {
		v.ConsoleText = w.OpenGuardDuty
	}
	for _, t := range []time.Time{f.UpdatedAt, f.LastSeen, f.CreatedAt} {
		if !t.IsZero() {
			v.Time = t.In(r.loc)
			break
		}
	}
	v.TimeText = r.timeText(v.Time)
	v.AccountName = r.accounts[v.Account]
	v.AccountText = v.Account
	if v.AccountName != "" {
		v.AccountText += " (" + v.AccountName + ")"
	}
	for _, k := range sortedKeys(a.Context) {
		v.Context = append(v.Context, Fact{Key: k, Label: oneLine(c(w.contextLabel(k))), Value: oneLine(c(w.contextValue(k, a.Context[k])))})
	}
	v.Facts = r.findingFacts(&v, f)
	parts := []string{v.TimeText}
	for _, s := range []string{v.EventName, resourceText(w, f), v.SourceIP} {
		if s != "" {
			parts = append(parts, oneLine(c(s)))
		}
	}
	v.Line = strings.Join(parts, " · ")
	return v
}

// findingFacts lists what the body shows about a finding, in order,
// leaving out what the finding does not say.
func (r *Renderer) findingFacts(v *AlertView, f *event.Finding) []Fact {
	w := r.words
	c := func(s string) string { return Truncate(s, maxViewRunes) }
	var fs []Fact
	add := func(key, label, value string, long bool) {
		if value != "" {
			fs = append(fs, Fact{Key: key, Label: label, Value: oneLine(c(value)), Long: long})
		}
	}
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return r.timeText(t)
	}
	add("finding", w.FindingTitle, f.Title, true)
	add("finding_type", w.FindingType, f.Type, false)
	add("control", w.Control, f.Control, false)
	add("compliance", w.Compliance, f.Compliance, false)
	add("resource", w.Resource, resourceText(w, f), false)
	add("principal", w.Principal, v.Principal, false)
	add("source_ip", w.SourceIP, v.SourceIP, false)
	add("account", w.Account, v.AccountText, false)
	add("region", w.Region, v.Region, false)
	if f.Count > 0 {
		add("count", w.Count, strconv.Itoa(f.Count), false)
	}
	add("first_seen", w.FirstSeen, at(f.FirstSeen), false)
	add("last_seen", w.LastSeen, at(f.LastSeen), false)
	add("product_severity", w.ProductSeverity, f.ProductSeverity, false)
	if f.Source != event.KindGuardDuty {
		// GuardDuty's findings are its own; Security Hub's come from
		// many products.
		add("product", w.Product, f.Product, false)
	}
	add("workflow", w.Workflow, f.Workflow, false)
	add("time", w.Updated, at(f.UpdatedAt), false)
	add("rule", w.Rule, v.RuleID, false)
	add("description", w.FindingDescription, f.Description, true)
	add("remediation", w.Remediation, f.Remediation, true)
	return fs
}

// resourceText names a finding's resource: "AccessKey alice", and how many
// others it lists.
func resourceText(w *Words, f *event.Finding) string {
	s := strings.TrimSpace(f.ResourceType + " " + f.ResourceID)
	if s != "" && f.MoreResources > 0 {
		s += " (" + w.moreResources(f.MoreResources) + ")"
	}
	return s
}
