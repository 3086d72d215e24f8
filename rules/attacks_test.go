package rules_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
	"github.com/trailwatch/trailwatch/internal/pipeline"
)

// attackStep is one step of a recorded attack that the default
// configuration must report: at least one of the events it selects raises
// an alert.
type attackStep struct {
	name string
	// source is "stratus" (the Invictus Stratus Red Team run: the user agent
	// names stratus-red-team) or "root" (Panther's compromised-root-creds
	// attacker).
	source string
	// event names the step's calls ("A|B" for either); error, when set,
	// requires an error code (a refused or failed attempt).
	event string
	error bool
}

// attackSteps are the attack techniques in testdata/sample and the Invictus
// logs that the built-in packs caught before the defaults were made quiet;
// each must still be caught by the default configuration, thresholds and
// detectors included.
var attackSteps = []attackStep{
	{"Lambda function opened to another account", "stratus", "AddPermission20150331v2", false},
	{"Lambda code overwritten", "stratus", "UpdateFunctionCode20150331v2", false},
	{"role assumption refused again and again", "stratus", "AssumeRole", true},
	{"instance user data read refused again and again", "stratus", "DescribeInstanceAttribute", true},
	{"Windows passwords harvested", "stratus", "GetPasswordData", true},
	{"secrets harvested", "stratus", "GetSecretValue", false},
	{"SecureString parameters harvested", "stratus", "GetParameter|GetParameters", false},
	{"administrator policy attached to a new user", "stratus", "AttachUserPolicy", false},
	{"SSH opened to the internet", "stratus", "AuthorizeSecurityGroupIngress", false},
	{"console sign-in without MFA", "stratus", "ConsoleLogin", false},
	{"access key for another user", "stratus", "CreateAccessKey", false},
	{"console password for a user", "stratus", "CreateLoginProfile", false},
	{"IAM user created", "stratus", "CreateUser", false},
	{"Roles Anywhere trust anchor", "stratus", "CreateTrustAnchor", false},
	{"Roles Anywhere profile", "stratus", "CreateProfile", false},
	{"VPC flow logs deleted", "stratus", "DeleteFlowLogs", false},
	{"CloudTrail trail deletion attempted", "stratus", "DeleteTrail", true},
	{"CloudTrail logging stop attempted", "stratus", "StopLogging", true},
	{"CloudTrail event selectors narrowed", "stratus", "PutEventSelectors", false},
	{"CloudTrail logs set to expire", "stratus", "PutBucketLifecycle", false},
	{"organization left", "stratus", "LeaveOrganization", true},
	{"RDS snapshot shared", "stratus", "ModifyDBSnapshotAttribute", false},
	{"AMI shared", "stratus", "ModifyImageAttribute", false},
	{"EBS snapshot shared", "stratus", "ModifySnapshotAttribute", false},
	{"bucket policy granting another account", "stratus", "PutBucketPolicy", false},
	{"GPU instances launched", "stratus", "RunInstances", true},
	{"command sent to instances", "stratus", "SendCommand", false},
	{"role trust policy backdoored", "stratus", "UpdateAssumeRolePolicy", false},
	{"root password guessed", "root", "ConsoleLogin", false},
	{"root CloudTrail stop attempted", "root", "StopLogging", true},
	{"root access key created", "root", "CreateAccessKey", false},
	{"root creates a user", "root", "CreateUser", false},
	{"root attaches policies", "root", "AttachUserPolicy", false},
	{"GPU instance launched with the new user", "root", "RunInstances", false},
}

// attackEvents returns the Invictus records and the Panther
// compromised-root-creds story, each marked with its source, sorted by
// event time as they would arrive.
func attackEvents(t *testing.T) []*event.Event {
	t.Helper()
	var out []*event.Event
	for i, raw := range ingesttest.InvictusRecords(t) {
		ev, err := event.Parse(raw, event.Origin{Input: "invictus", Index: i})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	for _, f := range []string{"compromised-root-creds-victim.json.gz", "compromised-root-creds-attacker.json.gz"} {
		b, err := ingesttest.ReadGzipFile("../testdata/sample/panther/" + f)
		if err != nil {
			t.Fatal(err)
		}
		var log struct{ Records []json.RawMessage }
		if err := json.Unmarshal(b, &log); err != nil {
			t.Fatal(err)
		}
		for i, raw := range log.Records {
			ev, err := event.Parse(raw, event.Origin{Input: f, Index: i})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ev)
		}
	}
	slices.SortStableFunc(out, func(a, b *event.Event) int { return a.Time().Compare(b.Time()) })
	return out
}

// sourceOf tells which attack an event belongs to, if any.
func sourceOf(ev *event.Event) string {
	switch {
	case strings.Contains(ev.UserAgent(), "stratus-red-team_"):
		return "stratus"
	case ev.Origin().Input == "compromised-root-creds-attacker.json.gz":
		return "root"
	}
	return ""
}

// TestAttacksStillCaught runs the recorded attacks through the default
// configuration, as a deployment would see them, and checks that every
// attack step raises at least one alert.
func TestAttacksStillCaught(t *testing.T) {
	evs := attackEvents(t)
	for _, miss := range caughtSteps(t, evs, attackSteps) {
		t.Error(miss)
	}
}

// TestDetonationsAloneCaught: the Stratus Red Team run prepares each
// technique with Terraform (which reads back the secrets and parameters it
// wrote) before detonating it. The thresholded steps must be caught on the
// detonation's own calls, without the preparation's help.
func TestDetonationsAloneCaught(t *testing.T) {
	var detonation []*event.Event
	for _, ev := range attackEvents(t) {
		if strings.HasPrefix(ev.UserAgent(), "stratus-red-team_") {
			detonation = append(detonation, ev)
		}
	}
	var steps []attackStep
	for _, s := range attackSteps {
		switch s.event {
		case "GetSecretValue", "GetParameter|GetParameters", "GetPasswordData", "AssumeRole", "DescribeInstanceAttribute":
			steps = append(steps, s)
		}
	}
	for _, miss := range caughtSteps(t, detonation, steps) {
		t.Error(miss)
	}
}

// caughtSteps runs evs, in order, through a dry-run pipeline of the
// default configuration and returns a message for each step none of whose
// events alerted.
func caughtSteps(t *testing.T, evs []*event.Event, steps []attackStep) []string {
	t.Helper()
	ctx := context.Background()
	p, err := pipeline.New(ctx, config.Default(), pipeline.Deps{
		DryRun:    true,
		OnMessage: func(pipeline.Message) {},
		Now:       func() time.Time { return time.Date(2023, 7, 10, 13, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	type key struct {
		source, event string
		error         bool
	}
	seen := map[key]int{}
	caught := map[key][]string{}
	for _, ev := range evs {
		alerts, err := p.Alerts(ctx, ev)
		if err != nil {
			t.Fatalf("%s: %v", ev, err)
		}
		src := sourceOf(ev)
		if src == "" {
			continue
		}
		k := key{src, ev.Name(), ev.ErrorCode() != ""}
		seen[k]++
		for _, a := range alerts {
			caught[k] = append(caught[k], a.Rule.ID)
		}
	}
	var missed []string
	for _, s := range steps {
		var n int
		var by []string
		for _, name := range strings.Split(s.event, "|") {
			k := key{s.source, name, s.error}
			n += seen[k]
			by = append(by, caught[k]...)
		}
		switch {
		case n == 0:
			missed = append(missed, fmt.Sprintf("%s: no %s event %s (error %v) in the logs; fix the step", s.name, s.source, s.event, s.error))
		case len(by) == 0:
			missed = append(missed, fmt.Sprintf("%s (%s %s): none of %d events alerted with the default configuration", s.name, s.source, s.event, n))
		default:
			t.Logf("%-48s %3d events, alerts by %s", s.name, n, strings.Join(compact(by), ", "))
		}
	}
	return missed
}

// compact counts repeated rule ids: "a ×3, b".
func compact(ids []string) []string {
	n := map[string]int{}
	for _, id := range ids {
		n[id]++
	}
	keys := make([]string, 0, len(n))
	for id := range n {
		keys = append(keys, id)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(n[b], n[a]), cmp.Compare(a, b)) })
	out := make([]string, len(keys))
	for i, id := range keys {
		out[i] = id
		if n[id] > 1 {
			out[i] = fmt.Sprintf("%s ×%d", id, n[id])
		}
	}
	return out
}
