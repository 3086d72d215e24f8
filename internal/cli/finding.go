package cli

import (
	"context"
	"strconv"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/finding"
	"github.com/trailwatch/trailwatch/internal/rule"
)

// statelessAlerts returns the alerts ev raises without state: the rules'
// alerts, or for a GuardDuty or Security Hub event its findings' alerts.
func statelessAlerts(ctx context.Context, set *rule.Set, ev *event.Event) ([]*event.Alert, error) {
	if ev.Kind().Finding() {
		return finding.New(finding.Options{}).Alerts(ctx, ev)
	}
	return set.Alerts(ctx, ev)
}

// eachAlert calls fn with each alert ev raises given the rules that match
// it (rule.Set.Matches): the rules' alerts, or for a GuardDuty or Security
// Hub event its findings' alerts. It stops when fn returns false.
func (c *checker) eachAlert(ctx context.Context, ev *event.Event, m rule.Matched, fn func(*event.Alert) bool) error {
	if !ev.Kind().Finding() {
		return c.set.EachOf(ctx, ev, m, fn)
	}
	if c.findings == nil {
		c.findings = finding.New(finding.Options{})
	}
	alerts, err := c.findings.Alerts(ctx, ev)
	for _, a := range alerts {
		if !fn(a) {
			break
		}
	}
	return err
}

// writeFinding is write for an alert about a finding: the finding's time
// (when it was last updated), type (or failed control), identity (or
// resource), remote address, account and region in the columns a
// CloudTrail event fills.
func (w *alertWriter) writeFinding(a *event.Alert) error {
	f := a.Finding
	if w.pending == 0 {
		w.oldest = w.now()
	}
	w.pending++
	if w.json {
		t := ""
		if !f.UpdatedAt.IsZero() {
			t = f.UpdatedAt.In(w.loc).Format(time.RFC3339)
		}
		w.buf = appendFindingJSON(w.buf[:0], a, t)
		if _, err := w.w.Write(w.buf); err != nil {
			return err
		}
	} else {
		t := ""
		if !f.UpdatedAt.IsZero() {
			t = f.UpdatedAt.In(w.loc).Format(timeLayout)
		}
		what, who := f.Type, f.Principal
		if f.Control != "" && f.Compliance != "" {
			what = f.Control // a failed check: its control says more than its type
		}
		if who == "" {
			who = f.ResourceID
		}
		w.table.row(t, a.Rule.Severity.String(), a.Rule.ID, what, who, f.RemoteIP, f.Account, f.Region, a.Summary)
	}
	if w.pending >= flushEvery {
		return w.block()
	}
	return nil
}

// appendFindingJSON appends one line of `trailwatch check --format json`
// for an alert about a finding: the rule fields of every line, then the
// finding's.
func appendFindingJSON(b []byte, a *event.Alert, t string) []byte {
	f := a.Finding
	o := a.Event.Origin()
	b = append(b, '{')
	b = jsonField(b, "rule", a.Rule.ID, true)
	b = jsonField(b, "title", a.Rule.Title, false)
	b = jsonField(b, "severity", a.Rule.Severity.String(), false)
	b = jsonField(b, "source", f.Source.String(), false)
	b = jsonField(b, "finding_id", f.ID, false)
	b = jsonField(b, "finding_type", f.Type, false)
	b = jsonOptional(b, "product", f.Product)
	b = jsonOptional(b, "product_severity", f.ProductSeverity)
	b = jsonField(b, "time", t, false)
	b = jsonField(b, "account", f.Account, false)
	b = jsonField(b, "region", f.Region, false)
	b = jsonOptional(b, "resource_type", f.ResourceType)
	b = jsonOptional(b, "resource_id", f.ResourceID)
	b = jsonOptional(b, "principal", f.Principal)
	b = jsonOptional(b, "source_ip", f.RemoteIP)
	if f.Count > 0 {
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(f.Count), 10)
	}
	b = jsonField(b, "summary", a.Summary, false)
	b = jsonOptional(b, "console_url", f.URL)
	b = jsonField(b, "input", o.Input, false)
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, int64(o.Index), 10)
	return append(b, '}', '\n')
}
