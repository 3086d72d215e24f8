package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/state"
)

// hook is a local stand-in for a Slack incoming webhook; fail decides
// each answer's status by attempt number (nil: 200).
type hook struct {
	srv *httptest.Server

	mu       sync.Mutex
	attempts int
	bodies   []string
	fail     func(attempt int) int
}

const secretPath = "/services/T000/B000/pipelineTestSecret42"

func newHook(t *testing.T, fail func(int) int) *hook {
	w := &hook{fail: fail}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		defer w.mu.Unlock()
		w.attempts++
		if w.fail != nil {
			if code := w.fail(w.attempts); code != http.StatusOK {
				http.Error(rw, "boom", code)
				return
			}
		}
		w.bodies = append(w.bodies, string(b))
		rw.Write([]byte("ok"))
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *hook) posts() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.bodies)
}

// testDeps has a memory store, a fixed clock and a retrier that does not
// sleep.
func testDeps(t *testing.T) Deps {
	now := func() time.Time { return time.Date(2023, 7, 10, 13, 0, 0, 0, time.UTC) }
	return Deps{
		ConfigName: "trailwatch.yaml",
		Now:        now,
		Store:      state.NewMemory(now),
		Retrier: &notify.Retrier{
			MaxAttempts: 3,
			Now:         now,
			Sleep:       func(context.Context, time.Duration) error { return nil },
		},
	}
}

// events reads every event of a testdata file, cloned.
func events(t *testing.T, name string) []*event.Event {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*event.Event
	for ev, err := range ingest.New(ingest.Options{}).Stream(context.Background(), name, f) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, ev.Clone())
	}
	return out
}

func alertsFor(t *testing.T, p *Pipeline, name string) []*event.Alert {
	t.Helper()
	var all []*event.Alert
	for _, ev := range events(t, name) {
		a, err := p.Alerts(context.Background(), ev)
		if err != nil {
			t.Fatalf("Alerts on %s: %v", name, err)
		}
		all = append(all, a...)
	}
	return all
}

func ruleIDs(alerts []*event.Alert) []string {
	var ids []string
	for _, a := range alerts {
		ids = append(ids, a.Rule.ID)
	}
	slices.Sort(ids)
	return ids
}

func slackConfig(packs string, receivers ...string) []byte {
	return []byte(`rules:
  packs: [` + packs + `]
receivers:
` + strings.Join(receivers, "") + `route:
  receiver: slack
  group_by: [rule]
`)
}

const slackReceiver = `  - name: slack
    slack:
      webhook_url: env:TEST_SLACK_WEBHOOK
`

func TestDeliverSendsOnceAndSkipsRedelivery(t *testing.T) {
	hook := newHook(t, nil)
	t.Setenv("TEST_SLACK_WEBHOOK", hook.srv.URL+secretPath)
	ctx := context.Background()
	p, err := Build(ctx, slackConfig("iam", slackReceiver), testDeps(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	alerts := alertsFor(t, p, "iam-persistence.json")
	if got := strings.Join(slices.Compact(ruleIDs(alerts)), ","); got != "iam-access-key-created,iam-admin-policy-attached,iam-user-created" {
		t.Fatalf("rules fired %s", got)
	}
	failed, err := p.Deliver(ctx, alerts)
	if err != nil || len(failed) != 0 {
		t.Fatalf("Deliver = %d failed, %v", len(failed), err)
	}
	if n := len(hook.posts()); n != 3 {
		t.Fatalf("%d messages sent; want one per rule (3)", n)
	}

	// The same alerts again (an SQS redelivery): nothing is sent.
	failed, err = p.Deliver(ctx, alertsFor(t, p, "iam-persistence.json"))
	if err != nil || len(failed) != 0 {
		t.Fatalf("second Deliver = %d failed, %v", len(failed), err)
	}
	if n := len(hook.posts()); n != 3 {
		t.Fatalf("%d messages after the redelivery; want still 3", n)
	}
}

func TestDeliverReturnsExactlyTheFailedAlerts(t *testing.T) {
	good := newHook(t, nil)
	bad := newHook(t, func(int) int { return http.StatusInternalServerError })
	t.Setenv("TEST_SLACK_WEBHOOK", good.srv.URL+secretPath)
	t.Setenv("TEST_BAD_WEBHOOK", bad.srv.URL+secretPath)
	cfg := []byte(`rules:
  packs: [iam, signin]
receivers:
  - name: slack
    slack:
      webhook_url: env:TEST_SLACK_WEBHOOK
  - name: iam-team
    slack:
      webhook_url: env:TEST_BAD_WEBHOOK
route:
  receiver: slack
  group_by: [rule]
  routes:
    - matchers: ['rule=~"iam-.*"']
      receiver: iam-team
`)
	ctx := context.Background()
	p, err := Build(ctx, cfg, testDeps(t))
	if err != nil {
		t.Fatal(err)
	}
	iam := alertsFor(t, p, "iam-persistence.json")
	login := alertsFor(t, p, "iam-user-console-login.json")
	failed, err := p.Deliver(ctx, append(slices.Clone(login), iam...))
	if err == nil {
		t.Fatal("Deliver reported no error although iam-team answered 500")
	}
	if !slices.Equal(ruleIDs(failed), ruleIDs(iam)) {
		t.Fatalf("failed alerts %q; want exactly the IAM ones %q", ruleIDs(failed), ruleIDs(iam))
	}
	if !strings.Contains(err.Error(), `"iam-team"`) || strings.Contains(err.Error(), secretPath) {
		t.Fatalf("error %q should name the receiver and hide its URL", err)
	}
	if bad.attempts != 3*3 {
		t.Fatalf("iam-team saw %d requests; want 3 groups × 3 attempts", bad.attempts)
	}
	if n := len(good.posts()); n != 1 {
		t.Fatalf("slack got %d messages; want the console login only", n)
	}

	// Once iam-team recovers, the retry sends only what failed.
	bad.mu.Lock()
	bad.fail = nil
	bad.mu.Unlock()
	failed, err = p.Deliver(ctx, append(slices.Clone(login), iam...))
	if err != nil || len(failed) != 0 {
		t.Fatalf("retry: %d failed, %v", len(failed), err)
	}
	if len(good.posts()) != 1 || len(bad.posts()) != 3 {
		t.Fatalf("after the retry slack has %d and iam-team %d messages; want 1 and 3", len(good.posts()), len(bad.posts()))
	}
}

func TestBuildReportsEveryReceiverProblem(t *testing.T) {
	cfg := slackConfig("signin", slackReceiver, `  - name: teams
    teams:
      webhook_url: env:TEST_MISSING_TEAMS_URL
  - name: topic
    sns:
      topic_arn: arn:aws:sns:us-east-1:123456789012:alerts
`)
	_, err := Build(context.Background(), cfg, testDeps(t))
	if err == nil {
		t.Fatal("Build succeeded with unresolvable secrets and no SNS client")
	}
	want := []string{
		`trailwatch.yaml:5: receivers[0].slack: receiver "slack": secret env:TEST_SLACK_WEBHOOK: environment variable is not set`,
		`trailwatch.yaml:8: receivers[1].teams: receiver "teams": secret env:TEST_MISSING_TEAMS_URL: environment variable is not set`,
		`trailwatch.yaml:11: receivers[2].sns: receiver "topic": no SNS client (no AWS configuration was given)`,
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("error has %d lines; want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d = %q; want %q", i, lines[i], w)
		}
	}
}

func TestRegistryCoversEveryKind(t *testing.T) {
	kinds := slices.Sorted(maps.Keys(receiverKinds()))
	want := slices.Sorted(slices.Values(config.Kinds()))
	if !slices.Equal(kinds, want) {
		t.Fatalf("registry kinds %q; the configuration accepts %q", kinds, want)
	}
}

func TestSeverityOverrideAndUnknownRule(t *testing.T) {
	t.Setenv("TEST_SLACK_WEBHOOK", "https://hooks.example.invalid/x")
	base := `receivers:
` + slackReceiver + `route:
  receiver: slack
rules:
  packs: [signin]
  severity:
`
	ctx := context.Background()
	p, err := Build(ctx, []byte(base+"    console-login-without-mfa: critical\n"), testDeps(t))
	if err != nil {
		t.Fatal(err)
	}
	a := alertsFor(t, p, "iam-user-console-login.json")
	if len(a) != 1 || a[0].Rule.Severity != event.SeverityCritical {
		t.Fatalf("alerts %v; want console-login-without-mfa at critical", ruleIDs(a))
	}
	_, err = Build(ctx, []byte(base+"    no-such-rule: low\n"), testDeps(t))
	if err == nil || !strings.Contains(err.Error(), `trailwatch.yaml:10: rules.severity.no-such-rule: no loaded rule has id "no-such-rule"`) {
		t.Fatalf("unknown id in rules.severity: %v", err)
	}
}

func TestDryRunRendersWithoutSecretsOrSending(t *testing.T) {
	deps := testDeps(t)
	deps.DryRun = true
	ctx := context.Background()
	// TEST_SLACK_WEBHOOK is not set: a dry run resolves no secret.
	p, err := Build(ctx, slackConfig("signin", slackReceiver), deps)
	if err != nil {
		t.Fatal(err)
	}
	alerts := append(alertsFor(t, p, "iam-user-console-login.json"), alertsFor(t, p, "eventbridge-signin.json")...)
	msgs, err := p.Preview(ctx, alerts)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages; want 2 (one per rule)", len(msgs))
	}
	for _, m := range msgs {
		if m.Payload.Kind != "slack" || m.Payload.Receiver != "slack" || len(m.Payload.Body) == 0 {
			t.Errorf("payload %+v", m.Payload)
		}
	}
	if failed, err := p.Deliver(ctx, alerts); err == nil || len(failed) != len(alerts) {
		t.Fatalf("Deliver on a dry-run pipeline without OnMessage = %d failed, %v; want a refusal", len(failed), err)
	}

	// With OnMessage, Deliver dry-runs the whole flow, redelivery included.
	var got []Message
	deps.OnMessage = func(m Message) { got = append(got, m) }
	p, err = Build(ctx, slackConfig("signin", slackReceiver), deps)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if failed, err := p.Deliver(ctx, alerts); err != nil || len(failed) != 0 {
			t.Fatalf("dry-run Deliver = %d failed, %v", len(failed), err)
		}
	}
	if len(got) != 2 || got[0].Payload.Kind != "slack" {
		t.Fatalf("OnMessage got %d messages; want 2, once each", len(got))
	}
}

type fakeDetector struct{ id string }

func (d fakeDetector) Observe(_ context.Context, ev *event.Event) ([]*event.Alert, error) {
	if ev.Name() != "ConsoleLogin" {
		return nil, nil
	}
	return []*event.Alert{{Rule: event.RuleInfo{ID: d.id}, Event: ev.Clone(), Annotation: "first sign-in from 192.168.10.0/24"}}, errors.New("geo database missing")
}

func TestAlertsRunsRulesThenDetectors(t *testing.T) {
	deps := testDeps(t)
	deps.DryRun = true
	deps.NoDetectors = true
	deps.Detectors = []Detector{fakeDetector{id: "new-network"}}
	p, err := Build(context.Background(), slackConfig("signin", slackReceiver), deps)
	if err != nil {
		t.Fatal(err)
	}
	ev := events(t, "iam-user-console-login.json")[0]
	alerts, err := p.Alerts(context.Background(), ev)
	if got := ruleIDs(alerts); !slices.Equal(got, []string{"console-login-without-mfa", "new-network"}) || alerts[1].Rule.ID != "new-network" {
		t.Fatalf("alerts %q; want the rule's, then the detector's", got)
	}
	if err == nil || !strings.Contains(err.Error(), "geo database missing") {
		t.Fatalf("detector error not reported: %v", err)
	}
}

func TestDefaultsBuild(t *testing.T) {
	deps := testDeps(t)
	var out strings.Builder
	deps.Stdout = &out
	p, err := Build(context.Background(), nil, deps)
	if err != nil {
		t.Fatal(err)
	}
	if p.Rules().Len() < 20 || p.Config().File != "(default)" {
		t.Fatalf("defaults: %d rules from %s", p.Rules().Len(), p.Config().File)
	}
	alerts := alertsFor(t, p, "eventbridge-signin.json")
	if failed, err := p.Deliver(context.Background(), alerts); err != nil || len(failed) != 0 {
		t.Fatalf("Deliver: %d failed, %v", len(failed), err)
	}
	if !strings.Contains(out.String(), "Root") {
		t.Fatalf("stdout receiver wrote %q", out.String())
	}
}

func TestStoreFromConfig(t *testing.T) {
	deps := testDeps(t)
	deps.Store = nil
	path := t.TempDir() + "/state.db"
	t.Setenv("TEST_SLACK_WEBHOOK", "https://hooks.example.invalid/x")
	cfg := string(slackConfig("signin", slackReceiver)) + "state:\n  backend: file\n  path: " + path + "\n"
	p, err := Build(context.Background(), []byte(cfg), deps)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Store().(*state.File); !ok {
		t.Fatalf("store %T; want the file store", p.Store())
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	deps.StateTable = "trailwatch-state"
	_, err = Build(context.Background(), []byte(cfg), deps)
	if err == nil || !strings.Contains(err.Error(), `state table "trailwatch-state": no DynamoDB client`) {
		t.Fatalf("state table without a client: %v", err)
	}
}

func TestWithReserve(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	short, cancel2 := withReserve(ctx, DeadlineReserve)
	defer cancel2()
	dl, _ := ctx.Deadline()
	sdl, _ := short.Deadline()
	if d := dl.Sub(sdl); d != DeadlineReserve {
		t.Fatalf("reserve %s; want %s", d, DeadlineReserve)
	}
	if c, _ := withReserve(context.Background(), time.Second); c != context.Background() {
		t.Fatal("a context without deadline should be kept")
	}
}

// failedLogins returns n failed console sign-ins of one IAM user a minute
// apart, made from the real Invictus sign-in record.
func failedLogins(t *testing.T, n int) []*event.Event {
	t.Helper()
	raw, err := os.ReadFile("testdata/iam-user-console-login.json")
	if err != nil {
		t.Fatal(err)
	}
	var out []*event.Event
	for i := range n {
		s := strings.Replace(string(raw), `"ConsoleLogin": "Success"`, `"ConsoleLogin": "Failure"`, 1)
		s = strings.Replace(s, `"eventID": "70e5932e-9022-4b38-837e-ca10dad94eb7"`, fmt.Sprintf(`"eventID": "70e5932e-9022-4b38-837e-ca10dad9%04d"`, i), 1)
		s = strings.Replace(s, `"eventTime": "2023-07-10T12:23:15Z"`, fmt.Sprintf(`"eventTime": "2023-07-10T12:%02d:15Z"`, 23+i), 1)
		s = strings.Replace(s, `"eventVersion"`, `"errorMessage": "Failed authentication", "eventVersion"`, 1)
		ev, err := event.Parse([]byte(s), event.Origin{Input: "failed-login"})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func TestBuiltinDetectorsRun(t *testing.T) {
	deps := testDeps(t)
	deps.DryRun = true
	dc, err := detect.ParseConfig([]byte("detectors:\n  - id: signin-failure-burst\n    threshold: 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	deps.DetectConfig = dc
	// The sign-in pack declares the detectors; its stateless rules fire on
	// every failure too, so only detector alerts are collected.
	p, err := Build(context.Background(), slackConfig("signin", slackReceiver), deps)
	if err != nil {
		t.Fatal(err)
	}
	var fired []string
	for _, ev := range failedLogins(t, 4) {
		alerts, err := p.Alerts(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range alerts {
			if slices.Contains(a.Rule.Tags, "detector") {
				fired = append(fired, fmt.Sprintf("%s@%s", a.Rule.ID, a.Event.Time().Format("15:04")))
			}
		}
	}
	if !slices.Equal(fired, []string{"signin-failure-burst@12:25"}) {
		t.Fatalf("detector alerts %q; want one burst alert at the third failure", fired)
	}
}

func TestDetectorIDMayNotBeARuleID(t *testing.T) {
	dir := t.TempDir()
	ruleFile := dir + "/mine.yaml"
	os.WriteFile(ruleFile, []byte(`rules:
  - id: signin-failure-burst
    title: Failed sign-in
    severity: low
    filter: '{ $.eventName = ConsoleLogin }'
`), 0o600)
	// The detectors come from the sign-in pack; the rule comes from the file.
	cfg := "rules:\n  packs: [signin]\n  files: [" + ruleFile + "]\n" + string(slackConfig("none", slackReceiver))[len("rules:\n  packs: [none]\n"):]
	deps := testDeps(t)
	deps.DryRun = true
	_, err := Build(context.Background(), []byte(cfg), deps)
	if err == nil || err.Error() != `detector "signin-failure-burst" has the id of a loaded rule; rename or disable one of them` {
		t.Fatalf("error %v", err)
	}
}
