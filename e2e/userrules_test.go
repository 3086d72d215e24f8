package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The team's own configuration, rule file and trusted-network file, kept
// together under one S3 prefix, as docs/deploy.md ("Your own rules")
// describes.
const (
	configBucket = "team-config"
	configPrefix = "trailwatch/"

	userConfig = `rules:
  packs: none
  files: [rules/*.yaml, networks.yaml]
receivers:
  - name: security-slack
    slack:
      webhook_url: env:SLACK_WEBHOOK_URL
route:
  receiver: security-slack
  group_by: [rule]
state:
  backend: dynamodb
  table: trailwatch-state
`
	userRule = `rules:
  - id: our-console-login
    title: Console sign-in (our rule)
    severity: high
    pattern:
      detail-type: [AWS Console Sign In via CloudTrail]
      detail: {eventName: [ConsoleLogin]}
`
	brokenRule = `rules:
  - id: our-console-login
    title: Console sign-in (our rule)
    severity: high
    patern:
      detail-type: [AWS Console Sign In via CloudTrail]
`
	changedRule = `rules:
  - id: our-root-login
    title: Root sign-in (our rule, second version)
    severity: critical
    pattern:
      eventName: [ConsoleLogin]
      userIdentity: {type: [Root]}
`
	userNetworks = `networks:
  office: [203.0.113.0/24]
detectors:
  - id: our-untrusted-sign-in
    kind: trusted-network
    severity: high
    networks: [office]
`
)

// signin returns the EventBridge console sign-in example with its own
// event id, so each invocation is a new event rather than a redelivery.
func signin(t *testing.T, id string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(readTestdata(t, "eventbridge-signin.json"), &ev); err != nil {
		t.Fatal(err)
	}
	ev["detail"].(map[string]any)["eventID"] = id
	ev["id"] = id
	return mustJSON(t, ev)
}

// TestUserRulesFromS3: the function reads its configuration from S3 and,
// beside it, the team's rule file and trusted-network file; both alert on
// a matching event. A broken rule file in a reload keeps the last good set,
// with the reason logged; a good change is picked up at the next reload,
// though the configuration itself did not change.
func TestUserRulesFromS3(t *testing.T) {
	f := newFixture(t, "none", "env")
	f.s3.put(t, configBucket, configPrefix+"trailwatch.yaml", []byte(userConfig))
	f.s3.put(t, configBucket, configPrefix+"rules/ours.yaml", []byte(userRule))
	f.s3.put(t, configBucket, configPrefix+"networks.yaml", []byte(userNetworks))
	f.env["TRAILWATCH_CONFIG"] = "s3://" + configBucket + "/" + configPrefix + "trailwatch.yaml"
	f.env["TRAILWATCH_CONFIG_RELOAD_INTERVAL"] = "1s"
	fn := f.start(t)

	wantSucceeded(t, f.rt.invoke(t, fn, signin(t, "11111111-0000-4000-8000-000000000001"), time.Minute))
	wantRules(t, f.slack, []string{"our-console-login", "our-untrusted-sign-in"})

	// A broken rule file: the next reload fails and the last good set,
	// the rule and the trusted networks, keeps alerting.
	f.s3.put(t, configBucket, configPrefix+"rules/ours.yaml", []byte(brokenRule))
	time.Sleep(1200 * time.Millisecond)
	wantSucceeded(t, f.rt.invoke(t, fn, signin(t, "11111111-0000-4000-8000-000000000002"), time.Minute))
	wantRules(t, f.slack, []string{"our-console-login", "our-untrusted-sign-in"}, []string{"our-console-login", "our-untrusted-sign-in"})
	logs := fn.stderr.String()
	if !strings.Contains(logs, `"msg":"config_reload_failed"`) ||
		!strings.Contains(logs, `s3://team-config/trailwatch/rules/ours.yaml:5: rule \"our-console-login\": unknown key \"patern\"`) {
		t.Fatalf("the failed reload is not logged with its reason:\n%s", logs)
	}

	// A good change to the rule file alone is loaded.
	f.s3.put(t, configBucket, configPrefix+"rules/ours.yaml", []byte(changedRule))
	time.Sleep(1200 * time.Millisecond)
	wantSucceeded(t, f.rt.invoke(t, fn, signin(t, "11111111-0000-4000-8000-000000000003"), time.Minute))
	wantRules(t, f.slack, []string{"our-console-login", "our-untrusted-sign-in"}, []string{"our-console-login", "our-untrusted-sign-in"},
		[]string{"our-root-login", "our-untrusted-sign-in"})
	if !strings.Contains(fn.stderr.String(), `"msg":"config_reloaded"`) {
		t.Errorf("no config_reloaded line:\n%s", fn.stderr.String())
	}
}
