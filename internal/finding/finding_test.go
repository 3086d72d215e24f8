package finding_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/finding"
	"github.com/trailwatch/trailwatch/internal/ingest"
)

// readFile reads a test file through ingest, as every input is read, and
// returns its events (cloned, so they may be kept).
func readFile(t testing.TB, name string) []*event.Event {
	t.Helper()
	var out []*event.Event
	for ev, err := range ingest.New(ingest.Options{}).Paths(context.Background(), []string{filepath.Join("..", "..", "testdata", "findings", name)}) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, ev.Clone())
	}
	return out
}

// alertsOf reads a test file and returns the alerts of its one event.
func alertsOf(t testing.TB, s *finding.Stage, name string) []*event.Alert {
	t.Helper()
	evs := readFile(t, name)
	if len(evs) != 1 {
		t.Fatalf("%s: ingest yielded %d events, want the one finding event", name, len(evs))
	}
	alerts, err := s.Alerts(context.Background(), evs[0])
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return alerts
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// GuardDuty's documented event format around a GuardDuty sample finding:
// ingest yields it as a GuardDuty event, and it becomes one alert with the
// finding's facts, in the finding's account rather than the envelope's.
func TestGuardDutyFinding(t *testing.T) {
	evs := readFile(t, "guardduty-iam.json")
	if len(evs) != 1 || evs[0].Kind() != event.KindGuardDuty {
		t.Fatalf("ingest yielded %d events (kind %v), want one GuardDuty event", len(evs), evs)
	}
	alerts := alertsOf(t, finding.New(finding.Options{}), "guardduty-iam.json")
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts, want 1", len(alerts))
	}
	a := alerts[0]
	f := a.Finding
	want := event.Finding{
		Source:          event.KindGuardDuty,
		ID:              "30bf285e52a1e405084ff6ec28e06e17",
		ARN:             "arn:aws:guardduty:us-east-1:123456789012:detector/123456789012/finding/30bf285e52a1e405084ff6ec28e06e17",
		Type:            "Recon:IAMUser/MaliciousIPCaller.Custom",
		Title:           "Reconnaissance API GeneratedFindingAPIName was invoked from an IP address on a custom threat list.",
		Severity:        event.SeverityMedium,
		ProductSeverity: "5",
		Product:         "GuardDuty",
		Account:         "123456789012",
		Region:          "us-east-1",
		ResourceType:    "AccessKey",
		ResourceID:      "GeneratedFindingUserName",
		Principal:       "GeneratedFindingUserName (IAMUser)",
		RemoteIP:        "198.51.100.0",
		Count:           1,
		FirstSeen:       ts("2022-01-13T00:00:47Z"),
		LastSeen:        ts("2022-01-13T00:00:47Z"),
		CreatedAt:       ts("2022-01-13T00:00:47.427Z"),
		UpdatedAt:       ts("2022-01-13T00:00:47.427Z"),
		Sample:          true,
		URL:             "https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?macros=current&fId=30bf285e52a1e405084ff6ec28e06e17",
	}
	want.Description = f.Description
	if !strings.HasPrefix(f.Description, "APIs commonly used in reconnaissance attacks") {
		t.Errorf("description = %q", f.Description)
	}
	if *f != want {
		t.Errorf("finding =\n%+v\nwant\n%+v", *f, want)
	}
	if a.Rule.ID != finding.RuleGuardDuty || a.Rule.Severity != event.SeverityMedium {
		t.Errorf("rule %s %s, want %s medium", a.Rule.ID, a.Rule.Severity, finding.RuleGuardDuty)
	}
	if got, want := a.Rule.Title, "GuardDuty finding: [SAMPLE] Reconnaissance API GeneratedFindingAPIName was invoked from an IP address on a custom threat list."; got != want {
		t.Errorf("title = %q, want %q", got, want)
	}
	if got := a.Rule.TitleIn("ja"); !strings.HasPrefix(got, "GuardDuty の検出結果: [SAMPLE] Reconnaissance API") {
		t.Errorf("ja title = %q", got)
	}
	if got, want := a.Summary, "GuardDuty reports Recon:IAMUser/MaliciousIPCaller.Custom on AccessKey GeneratedFindingUserName, seen 1 time"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
	if got, want := a.SummaryIn("ja"), "GuardDuty が AccessKey GeneratedFindingUserName について Recon:IAMUser/MaliciousIPCaller.Custom を報告しました (1 回検知)"; got != want {
		t.Errorf("ja summary = %q, want %q", got, want)
	}
	// The alert's event is the finding itself, with the input's origin.
	if a.Event.Str("type") != f.Type || a.Event.Kind() != event.KindGuardDuty || a.Event.Origin().Input != evs[0].Origin().Input {
		t.Errorf("alert event is not the finding record: kind %v origin %v: %.80s", a.Event.Kind(), a.Event.Origin(), a.Event.Raw())
	}
	l := a.Labels()
	for k, v := range map[string]string{
		"rule": "guardduty-finding", "severity": "medium", "source": "guardduty", "account": "123456789012",
		"region": "us-east-1", "finding_type": "Recon:IAMUser/MaliciousIPCaller.Custom", "finding_id": f.ID,
		"product": "GuardDuty", "resource_type": "AccessKey", "resource_id": "GeneratedFindingUserName",
		"principal": "GeneratedFindingUserName (IAMUser)", "source_ip": "198.51.100.0", "sample": "true",
	} {
		if l[k] != v {
			t.Errorf("label %s = %q, want %q", k, l[k], v)
		}
	}
	if got, want := a.Key(), "finding:"+want.ARN+"|medium"; got != want {
		t.Errorf("key = %q, want %q", got, want)
	}
}

// Security Hub's documented event format around the AWS CLI's example of a
// failed CIS check: one critical alert in the region of its resource.
func TestSecurityHubFinding(t *testing.T) {
	alerts := alertsOf(t, finding.New(finding.Options{}), "securityhub-cis-1.13.json")
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts, want 1", len(alerts))
	}
	a := alerts[0]
	f := a.Finding
	id := "arn:aws:securityhub:us-west-1: 123456789012:subscription/cis-aws-foundations-benchmark/v/1.2.0/1.13/finding/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
	checks := []struct{ name, got, want string }{
		{"id", f.ID, id},
		{"type", f.Type, "Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark"},
		{"title", f.Title, `1.13 Ensure MFA is enabled for the "root" account`},
		{"severity", f.Severity.String(), "critical"},
		{"product severity", f.ProductSeverity, "CRITICAL"},
		{"product", f.Product, "Security Hub"},
		{"generator", f.Generator, "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/1.13"},
		{"control", f.Control, "1.13"},
		{"account", f.Account, "123456789012"},
		{"region", f.Region, "us-west-1"},
		{"resource", f.ResourceType + " " + f.ResourceID, "AwsAccount AWS::::Account:123456789012"},
		{"compliance", f.Compliance, "FAILED"},
		{"workflow", f.Workflow, "NOTIFIED"},
		{"remediation", f.Remediation, "For directions on how to fix this issue, please consult the AWS Security Hub CIS documentation."},
		{"first seen", f.FirstSeen.Format(time.RFC3339Nano), "2020-05-21T20:16:34.752Z"},
		{"last seen", f.LastSeen.Format(time.RFC3339Nano), "2020-06-09T08:16:37.171Z"},
		{"updated", f.UpdatedAt.Format(time.RFC3339Nano), "2020-06-09T08:16:36.43Z"},
		{"url", f.URL, "https://us-west-1.console.aws.amazon.com/securityhub/home?region=us-west-1#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253Aarn%253Aaws%253Asecurityhub%253Aus-west-1%253A%2520123456789012%253Asubscription%252Fcis-aws-foundations-benchmark%252Fv%252F1.2.0%252F1.13%252Ffinding%252Fa1b2c3d4-5678-90ab-cdef-EXAMPLE11111"},
		{"rule", a.Rule.ID, finding.RuleSecurityHub},
		{"rule severity", a.Rule.Severity.String(), "critical"},
		{"summary", a.Summary, "Security Hub check 1.13 FAILED on AwsAccount AWS::::Account:123456789012"},
		{"ja summary", a.SummaryIn("ja"), "Security Hub のチェック 1.13 が AwsAccount AWS::::Account:123456789012 で FAILED になりました"},
		{"key", a.Key(), "finding:" + id + "|critical"},
		{"label source", a.Labels()["source"], "securityhub"},
		{"label control", a.Labels()["control"], "1.13"},
		{"label compliance", a.Labels()["compliance"], "FAILED"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

// Findings nobody needs to hear about raise nothing, and each is logged
// with the reason; one event carrying several findings raises an alert per
// finding that needs one.
func TestSkippedFindings(t *testing.T) {
	var logs bytes.Buffer
	s := finding.New(finding.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, c := range []struct {
		file   string
		alerts int
		reason string
	}{
		{"guardduty-s3-archived.json", 0, "the finding is archived in GuardDuty"},
		{"securityhub-pci-archived.json", 0, "the finding's record state is ARCHIVED"},
		{"securityhub-two-findings.json", 1, "the finding's record state is ARCHIVED"},
	} {
		logs.Reset()
		alerts := alertsOf(t, s, c.file)
		if len(alerts) != c.alerts {
			t.Errorf("%s: %d alerts, want %d", c.file, len(alerts), c.alerts)
		}
		if !strings.Contains(logs.String(), "msg=finding_skipped") || !strings.Contains(logs.String(), c.reason) {
			t.Errorf("%s: the skipped finding is not logged with %q:\n%s", c.file, c.reason, logs.String())
		}
	}
}
