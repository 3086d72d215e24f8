package route

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/state"
)

// rootFailureAlerts returns what several rules raise on one event: a
// high and a medium rule, a low rule and a CIS-style low rule.
func rootFailureAlerts(ev *event.Event) []*event.Alert {
	mk := func(id string, sev event.Severity, tags ...string) *event.Alert {
		return &event.Alert{Rule: event.RuleInfo{ID: id, Title: id, Severity: sev, Tags: tags}, Event: ev.Clone()}
	}
	return []*event.Alert{
		mk("cis-cloudwatch-1", event.SeverityLow, "cis-1.7"),
		mk("root-activity", event.SeverityHigh),
		mk("root-console-login", event.SeverityCritical, "mitre-T1078.004"),
		mk("console-login-without-mfa", event.SeverityMedium),
	}
}

func ruleIDs(alerts []*event.Alert) []string {
	var out []string
	for _, a := range alerts {
		out = append(out, a.Rule.ID)
	}
	return out
}

const foldConfig = `
receivers:
  - {name: slack, stdout: {}}
  - {name: compliance, stdout: {}}
route:
  receiver: slack
  group_by: [rule, account]
  routes:
    - matchers: ["tag =~ cis-.*"]
      receiver: compliance
      messages: per_rule
      continue: true
`

func TestDispatchFoldsOneEvent(t *testing.T) {
	tr := newTree(t, foldConfig)
	clk := &clock{now: t0}
	rec := &recorder{}
	d := newDispatcher(t, tr, state.NewMemory(clk.Now), clk, rec)
	alerts := rootFailureAlerts(events(t, "root-console-login.json", 1)[0])
	res, err := d.Dispatch(context.Background(), alerts)
	if err != nil {
		t.Fatal(err)
	}
	// Every (rule, receiver) is counted as before: three rules to slack,
	// the CIS one to compliance (a matching child route is the
	// destination, not the root).
	if res != (Result{Alerts: 4, Sent: 4, Groups: 2}) {
		t.Errorf("result %+v", res)
	}
	sent := rec.sent()
	if len(sent) != 2 {
		t.Fatalf("sent %d messages, want one to slack and one to compliance", len(sent))
	}
	byReceiver := map[string]*render.Group{}
	for _, g := range sent {
		byReceiver[g.Receiver] = g
	}
	g := byReceiver["slack"]
	if g == nil || len(g.Alerts) != 1 || g.Count != 1 {
		t.Fatalf("slack group %+v", g)
	}
	m := g.Alerts[0]
	if m.Rule.ID != "root-console-login" || !slices.Equal(ruleIDs(m.Also), []string{"root-activity", "console-login-without-mfa"}) {
		t.Errorf("folded %s also %v", m.Rule.ID, ruleIDs(m.Also))
	}
	// group_by reads the folded alert: the primary's rule.
	if !strings.Contains(g.Key, "rule=root-console-login") {
		t.Errorf("group key %s", g.Key)
	}
	if c := byReceiver["compliance"]; c == nil || len(c.Alerts) != 1 || c.Alerts[0].Rule.ID != "cis-cloudwatch-1" || c.Alerts[0].Also != nil {
		t.Errorf("compliance (per_rule) group %+v", c)
	}
}

func TestDispatchFoldSilencesAndIgnores(t *testing.T) {
	base := `
receivers:
  - {name: slack, stdout: {}}
route:
  receiver: slack
  group_by: [account]
`
	for _, tc := range []struct {
		name, extra string
		primary     string
		also        []string
		silenced    int
		ignored     int
	}{
		{"a silence of the primary leaves the others", `
silences:
  - matchers: [rule = root-console-login]
    expires: 2027-01-01T00:00:00Z
    comment: planned root work
`, "root-activity", []string{"console-login-without-mfa", "cis-cloudwatch-1"}, 1, 0},
		{"a silence of another rule removes only its part", `
silences:
  - matchers: ["tag:cis-1.7"]
    expires: 2027-01-01T00:00:00Z
    comment: compliance noise
`, "root-console-login", []string{"root-activity", "console-login-without-mfa"}, 1, 0},
		{"an ignore rule removes its part", `
ignore:
  - rule: console-login-*
    comment: known
`, "root-console-login", []string{"root-activity", "cis-cloudwatch-1"}, 0, 1},
		{"every rule silenced: no message", `
silences:
  - matchers: [account = "111122223333"]
    expires: 2027-01-01T00:00:00Z
    comment: sandbox
`, "", nil, 4, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t, base+tc.extra)
			clk := &clock{now: t0}
			rec := &recorder{}
			d := newDispatcher(t, tr, state.NewMemory(clk.Now), clk, rec)
			res, err := d.Dispatch(context.Background(), rootFailureAlerts(events(t, "root-console-login.json", 1)[0]))
			if err != nil {
				t.Fatal(err)
			}
			if res.Silenced != tc.silenced || res.Ignored != tc.ignored {
				t.Errorf("result %+v", res)
			}
			sent := rec.sent()
			if tc.primary == "" {
				if len(sent) != 0 {
					t.Fatalf("sent %d messages", len(sent))
				}
				return
			}
			if len(sent) != 1 || len(sent[0].Alerts) != 1 {
				t.Fatalf("sent %d messages", len(sent))
			}
			m := sent[0].Alerts[0]
			if m.Rule.ID != tc.primary || !slices.Equal(ruleIDs(m.Also), tc.also) {
				t.Errorf("message %s also %v, want %s also %v", m.Rule.ID, ruleIDs(m.Also), tc.primary, tc.also)
			}
		})
	}
}

// TestDispatchFoldDeliversEachRuleOnce: a retry after a failure resends
// every rule, a repeat of a delivered batch sends nothing, and a batch
// adding a rule on the same event later (a detector's alert on a
// redelivered event) sends only that rule.
func TestDispatchFoldDeliversEachRuleOnce(t *testing.T) {
	tr := newTree(t, byRuleConfig)
	clk := &clock{now: t0}
	rec := &recorder{fail: errors.New("slack is down")}
	st := state.NewMemory(clk.Now)
	d := newDispatcher(t, tr, st, clk, rec)
	ctx := context.Background()
	all := rootFailureAlerts(events(t, "root-console-login.json", 1)[0])
	first := all[:3]

	res, err := d.Dispatch(ctx, first)
	var de *DeliveryError
	if !errors.As(err, &de) || res.Failed != 3 {
		t.Fatalf("result %+v, error %v", res, err)
	}
	// The error names every rule's alert, so a caller can retry each input.
	if !slices.Equal(ruleIDs(de.Alerts), ruleIDs(first)) && len(de.Alerts) != 3 {
		t.Errorf("failed alerts %v", ruleIDs(de.Alerts))
	}
	for _, a := range first {
		if !slices.Contains(de.Alerts, a) {
			t.Errorf("failed alerts lack %s", a.Rule.ID)
		}
	}

	rec.fail = nil
	if res, err := d.Dispatch(ctx, first); err != nil || res.Sent != 3 || len(rec.sent()) != 1 {
		t.Fatalf("retry: %+v %v, %d messages", res, err, len(rec.sent()))
	}
	if res, err := d.Dispatch(ctx, first); err != nil || res.Duplicate != 3 || len(rec.sent()) != 1 {
		t.Fatalf("repeat: %+v %v, %d messages", res, err, len(rec.sent()))
	}
	res, err = d.Dispatch(ctx, all)
	if err != nil || res.Duplicate != 3 || res.Sent != 1 {
		t.Fatalf("with one more rule: %+v %v", res, err)
	}
	sent := rec.sent()
	if len(sent) != 2 {
		t.Fatalf("%d messages", len(sent))
	}
	if m := sent[1].Alerts[0]; m.Rule.ID != "console-login-without-mfa" || m.Also != nil {
		t.Errorf("second message %s also %v, want the new rule alone", m.Rule.ID, ruleIDs(m.Also))
	}
}

// TestDispatchFoldUnderGroupBy: folding happens per event, grouping on top
// of it; two events with the same rules make one group of two messages.
func TestDispatchFoldUnderGroupBy(t *testing.T) {
	tr := newTree(t, `
receivers:
  - {name: slack, stdout: {}}
route:
  receiver: slack
  group_by: [rule, principal]
`)
	clk := &clock{now: t0}
	rec := &recorder{}
	d := newDispatcher(t, tr, state.NewMemory(clk.Now), clk, rec)
	evs := events(t, "root-console-login.json", 2)
	alerts := append(rootFailureAlerts(evs[0]), rootFailureAlerts(evs[1])...)
	res, err := d.Dispatch(context.Background(), alerts)
	if err != nil || res.Sent != 8 || res.Groups != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	g := rec.sent()[0]
	if g.Count != 2 || len(g.Alerts) != 2 {
		t.Fatalf("group of %d messages, count %d", len(g.Alerts), g.Count)
	}
	for i, m := range g.Alerts {
		if m.Event.ID() != evs[i].ID() || len(m.Also) != 3 {
			t.Errorf("message %d: event %s, %d folded", i, m.Event.ID(), len(m.Also))
		}
	}
}
