package finding_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/finding"
)

// load reads a test file as the EventBridge event it holds, as a map to
// change before building the event.
func load(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "findings", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// build makes the finding event of kind from m, as ingest would yield it.
func build(t testing.TB, kind event.Kind, m any) *event.Event {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := event.Parse(b, event.Origin{Input: "test.json", Path: "file", Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func detail(m map[string]any) map[string]any { return m["detail"].(map[string]any) }

func shFinding(m map[string]any, i int) map[string]any {
	return detail(m)["findings"].([]any)[i].(map[string]any)
}

func one(t testing.TB, ev *event.Event) *event.Alert {
	t.Helper()
	alerts, err := finding.New(finding.Options{}).Alerts(context.Background(), ev)
	if err != nil || len(alerts) != 1 {
		t.Fatalf("got %d alerts, %v; want one alert", len(alerts), err)
	}
	return alerts[0]
}

// GuardDuty's documented bands (Low 1.0-3.9, Medium 4.0-6.9, High 7.0-8.9,
// Critical 9.0-10.0) and ASFF's labels and normalized scores.
func TestSeverity(t *testing.T) {
	for _, c := range []struct {
		severity any
		want     event.Severity
		text     string
	}{
		{0.1, event.SeverityLow, "0.1"}, {1, event.SeverityLow, "1"}, {3.9, event.SeverityLow, "3.9"},
		{4, event.SeverityMedium, "4"}, {6.9, event.SeverityMedium, "6.9"},
		{7, event.SeverityHigh, "7"}, {8.9, event.SeverityHigh, "8.9"},
		{9, event.SeverityCritical, "9"}, {10, event.SeverityCritical, "10"},
		{"8.0", event.SeverityHigh, "8"},
		// Unreadable severities are never made quieter than medium.
		{nil, event.SeverityMedium, ""}, {"high", event.SeverityMedium, ""}, {0, event.SeverityMedium, ""}, {-3, event.SeverityMedium, ""},
	} {
		m := load(t, "guardduty-iam.json")
		detail(m)["severity"] = c.severity
		f := one(t, build(t, event.KindGuardDuty, m)).Finding
		if f.Severity != c.want || f.ProductSeverity != c.text {
			t.Errorf("GuardDuty severity %v: %s %q, want %s %q", c.severity, f.Severity, f.ProductSeverity, c.want, c.text)
		}
	}
	for _, c := range []struct {
		severity any
		want     event.Severity
	}{
		{map[string]any{"Label": "INFORMATIONAL"}, event.SeverityInfo},
		{map[string]any{"Label": "LOW"}, event.SeverityLow},
		{map[string]any{"Label": "MEDIUM"}, event.SeverityMedium},
		{map[string]any{"Label": "HIGH", "Normalized": 10}, event.SeverityHigh},
		{map[string]any{"Label": "CRITICAL"}, event.SeverityCritical},
		{map[string]any{"Normalized": 0}, event.SeverityInfo},
		{map[string]any{"Normalized": 39}, event.SeverityLow},
		{map[string]any{"Normalized": 40}, event.SeverityMedium},
		{map[string]any{"Normalized": 70}, event.SeverityHigh},
		{map[string]any{"Normalized": 90}, event.SeverityCritical},
		{"HIGH", event.SeverityHigh},
		{nil, event.SeverityMedium},
		{map[string]any{"Label": "URGENT"}, event.SeverityMedium},
	} {
		m := load(t, "securityhub-cis-1.13.json")
		shFinding(m, 0)["Severity"] = c.severity
		if got := one(t, build(t, event.KindSecurityHub, m)).Finding.Severity; got != c.want {
			t.Errorf("ASFF severity %v: %s, want %s", c.severity, got, c.want)
		}
	}
}

// GuardDuty sends a finding again as its count grows, and Security Hub
// imports it under its ARN: all of them are one delivery. A change of
// severity is a new one.
func TestKeyAcrossUpdates(t *testing.T) {
	m := load(t, "guardduty-iam.json")
	first := one(t, build(t, event.KindGuardDuty, m))
	svc := detail(m)["service"].(map[string]any)
	svc["count"] = 7
	svc["eventLastSeen"] = "2022-01-13T06:00:00.000Z"
	detail(m)["updatedAt"] = "2022-01-13T06:00:01.000Z"
	update := one(t, build(t, event.KindGuardDuty, m))
	if update.Finding.Count != 7 || update.Key() != first.Key() {
		t.Errorf("an update with count %d has key %q, want the first delivery's %q", update.Finding.Count, update.Key(), first.Key())
	}

	sh := load(t, "securityhub-cis-1.13.json")
	f := shFinding(sh, 0)
	f["Id"] = first.Finding.ARN
	f["ProductName"] = "GuardDuty"
	f["Severity"] = map[string]any{"Label": "MEDIUM"}
	f["ProductFields"] = map[string]any{"aws/guardduty/service/count": "7"}
	imported := one(t, build(t, event.KindSecurityHub, sh))
	if imported.Key() != first.Key() || imported.Finding.Count != 7 {
		t.Errorf("the finding imported by Security Hub has key %q (count %d), want %q", imported.Key(), imported.Finding.Count, first.Key())
	}

	detail(m)["severity"] = 8
	if escalated := one(t, build(t, event.KindGuardDuty, m)); escalated.Key() == first.Key() {
		t.Errorf("a finding raised to high severity kept the key %q", escalated.Key())
	}
}

// A finding's text is whoever imported it: Slack control sequences stay
// text (the renderers escape them), and every text is bounded however long
// the finding makes it. A region that is not a region gives no link.
func TestHostileFinding(t *testing.T) {
	huge := strings.Repeat("<!channel> <https://evil.example|click> ", 30_000) // about 1.2 MB
	m := load(t, "securityhub-cis-1.13.json")
	f := shFinding(m, 0)
	f["Title"] = "<!channel> " + huge
	f["Description"] = huge
	f["Id"] = huge
	f["Resources"] = []any{map[string]any{"Type": huge, "Id": "x\u202e\ninjected", "Region": "evil.example/"}}
	f["Types"] = []any{huge}
	a := one(t, build(t, event.KindSecurityHub, m))
	fd := a.Finding
	for name, s := range map[string]string{"title": fd.Title, "description": fd.Description, "id": fd.ID, "type": fd.Type, "resource type": fd.ResourceType, "rule title": a.Rule.Title} {
		if n := utf8.RuneCountInString(s); n > 2100 {
			t.Errorf("%s kept %d runes", name, n)
		}
	}
	if !strings.HasPrefix(fd.Title, "<!channel> ") || !strings.HasSuffix(fd.Title, "…") {
		t.Errorf("title was changed instead of cut and left to the renderers: %.40q … %q", fd.Title, fd.Title[len(fd.Title)-8:])
	}
	if fd.Region != "evil.example/" || fd.URL != "" {
		t.Errorf("region %q gave the link %q; want no link", fd.Region, fd.URL)
	}
	if len(a.Key()) > 600 {
		t.Errorf("key is %d bytes", len(a.Key()))
	}

	// An id cannot break out of the link's parameter.
	g := load(t, "guardduty-iam.json")
	detail(g)["id"] = "x&fId=y#/other\"><script>"
	u := one(t, build(t, event.KindGuardDuty, g)).Finding.URL
	if want := "https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?macros=current&fId=x%26fId%3Dy%23%2Fother%22%3E%3Cscript%3E"; u != want {
		t.Errorf("link = %q, want %q", u, want)
	}
}

// One event yields at most MaxFindings findings; the rest are named in the
// error. Findings that cannot be read are named with their place, and the
// others still raise their alerts.
func TestBadAndExcessFindings(t *testing.T) {
	m := load(t, "securityhub-cis-1.13.json")
	good := shFinding(m, 0)
	var list []any
	for i := range 150 {
		c := map[string]any{}
		for k, v := range good {
			c[k] = v
		}
		c["Id"] = fmt.Sprintf("finding-%d", i)
		list = append(list, c)
	}
	list[3] = "not an object"
	noID := map[string]any{"Title": "no id"}
	list[5] = noID
	detail(m)["findings"] = list
	alerts, err := finding.New(finding.Options{}).Alerts(context.Background(), build(t, event.KindSecurityHub, m))
	if len(alerts) != 98 {
		t.Errorf("got %d alerts, want the 98 readable findings of the first 100", len(alerts))
	}
	for _, want := range []string{
		"test.json record 0: Security Hub finding 3 is not a JSON object",
		"test.json record 0: Security Hub finding 5: the finding has no id",
		"test.json record 0: the Security Hub event carries 150 findings; only the first 100 were read",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}

	for _, c := range []struct {
		kind event.Kind
		doc  string
		want string
	}{
		{event.KindGuardDuty, `{"detail-type":"GuardDuty Finding","detail":"x"}`, "test.json record 0: the GuardDuty event has no detail object"},
		{event.KindGuardDuty, `{"detail":{"type":"Recon:EC2/Portscan"}}`, "test.json record 0: GuardDuty finding: the finding has no id"},
		{event.KindSecurityHub, `{"detail":{"findings":{}}}`, "test.json record 0: the Security Hub event's detail.findings is not a list"},
		{event.KindCloudTrail, `{"eventName":"ConsoleLogin"}`, "test.json record 0: the record is not a GuardDuty or Security Hub event (kind cloudtrail)"},
	} {
		var v any
		if err := json.Unmarshal([]byte(c.doc), &v); err != nil {
			t.Fatal(err)
		}
		alerts, err := finding.New(finding.Options{}).Alerts(context.Background(), build(t, c.kind, v))
		if len(alerts) != 0 || err == nil || err.Error() != c.want {
			t.Errorf("%s: %d alerts, error %v; want %q", c.doc, len(alerts), err, c.want)
		}
	}
}
