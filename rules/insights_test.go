package rules

import (
	"context"
	"io/fs"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/rule"
)

// The Insights pack says, on the AWS documentation's Insights events and in
// both languages, which API ran how far above its baseline, and whether the
// unusual activity began or ended.
func TestInsightsSummaries(t *testing.T) {
	rs, err := rule.Load(rule.Selection{Builtin: FS, Packs: []string{"insights"}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := rule.NewSet(rs...)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file, rule, en, ja string
	}{
		{"testdata/insights/ssm-call-rate-start.json", "cloudtrail-insight-start",
			"Calls to ssm:UpdateInstanceInformation rose to 664 a minute against a usual 85.4 (7.8 times the baseline)",
			"ssm:UpdateInstanceInformation の呼び出しが毎分 664 件に増えました (通常は毎分 85.4 件、7.8 倍)"},
		{"testdata/insights/autoscaling-call-rate-start.json", "cloudtrail-insight-start",
			"Calls to autoscaling:CompleteLifecycleAction rose to 0.6 a minute against a usual 0.0000882 (6800 times the baseline); top caller arn:aws:sts::012345678901:assumed-role/CodeDeployRole1",
			"autoscaling:CompleteLifecycleAction の呼び出しが毎分 0.6 件に増えました (通常は毎分 0.0000882 件、6800 倍)。主な呼び出し元: arn:aws:sts::012345678901:assumed-role/CodeDeployRole1"},
		{"testdata/insights/ssm-call-rate-end.json", "cloudtrail-insight-end",
			"Unusual calls to ssm:UpdateInstanceInformation ended after 1 min: 664 a minute against a usual 85.4 (7.8 times the baseline)",
			"ssm:UpdateInstanceInformation の呼び出しの急増が終わりました (1 分間): 期間中は毎分 664 件 (通常は毎分 85.4 件、7.8 倍)"},
	} {
		raw, err := fs.ReadFile(FS, c.file)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := event.Parse(raw, event.Origin{Input: c.file})
		if err != nil {
			t.Fatal(err)
		}
		alerts, err := set.Alerts(context.Background(), ev)
		if err != nil || len(alerts) != 1 || alerts[0].Rule.ID != c.rule {
			t.Fatalf("%s: %d alerts (%v), want one of %s", c.file, len(alerts), err, c.rule)
		}
		if got := alerts[0].Summary; got != c.en {
			t.Errorf("%s:\n got %q\nwant %q", c.file, got, c.en)
		}
		if got := alerts[0].SummaryIn("ja"); got != c.ja {
			t.Errorf("%s (ja):\n got %q\nwant %q", c.file, got, c.ja)
		}
	}

	// An error-rate insight names the error code it is about.
	ev := event.MustParse(`{"eventVersion":"1.08","eventType":"AwsCloudTrailInsight","eventID":"e","eventTime":"2024-05-02T13:00:00Z","insightDetails":{"state":"Start","eventSource":"iam.amazonaws.com","eventName":"GetRole","insightType":"ApiErrorRateInsight","errorCode":"AccessDenied","insightContext":{"statistics":{"baseline":{"average":0.0125},"insight":{"average":42}}}}}`)
	alerts, err := set.Alerts(context.Background(), ev)
	if err != nil || len(alerts) != 1 {
		t.Fatalf("%d alerts, %v", len(alerts), err)
	}
	if got, want := alerts[0].Summary, "Errors from iam:GetRole rose to 42 a minute against a usual 0.0125 (3360 times the baseline); top error AccessDenied"; got != want {
		t.Errorf("error rate:\n got %q\nwant %q", got, want)
	}
}
