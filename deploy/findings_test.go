package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/trailwatch/trailwatch/internal/rule/pattern"
)

// findingRules are the rules of FindingSources in each template, by the
// condition each needs.
var findingRules = map[string]map[string]string{
	"trailwatch.yaml": {
		"GuardDutyFindingsRule":   "GuardDutyFindings",
		"SecurityHubFindingsRule": "SecurityHubFindings",
	},
	"region-forwarder.yaml": {
		"GuardDutyFindingsForwardRule":   "ForwardGuardDutyFindings",
		"SecurityHubFindingsForwardRule": "ForwardSecurityHubFindings",
	},
}

// TestFindingsSubscription pins the optional finding subscription: off by
// default, one rule per service under its condition, the same pattern in
// the forwarder and on the central bus, exact aws. sources (nobody else can
// put them), and every failure kept in a dead-letter queue only those rules
// may write to.
func TestFindingsSubscription(t *testing.T) {
	patterns := map[string]string{}
	for name, rules := range findingRules {
		tpl := load(t, name)
		p, _ := tpl.Parameters["FindingSources"].(map[string]any)
		if p["Default"] != "none" || toString(p["AllowedValues"]) != "[none guardduty securityhub guardduty-and-securityhub]" {
			t.Errorf("%s: FindingSources is %v; want none by default, of none, guardduty, securityhub, guardduty-and-securityhub", name, p)
		}
		for id, cond := range rules {
			r, ok := tpl.Resources[id]
			if !ok || r.Type != "AWS::Events::Rule" || r.Condition != cond {
				t.Errorf("%s: %s is %q under %q; want an AWS::Events::Rule under %q", name, id, r.Type, r.Condition, cond)
				continue
			}
			pat := toString(r.Properties["EventPattern"])
			if !strings.Contains(pat, "source:[aws.guardduty]") && !strings.Contains(pat, "source:[aws.securityhub]") {
				t.Errorf("%s: %s pattern %s does not pin an aws. source", name, id, pat)
			}
			key := strings.TrimSuffix(strings.TrimSuffix(id, "ForwardRule"), "Rule")
			if prev, ok := patterns[key]; ok && prev != pat {
				t.Errorf("%s: %s pattern %s differs from the other template's %s", name, id, pat, prev)
			}
			patterns[key] = pat
		}
	}

	tpl := load(t, "trailwatch.yaml")
	for id, cond := range findingRules["trailwatch.yaml"] {
		targets := toString(tpl.Resources[id].Properties["Targets"])
		for _, want := range []string{"Arn:map[Fn::GetAtt:[Function Arn]]", "DeadLetterConfig:map[Arn:map[Fn::GetAtt:[FindingsDeadLetterQueue Arn]]]", "RetryPolicy:map[MaximumEventAgeInSeconds:"} {
			if !strings.Contains(targets, want) {
				t.Errorf("%s targets %s lack %s", id, targets, want)
			}
		}
		perm := tpl.Resources[id+"Permission"]
		if perm.Condition != cond || toString(perm.Properties["SourceArn"]) != "map[Fn::GetAtt:["+id+" Arn]]" {
			t.Errorf("%sPermission: condition %q, source %s", id, perm.Condition, toString(perm.Properties["SourceArn"]))
		}
	}
	dlq := toString(tpl.Resources["FindingsDeadLetterQueuePolicy"].Properties["PolicyDocument"])
	for _, want := range []string{"GuardDutyFindingsRule Arn", "SecurityHubFindingsRule Arn", "Service:events.amazonaws.com", "sqs:SendMessage"} {
		if !strings.Contains(dlq, want) {
			t.Errorf("findings dead-letter queue policy %s lacks %s", dlq, want)
		}
	}
	for _, id := range []string{"FindingsDeadLetterQueue", "FindingsDeadLetterQueuePolicy"} {
		if tpl.Resources[id].Condition != "HasFindings" {
			t.Errorf("%s is created without findings", id)
		}
	}
}

// The rules let through the documented events trailwatch alerts on, and
// keep back Security Hub's archived ones: each pattern, run by trailwatch's
// own EventBridge pattern engine on the finding test events.
func TestFindingPatternsMatchDocumentedEvents(t *testing.T) {
	tpl := load(t, "trailwatch.yaml")
	for _, c := range []struct {
		rule, file string
		match      bool
	}{
		{"GuardDutyFindingsRule", "guardduty-iam.json", true},
		{"SecurityHubFindingsRule", "securityhub-cis-1.13.json", true},
		{"SecurityHubFindingsRule", "securityhub-pci-archived.json", false},
		{"SecurityHubFindingsRule", "securityhub-two-findings.json", true},
		{"GuardDutyFindingsRule", "securityhub-cis-1.13.json", false},
		{"SecurityHubFindingsRule", "guardduty-iam.json", false},
	} {
		raw, err := os.ReadFile(filepath.Join("..", "testdata", "findings", c.file))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := fastjson.ParseBytes(raw)
		if err != nil {
			t.Fatal(err)
		}
		pat := tpl.Resources[c.rule].Properties["EventPattern"].(map[string]any)
		got := matchesEnvelope(t, pat, ev)
		if got != c.match {
			t.Errorf("%s on %s: matched %v, want %v", c.rule, c.file, got, c.match)
		}
	}
}

// matchesEnvelope matches an EventBridge pattern on an EventBridge event:
// its source and detail-type lists by value, its detail part with the
// pattern engine on the event's detail.
func matchesEnvelope(t *testing.T, pat map[string]any, ev *fastjson.Value) bool {
	t.Helper()
	for _, k := range []string{"source", "detail-type"} {
		want, _ := pat[k].([]any)
		got := string(ev.GetStringBytes(k))
		if !reflect.DeepEqual(want, []any(nil)) && !contains(want, got) {
			return false
		}
	}
	d, ok := pat["detail"]
	if !ok {
		return true
	}
	src, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pattern.Compile(src)
	if err != nil {
		t.Fatalf("detail pattern %s: %v", src, err)
	}
	return p.MatchValue(ev.Get("detail"))
}

func contains(list []any, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
