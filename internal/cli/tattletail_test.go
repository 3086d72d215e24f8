package cli

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// startSession is an SSM StartSession record, written by hand in the shape
// CloudTrail records the SSM API's StartSession call (request Target,
// response SessionId; the API reference gives no CloudTrail example).
const startSession = `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"},"eventTime":"2024-03-01T09:00:00Z","eventSource":"ssm.amazonaws.com","eventName":"StartSession","awsRegion":"ap-northeast-1","sourceIPAddress":"198.51.100.23","userAgent":"aws-cli/2.15.0","requestParameters":{"target":"i-0123456789abcdef0"},"responseElements":{"sessionId":"alice-0a1b2c3d4e5f67890","tokenValue":"Value hidden due to security reasons.","streamUrl":"wss://ssmmessages.ap-northeast-1.amazonaws.com/v1/data-channel/alice-0a1b2c3d4e5f67890"},"eventID":"4c9f4b1e-5b6a-4c1f-9d7e-0e6f3a2b1c00","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333"}`

// tattletailInputs returns the seed configuration, copied verbatim, and
// events: the Panther compromised-root story (two CreateAccessKey calls by
// root among twelve events) and one SSM session.
func tattletailInputs(t *testing.T) (seed, attacker, session string) {
	t.Helper()
	b, err := os.ReadFile("../../examples/tattletail.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	seed = filepath.Join(dir, "tattletail.toml")
	os.WriteFile(seed, b, 0o600)
	session = filepath.Join(dir, "start-session.json")
	os.WriteFile(session, []byte(startSession), 0o600)
	return seed, "../../testdata/sample/panther/compromised-root-creds-attacker.json.gz", session
}

// TestTattletailSeedRunsUnchanged: the seed's tattletail.toml, verbatim,
// runs with check --config: one Slack message per matching record, as
// tattletail sends them (two CreateAccessKey calls, one SSM session), the
// SSM rule's annotated with the seed's "username: … target: …" text, and
// no message carrying the whole record.
func TestTattletailSeedRunsUnchanged(t *testing.T) {
	seed, attacker, session := tattletailInputs(t)
	out, errs, code := runCmd(t, newCheckCmd(), "", "--config", seed, "--dry-run", "--raw", attacker, session)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	msgs := strings.Split(out, "--- receiver ")[1:]
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want one per matching record:\n%s", len(msgs), out)
	}
	var keys, ssms []string
	for _, m := range msgs {
		switch {
		case strings.Contains(m, "rule=create-accesskey"):
			keys = append(keys, m)
		case strings.Contains(m, "rule=ssm-start-session"):
			ssms = append(ssms, m)
		}
	}
	if len(keys) != 2 || len(ssms) != 1 {
		t.Fatalf("messages are not one per matching record:\n%s", out)
	}
	for _, m := range append(keys, ssms...) {
		if !strings.HasPrefix(m, "Slack-Audit (slack), 1 alerts") {
			t.Errorf("message:\n%s", m)
		}
	}
	if !strings.Contains(ssms[0], "username: alice-0a1b2c3d4e5f67890 target: i-0123456789abcdef0") {
		t.Errorf("the SSM message lacks the seed's annotation:\n%s", ssms[0])
	}
	// The select(...) rule returns the record itself: no annotation, and
	// the record is never pasted into a message.
	for _, k := range keys {
		if strings.Contains(k, "*Annotation*") {
			t.Errorf("a CreateAccessKey message carries an annotation:\n%s", k)
		}
	}
	if strings.Contains(out, "eventVersion") {
		t.Errorf("a message carries the whole record:\n%s", out)
	}
	if !strings.HasSuffix(errs, "13 events, 3 alerts, 0 skipped, 0 errors\n") {
		t.Errorf("stderr:\n%s", errs)
	}
}

// TestTattletailDelivers runs the seed with a reachable webhook URL in
// place of the placeholder: each matching record reaches Slack once.
func TestTattletailDelivers(t *testing.T) {
	seed, attacker, session := tattletailInputs(t)
	slack := &slackStandIn{}
	srv := httptest.NewServer(slack)
	defer srv.Close()
	b, _ := os.ReadFile(seed)
	os.WriteFile(seed, []byte(strings.Replace(string(b), "___YOUR_SLACK_WEBHOOK___", srv.URL+"/services/T0/B0/x", 1)), 0o600)
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the default file state store
	t.Setenv("HOME", t.TempDir())
	_, errs, code := runCmd(t, newCheckCmd(), "", "--config", seed, attacker, session)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	slack.mu.Lock()
	defer slack.mu.Unlock()
	if len(slack.bodies) != 3 { // one per matching record, as tattletail posts
		t.Fatalf("%d posts, want 3", len(slack.bodies))
	}
	joined := strings.Join(slack.bodies, "\n")
	if !strings.Contains(joined, "username: alice-0a1b2c3d4e5f67890 target: i-0123456789abcdef0") {
		t.Errorf("no post carries the annotation:\n%s", joined)
	}
	if strings.Contains(joined, "eventVersion") {
		t.Errorf("a post carries the whole record:\n%s", joined)
	}
}

func TestTattletailValidates(t *testing.T) {
	seed, _, _ := tattletailInputs(t)
	out, errOut, code := runConfigCmd(t, "validate", seed)
	if code != 0 || !strings.Contains(out, "rules: 2 loaded") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	bad := filepath.Join(filepath.Dir(seed), "bad.toml")
	os.WriteFile(bad, []byte("[[rule]]\nname = \"x\"\njq_mach = \".a\"\n"), 0o600)
	_, errOut, code = runConfigCmd(t, "validate", bad)
	if code != 1 || !strings.Contains(errOut, bad+`:3: rule "x" (rule[0]): unknown key "jq_mach"`) {
		t.Errorf("exit %d\n%s", code, errOut)
	}
}

func TestConvertCommand(t *testing.T) {
	seed, _, _ := tattletailInputs(t)
	out, errs, code := runCmd(t, newConvertCmd(), "", seed)
	if code != 0 || !strings.HasPrefix(out, "# ==> trailwatch.yaml <==\n") || !strings.Contains(out, "# ==> tattletail-rules.yaml <==\n") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(errs, "env:SLACK_AUDIT_WEBHOOK_URL") {
		t.Errorf("no note on the webhook URL:\n%s", errs)
	}
	dir := filepath.Join(t.TempDir(), "converted")
	if _, errs, code := runCmd(t, newConvertCmd(), "", seed, "-o", dir); code != 0 {
		t.Fatalf("-o: exit %d\n%s", code, errs)
	}
	t.Setenv("SLACK_AUDIT_WEBHOOK_URL", "https://hooks.example.test/x")
	if out, errs, code := runConfigCmd(t, "validate", filepath.Join(dir, "trailwatch.yaml")); code != 0 || !strings.Contains(out, "rules: 2 loaded") {
		t.Errorf("the converted files do not validate: exit %d\n%s%s", code, out, errs)
	}
	if _, errs, code := runCmd(t, newConvertCmd(), "", seed, "-o", dir); code != 1 || !strings.Contains(errs, "exists; convert does not overwrite files") {
		t.Errorf("overwrite: exit %d\n%s", code, errs)
	}
}

// TestCheckRuleErrorOnEveryEvent: a rule that fails on every event of the
// sample logs makes check fail, naming the rule.
func TestCheckRuleErrorOnEveryEvent(t *testing.T) {
	rules := writeTestFile(t, filepath.Join(t.TempDir(), "r.yaml"), `rules:
  - id: adds
    title: Adds
    severity: low
    jq: '.eventTime + 1'
`)
	_, errs, code := runCmd(t, newCheckCmd(), "", "--packs", "none", "--rules", rules, "../../testdata/sample")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(errs, `trailwatch: rule "adds" on `) || !strings.HasSuffix(errs, "529 events, 0 alerts, 0 skipped, 529 errors\n") {
		t.Errorf("stderr ends:\n%s", errs[max(0, len(errs)-400):])
	}
}
