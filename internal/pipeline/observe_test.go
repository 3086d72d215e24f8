package pipeline

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
)

// alertLines describes alerts for comparison: rule, event, annotation and
// summary of each, in order.
func alertLines(alerts []*event.Alert) []string {
	var out []string
	for _, a := range alerts {
		out = append(out, fmt.Sprintf("%s %s %q %q", a.Rule.ID, a.Event.ID(), a.Annotation, a.Summary))
	}
	return out
}

// TestObserveIsAlertsWithoutRules runs the same events through Alerts on
// one pipeline and through Rules().Alerts then Observe on another: the
// alerts, their order and the error text are the same.
func TestObserveIsAlertsWithoutRules(t *testing.T) {
	build := func(extra ...Detector) *Pipeline {
		deps := testDeps(t)
		deps.DryRun = true
		dc, err := detect.ParseConfig([]byte("detectors:\n  - id: signin-failure-burst\n    threshold: 3\n"))
		if err != nil {
			t.Fatal(err)
		}
		deps.DetectConfig = dc
		deps.Detectors = extra
		p, err := Build(context.Background(), slackConfig("signin", slackReceiver), deps)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	whole, split := build(fakeDetector{id: "new-network"}), build(fakeDetector{id: "new-network"})
	evs := append(failedLogins(t, 4), events(t, "iam-user-console-login.json")...)
	detectorAlerts := 0
	for _, ev := range evs {
		want, wantErr := whole.Alerts(context.Background(), ev)
		got, err := split.Rules().Alerts(context.Background(), ev)
		more, obsErr := split.Observe(context.Background(), ev)
		got = append(got, more...)
		err = errors.Join(err, obsErr)
		detectorAlerts += len(more)
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
	if detectorAlerts < 2 {
		t.Fatalf("only %d detector alerts: the test does not exercise the detectors", detectorAlerts)
	}
}
