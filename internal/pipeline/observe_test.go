package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
)

// alertLines describes alerts for comparison: rule, event, annotation and
// summary of each, in order.
func alertLines(alerts []*event.Alert) []string {
	var out []string
	for _, a := range alerts {
		id := ""
		if a.Event != nil {
			id = a.Event.ID()
		}
		out = append(out, fmt.Sprintf("%s %s %q %q", a.Rule.ID, id, a.Annotation, a.Summary))
	}
	return out
}

// passwordDataCalls returns n GetPasswordData calls by one IAM user a
// minute apart: compute.yaml's thresholded rule alerts on the fifth.
func passwordDataCalls(t *testing.T, n int) []*event.Event {
	t.Helper()
	var out []*event.Event
	for i := range n {
		s := fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/mallory","accountId":"111122223333","userName":"mallory"},"eventTime":"2023-07-10T12:%02d:00Z","eventSource":"ec2.amazonaws.com","eventName":"GetPasswordData","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.13.0","requestParameters":{"instanceId":"i-0%015d"},"responseElements":null,"eventID":"5e6f0000-0000-4000-8000-%012d","eventType":"AwsApiCall","recipientAccountId":"111122223333"}`, i, i, i)
		ev, err := event.Parse([]byte(s), event.Origin{Input: "password-data"})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// TestMatchThenAlertsOfIsAlerts runs the same events through Scope.Alerts
// on one pipeline and through Match (as a worker runs it) then
// Scope.AlertsOf (as the reading goroutine does, in order) on another:
// the alerts, their order and the error text are the same, for rules,
// thresholded rules, detectors and findings.
func TestMatchThenAlertsOfIsAlerts(t *testing.T) {
	build := func(extra ...Detector) *Pipeline {
		deps := testDeps(t)
		deps.DryRun = true
		dc, err := detect.ParseConfig([]byte("detectors:\n  - id: signin-failure-burst\n    threshold: 3\n"))
		if err != nil {
			t.Fatal(err)
		}
		deps.DetectConfig = dc
		deps.Detectors = extra
		p, err := Build(context.Background(), slackConfig("signin, compute", slackReceiver), deps)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	whole, split := build(fakeDetector{id: "new-network"}), build(fakeDetector{id: "new-network"})
	evs := append(failedLogins(t, 4), events(t, "iam-user-console-login.json")...)
	evs = append(evs, passwordDataCalls(t, 6)...)
	for ev, err := range ingest.New(ingest.Options{}).Paths(context.Background(), []string{"../../testdata/findings/guardduty-iam.json"}) {
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev.Clone())
	}

	ctx := context.Background()
	ws, ss := whole.NewScope(), split.NewScope()
	var detectorAlerts, thresholdAlerts, findingAlerts int
	for _, ev := range evs {
		want, wantErr := ws.Alerts(ctx, ev)
		m, merr := split.Match(ctx, ev)
		got, err := ss.AlertsOf(ctx, ev, m, merr)
		for _, a := range got {
			switch {
			case a.Finding != nil:
				findingAlerts++
			case a.Rule.ID == "new-network" || strings.HasPrefix(a.Rule.ID, "signin-failure"):
				detectorAlerts++
			case a.Rule.ID == "ec2-password-data-burst" || strings.Contains(a.Rule.ID, "password"):
				thresholdAlerts++
			}
		}
		if fmt.Sprint(alertLines(got)) != fmt.Sprint(alertLines(want)) {
			t.Fatalf("%s: split gives %q, Alerts %q", ev.ID(), alertLines(got), alertLines(want))
		}
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("%s: split error %v, Alerts error %v", ev.ID(), err, wantErr)
		}
		var de *DetectorError
		if wantErr != nil && errors.As(wantErr, &de) != errors.As(err, &de) {
			t.Fatalf("%s: the detector error is not a *DetectorError", ev.ID())
		}
	}
	if err := errors.Join(ws.End(ctx), ss.End(ctx)); err != nil {
		t.Fatal(err)
	}
	if detectorAlerts < 2 || thresholdAlerts != 1 || findingAlerts < 1 {
		t.Fatalf("%d detector, %d threshold and %d finding alerts: the test does not exercise every kind", detectorAlerts, thresholdAlerts, findingAlerts)
	}
}
