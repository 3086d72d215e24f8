package fold

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/rule"
	"github.com/trailwatch/trailwatch/rules"
)

func builtinRules(t testing.TB) []*rule.Rule {
	t.Helper()
	rs, err := rule.Load(rule.Selection{Builtin: rules.FS, Packs: []string{rule.PacksAll}})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func loadEvent(t testing.TB, name string) *event.Event {
	t.Helper()
	path := filepath.Join("testdata", name)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := event.Parse(raw, event.Origin{Input: path})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func ids(alerts []*event.Alert) []string {
	var out []string
	for _, a := range alerts {
		out = append(out, a.Rule.ID)
	}
	return out
}

// TestFoldFailedRootSignIn folds what every built-in pack (the opt-in ones
// too) raises on a failed root sign-in into one alert whose primary is the
// focused high rule, not the sign-in stream's rule for any failed sign-in
// of equal severity nor the CIS filters.
func TestFoldFailedRootSignIn(t *testing.T) {
	rs := builtinRules(t)
	set, err := rule.NewSet(rs...)
	if err != nil {
		t.Fatal(err)
	}
	ev := loadEvent(t, "root-login-failure.json")
	alerts, err := set.Alerts(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) < 3 {
		t.Fatalf("the packs raise %v on a failed root sign-in; the test needs several", ids(alerts))
	}
	f := New(Options{Rules: rs})
	// Whatever order the alerts arrive in, the same primary is chosen.
	for _, order := range [][]*event.Alert{alerts, reversed(alerts)} {
		got := f.Fold(order)
		if got.Rule.ID != "root-console-login-failure" {
			t.Errorf("primary %s, want root-console-login-failure (alerts %v)", got.Rule.ID, ids(order))
		}
		if len(got.Also) != len(alerts)-1 {
			t.Fatalf("also %v, want the other %d", ids(got.Also), len(alerts)-1)
		}
		for i := 1; i < len(got.Also); i++ {
			if f.Compare(got.Also[i-1], got.Also[i]) > 0 {
				t.Errorf("also out of order: %v", ids(got.Also))
			}
		}
		// The stream's rule for any failed sign-in (high) before the
		// lower ones; the CIS filters last.
		if got.Also[0].Rule.ID != "console-login-failure" {
			t.Errorf("first of also %s, want console-login-failure: %v", got.Also[0].Rule.ID, ids(got.Also))
		}
		if last := got.Also[len(got.Also)-1]; last.Rule.ID[:4] != "cis-" {
			t.Errorf("last of also %s, want a cis pack rule: %v", last.Rule.ID, ids(got.Also))
		}
		l := got.Labels()
		if l["rule"] != "root-console-login-failure" || l["severity"] != "high" {
			t.Errorf("labels rule=%q severity=%q", l["rule"], l["severity"])
		}
		for _, a := range alerts {
			if l["rule:"+a.Rule.ID] != "true" {
				t.Errorf("labels lack rule:%s: %v", a.Rule.ID, l)
			}
			for _, tag := range a.Rule.Tags {
				if l["tag:"+tag] != "true" {
					t.Errorf("labels lack tag:%s of %s", tag, a.Rule.ID)
				}
			}
		}
	}
	for _, a := range alerts {
		if a.Also != nil {
			t.Fatalf("Fold changed its input alert %s", a.Rule.ID)
		}
	}
}

func reversed(a []*event.Alert) []*event.Alert {
	out := slices.Clone(a)
	slices.Reverse(out)
	return out
}

// TestCompareTiers checks each step of the primary's choice on its own.
func TestCompareTiers(t *testing.T) {
	ev := loadEvent(t, "root-login-failure.json")
	mk := func(id string, sev event.Severity) *event.Alert {
		return &event.Alert{Rule: event.RuleInfo{ID: id, Severity: sev}, Event: ev}
	}
	f := &Folder{ranks: map[string]rank{
		"cis-x":        {broad: true, fields: 5, order: 0},
		"any-call":     {any: true, fields: 4, order: 1},
		"two-fields":   {fields: 2, order: 2},
		"three-fields": {fields: 3, order: 9},
		"early":        {fields: 2, order: 1},
	}}
	for _, tc := range []struct {
		name        string
		first, then *event.Alert
	}{
		{"severity wins over everything", mk("cis-x", event.SeverityHigh), mk("three-fields", event.SeverityMedium)},
		{"focused before a compliance pack", mk("any-call", event.SeverityLow), mk("cis-x", event.SeverityLow)},
		{"a named event before any call", mk("two-fields", event.SeverityLow), mk("any-call", event.SeverityLow)},
		{"more fields first", mk("three-fields", event.SeverityLow), mk("two-fields", event.SeverityLow)},
		{"load order", mk("early", event.SeverityLow), mk("two-fields", event.SeverityLow)},
		{"rules before detectors", mk("two-fields", event.SeverityLow), mk("burst-detector", event.SeverityLow)},
		{"rule id last", mk("a-detector", event.SeverityLow), mk("b-detector", event.SeverityLow)},
	} {
		if f.Compare(tc.first, tc.then) >= 0 || f.Compare(tc.then, tc.first) <= 0 {
			t.Errorf("%s: %s should come before %s", tc.name, tc.first.Rule.ID, tc.then.Rule.ID)
		}
	}
}

func TestFoldMergesContext(t *testing.T) {
	ev := loadEvent(t, "root-login-failure.json")
	primary := &event.Alert{Rule: event.RuleInfo{ID: "a", Severity: event.SeverityHigh}, Event: ev,
		Context: map[string]string{"location": "Tokyo"}}
	burst := &event.Alert{Rule: event.RuleInfo{ID: "b", Severity: event.SeverityLow}, Event: ev,
		Context: map[string]string{"location": "Osaka", "network": "192.0.2.0/24"}, Annotation: "6 failures in 5m0s"}
	got := New(Options{}).Fold([]*event.Alert{burst, primary})
	if got.Rule.ID != "a" || got.Context["location"] != "Tokyo" || got.Context["network"] != "192.0.2.0/24" {
		t.Fatalf("got %s with context %v", got.Rule.ID, got.Context)
	}
	if len(primary.Context) != 1 {
		t.Fatalf("the primary's own context changed: %v", primary.Context)
	}
	if got.Also[0].Annotation != "6 failures in 5m0s" {
		t.Fatalf("the other alert's annotation is lost: %+v", got.Also[0])
	}
	// Folding a folded alert again gives the same parts.
	again := New(Options{}).Fold([]*event.Alert{got})
	if again.Rule.ID != "a" || len(again.Also) != 1 || again.Also[0].Rule.ID != "b" {
		t.Fatalf("refolded: %s %v", again.Rule.ID, ids(again.Also))
	}
	if parts := Parts([]*event.Alert{got}); len(parts) != 2 || parts[0].Also != nil {
		t.Fatalf("parts %v", ids(parts))
	}
}

func TestMessages(t *testing.T) {
	fail := loadEvent(t, "root-login-failure.json")
	ok := loadEvent(t, "root-login-success.json")
	// An event forged with the failure's id but other content.
	forged, err := event.Parse([]byte(`{"eventID":"a4fbbe77-91a0-4238-804a-64314184edb6","eventName":"ConsoleLogin","userIdentity":{"type":"Root"}}`), event.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(id string, sev event.Severity, ev *event.Event) *event.Alert {
		return &event.Alert{Rule: event.RuleInfo{ID: id, Severity: sev}, Event: ev.Clone()}
	}
	items := []Item{
		{Alert: mk("low-on-fail", event.SeverityLow, fail), Receiver: "slack"},   // 0
		{Alert: mk("high-on-fail", event.SeverityHigh, fail), Receiver: "slack"}, // 1
		{Alert: mk("high-on-fail", event.SeverityHigh, fail), Receiver: "email"}, // 2: other receiver
		{Alert: mk("on-ok", event.SeverityCritical, ok), Receiver: "slack"},      // 3: other event
		{Alert: mk("cis-on-fail", event.SeverityLow, fail), Receiver: "slack", PerRule: true},
		{Alert: mk("forged", event.SeverityCritical, forged), Receiver: "slack"}, // 5: same id, other bytes
		{Alert: mk("mid-on-fail", event.SeverityMedium, fail), Receiver: "slack"},
	}
	msgs := New(Options{}).Messages(items)
	var got [][]int
	for _, m := range msgs {
		got = append(got, m.Items)
	}
	want := [][]int{{1, 6, 0}, {2}, {3}, {4}, {5}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("messages %v, want %v", got, want)
	}
	m := msgs[0].Alert
	if m.Rule.ID != "high-on-fail" || !slices.Equal(ids(m.Also), []string{"mid-on-fail", "low-on-fail"}) {
		t.Fatalf("folded %s also %v", m.Rule.ID, ids(m.Also))
	}
	if msgs[1].Alert != items[2].Alert || msgs[1].Alert.Also != nil {
		t.Fatal("a message of one item must be that item's alert")
	}
}
