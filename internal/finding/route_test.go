package finding_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/lambda"
	"github.com/trailwatch/trailwatch/internal/pipeline"
)

// routeConfig sends GuardDuty findings of medium severity and above to a
// receiver of their own and silences a finding type, as a user would.
const routeConfig = `
rules:
  packs: none
receivers:
  - name: security
    stdout: {format: json}
  - name: guardduty-pager
    stdout: {format: json}
route:
  receiver: security
  routes:
    - matchers: [source = guardduty, severity >= medium]
      receiver: guardduty-pager
silences:
  - matchers: ['finding_type = "PenTest:S3/ParrotLinux"']
    expires: 2099-01-01T00:00:00Z
    comment: authorised penetration test
state:
  backend: memory
`

// Findings go through the pipeline like any alert: the pipeline raises
// them for finding events, routes match their labels, silences drop them,
// and a finding sent again with a higher count is not delivered twice.
func TestFindingsRouteLikeAlerts(t *testing.T) {
	ctx := context.Background()
	var got []pipeline.Message
	p, err := pipeline.Build(ctx, []byte(routeConfig), pipeline.Deps{
		DryRun: true, NoDetectors: true,
		OnMessage: func(m pipeline.Message) { got = append(got, m) },
		Now:       func() time.Time { return time.Date(2026, 11, 23, 1, 15, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	alertsOf := func(ev *event.Event) []*event.Alert {
		t.Helper()
		alerts, err := p.Alerts(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		return alerts
	}
	var alerts []*event.Alert
	for _, name := range []string{"guardduty-iam.json", "securityhub-cis-1.13.json"} {
		alerts = append(alerts, alertsOf(readFile(t, name)[0])...)
	}
	pentest := load(t, "guardduty-s3-archived.json")
	detail(pentest)["service"].(map[string]any)["archived"] = false
	alerts = append(alerts, alertsOf(build(t, event.KindGuardDuty, pentest))...)
	if len(alerts) != 3 {
		t.Fatalf("the pipeline raised %d alerts on the three findings, want 3", len(alerts))
	}
	if failed, err := p.Deliver(ctx, alerts); err != nil || len(failed) != 0 {
		t.Fatalf("Deliver: %d failed, %v", len(failed), err)
	}
	to := map[string]string{}
	for _, m := range got {
		for _, a := range m.Group.Alerts {
			to[a.Rule.ID+" "+a.Finding.Type] = m.Group.Receiver
		}
	}
	want := map[string]string{
		"guardduty-finding Recon:IAMUser/MaliciousIPCaller.Custom":                                                              "guardduty-pager",
		"securityhub-finding Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark": "security",
	}
	if len(to) != len(want) {
		t.Errorf("delivered %v, want %v (the pen test finding silenced)", to, want)
	}
	for k, v := range want {
		if to[k] != v {
			t.Errorf("%s went to %q, want %q", k, to[k], v)
		}
	}
	var doc struct {
		Alerts []struct {
			Finding struct{ Source, Type string } `json:"finding"`
		} `json:"alerts"`
	}
	for _, m := range got {
		if err := json.Unmarshal(m.Payload.Body, &doc); err != nil || len(doc.Alerts) == 0 || doc.Alerts[0].Finding.Source == "" {
			t.Errorf("%s payload has no finding: %v %s", m.Group.Receiver, err, m.Payload.Body)
		}
	}

	// GuardDuty sends the finding again, seen more often: no new message.
	m := load(t, "guardduty-iam.json")
	detail(m)["service"].(map[string]any)["count"] = 9
	detail(m)["updatedAt"] = "2022-01-13T06:00:00.000Z"
	n := len(got)
	if failed, err := p.Deliver(ctx, alertsOf(build(t, event.KindGuardDuty, m))); err != nil || len(failed) != 0 {
		t.Fatalf("Deliver: %d failed, %v", len(failed), err)
	}
	if len(got) != n {
		t.Errorf("the updated finding was delivered again: %d new messages", len(got)-n)
	}
}

// engines hands the Lambda face one pipeline.
type engines struct{ p *pipeline.Pipeline }

func (e engines) Engine(context.Context) (lambda.Engine, error) { return engine{e.p}, nil }

// engine is the pipeline as the Lambda face sees it.
type engine struct{ *pipeline.Pipeline }

func (e engine) NewBatch() lambda.Batch { return e.Pipeline.NewBatch() }

// On Lambda, a Security Hub event handed straight to the function (the
// central bus's rule) is delivered as one message per finding.
func TestLambdaDeliversFindings(t *testing.T) {
	ctx := context.Background()
	var got []pipeline.Message
	p, err := pipeline.Build(ctx, []byte(routeConfig), pipeline.Deps{
		DryRun: true, NoDetectors: true,
		OnMessage: func(m pipeline.Message) { got = append(got, m) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	payload, err := os.ReadFile(filepath.Join("..", "..", "testdata", "findings", "securityhub-two-findings.json"))
	if err != nil {
		t.Fatal(err)
	}
	h := lambda.NewHandler(lambda.HandlerOptions{Reader: ingest.New(ingest.Options{}), Engines: engines{p}})
	if _, err := h.Invoke(ctx, payload); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if len(got) != 1 || got[0].Group.Receiver != "security" || got[0].Group.Alerts[0].Finding.Control != "1.13" {
		t.Fatalf("got %d messages; want the failed CIS 1.13 check, to security (the archived finding raises nothing)", len(got))
	}
}
