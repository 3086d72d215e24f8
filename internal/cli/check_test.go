package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
)

// run executes cmd with args and stdin, returning stdout, stderr and the
// exit code Main would return.
func runCmd(t *testing.T, cmd *cobra.Command, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err := cmd.Execute()
	code := 0
	if err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			code = ee.Code
			if ee.Err != nil {
				errb.WriteString(ee.Err.Error() + "\n")
			}
		} else {
			code = 1
			errb.WriteString(err.Error() + "\n")
		}
	}
	return out.String(), errb.String(), code
}

const checkRules = `rules:
  - id: root-console-login
    title: Root user signed in to the console
    severity: critical
    summary: 'Root console sign-in {{.LoginResult}} from {{.SourceIP}}'
    pattern: {detail-type: [AWS Console Sign In via CloudTrail], detail: {eventName: [ConsoleLogin], userIdentity: {type: [Root]}}}
  - id: login-arn
    title: Console sign-in
    severity: info
    jq: 'select(.eventName == "ConsoleLogin") | .userIdentity.arn'
  - id: create-user
    title: IAM user created
    severity: medium
    summary: 'user {{.Field "requestParameters.userName"}} created'
    filter: '{ $.eventName = CreateUser }'
`

const (
	rootLogin  = `{"eventVersion":"1.05","userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2022-11-10T16:24:34Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.0","responseElements":{"ConsoleLogin":"Success"},"eventID":"deb1e1f9-c99b-4612-8e9f-21f93b5d79c0","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}`
	createUser = `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"ev\u001b[31mil","arn":"arn:aws:iam::111122223333:user/evil","accountId":"111122223333"},"eventTime":"2023-07-10T11:50:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","requestParameters":{"userName":"back\ndoor"},"eventID":"e-create","eventType":"AwsApiCall","recipientAccountId":"111122223333"}`
	listBucket = `{"eventName":"ListBuckets","eventTime":"2023-07-10T11:51:00Z","eventID":"e-list","userIdentity":{"type":"IAMUser","userName":"bob"}}`
)

func writeTestFile(t *testing.T, name, data string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func checkFixture(t *testing.T) (rules, log string) {
	dir := t.TempDir()
	rules = writeTestFile(t, filepath.Join(dir, "mine.yaml"), checkRules)
	log = writeTestFile(t, filepath.Join(dir, "log.json"), `{"Records":[`+rootLogin+`,`+createUser+`,`+listBucket+`]}`)
	return rules, log
}

func TestCheckTable(t *testing.T) {
	rules, log := checkFixture(t)
	out, errs, code := runCmd(t, newCheckCmd(), "", "--packs", "none", "--rules", rules, "--timezone", "Asia/Tokyo", log)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("output:\n%s", out)
	}
	for i, w := range []string{
		"TIME  SEVERITY  RULE  EVENT  PRINCIPAL  SOURCE IP  ACCOUNT  REGION  SUMMARY",
		"2022-11-11 01:24:34 JST  critical  root-console-login  ConsoleLogin  root  192.0.2.0  111122223333  us-east-1  Root console sign-in Success from 192.0.2.0",
		"2022-11-11 01:24:34 JST  info  login-arn  ConsoleLogin  root  192.0.2.0  111122223333  us-east-1  Console sign-in [arn:aws:iam::111122223333:root]",
		`2023-07-10 20:50:00 JST  medium  create-user  CreateUser  ev\x1b[31mil  198.51.100.7  111122223333  us-east-1  user back\x0adoor created`,
	} {
		if got := strings.Join(strings.Fields(lines[i]), "  "); got != strings.Join(strings.Fields(w), "  ") {
			t.Errorf("line %d:\n%s\nwant:\n%s", i, got, w)
		}
	}
	if strings.ContainsAny(out, "\x1b") {
		t.Error("escape character reached the terminal")
	}
	if errs != "3 events, 3 alerts, 0 skipped, 0 errors\n" {
		t.Errorf("stderr = %q", errs)
	}
}

func TestCheckJSON(t *testing.T) {
	rules, log := checkFixture(t)
	out, errs, code := runCmd(t, newCheckCmd(), "", "--packs", "none", "--rules", rules, "--format", "json", log)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	var got []map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if len(got) != 3 {
		t.Fatalf("%d alerts:\n%s", len(got), out)
	}
	first := got[0]
	for k, v := range map[string]any{
		"rule": "root-console-login", "title": "Root user signed in to the console", "severity": "critical",
		"event_id": "deb1e1f9-c99b-4612-8e9f-21f93b5d79c0", "event_name": "ConsoleLogin", "time": "2022-11-10T16:24:34Z",
		"account": "111122223333", "region": "us-east-1", "principal": "root", "source_ip": "192.0.2.0",
		"summary": "Root console sign-in Success from 192.0.2.0", "annotation": "", "index": float64(0),
	} {
		if first[k] != v {
			t.Errorf("%s = %#v; want %#v", k, first[k], v)
		}
	}
	if got[1]["annotation"] != "arn:aws:iam::111122223333:root" || got[2]["summary"] != "user back\ndoor created" {
		t.Errorf("second and third alerts: %v %v", got[1], got[2])
	}
}

func TestCheckStdinAndFailOn(t *testing.T) {
	rules, _ := checkFixture(t)
	stdin := rootLogin + "\n" + listBucket + "\n"
	tests := []struct {
		failOn string
		code   int
	}{{"critical", 2}, {"high", 2}, {"", 0}}
	for _, tc := range tests {
		args := []string{"--packs", "none", "--rules", rules, "--format", "json"}
		if tc.failOn != "" {
			args = append(args, "--fail-on", tc.failOn)
		}
		_, errs, code := runCmd(t, newCheckCmd(), stdin, args...)
		if code != tc.code || errs != "2 events, 2 alerts, 0 skipped, 0 errors\n" {
			t.Errorf("--fail-on %q: exit %d, stderr %q; want exit %d", tc.failOn, code, errs, tc.code)
		}
	}
	// Only an info alert fires: below --fail-on low.
	_, _, code := runCmd(t, newCheckCmd(), listBucket+"\n"+strings.Replace(rootLogin, `"Root"`, `"IAMUser"`, 1), "--packs", "none", "--rules", rules, "--fail-on", "low", "-")
	if code != 0 {
		t.Errorf("info alert with --fail-on low: exit %d", code)
	}
}

func TestCheckInputProblems(t *testing.T) {
	rules, log := checkFixture(t)
	dir := filepath.Dir(log)
	bad := writeTestFile(t, filepath.Join(dir, "bad.jsonl"), rootLogin+"\n"+listBucket+"\n{\"eventName\": \n")
	missing := filepath.Join(dir, "missing.json")
	out, errs, code := runCmd(t, newCheckCmd(), "", "--packs", "none", "--rules", rules, "--format", "json", bad, missing)
	if code != 1 {
		t.Errorf("exit %d; want 1 for an unreadable input", code)
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("%d alerts; want 2:\n%s", n, out)
	}
	lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "trailwatch: "+bad+" record 2: ") ||
		!strings.HasPrefix(lines[1], "trailwatch: "+missing+": ") ||
		lines[2] != "2 events, 2 alerts, 0 skipped, 2 errors" {
		t.Errorf("stderr:\n%s", errs)
	}
	// A record that cannot be decoded fails the run too, named on stderr.
	_, errs, code = runCmd(t, newCheckCmd(), "", "--packs", "none", "--rules", rules, bad)
	if code != 1 || !strings.HasPrefix(errs, "trailwatch: "+bad+" record 2: ") {
		t.Errorf("record error: exit %d; want 1\n%s", code, errs)
	}
}

func TestCheckSkipped(t *testing.T) {
	rules, _ := checkFixture(t)
	// A non-CloudTrail EventBridge event is skipped on purpose.
	ec2 := `{"version":"0","id":"1","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"111122223333","time":"2023-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{"instance-id":"i-1","state":"running"}}`
	_, errs, code := runCmd(t, newCheckCmd(), ec2, "--packs", "none", "--rules", rules)
	if code != 0 || !strings.HasSuffix(errs, "0 events, 0 alerts, 1 skipped, 0 errors\n") || !strings.HasPrefix(errs, "trailwatch: skipped ") {
		t.Errorf("exit %d, stderr:\n%s", code, errs)
	}
}

func TestCheckRuleErrorsReported(t *testing.T) {
	dir := t.TempDir()
	rules := writeTestFile(t, filepath.Join(dir, "r.yaml"), `rules:
  - id: adds
    title: Adds
    severity: low
    jq: '.userIdentity.type + 1'
`)
	_, errs, code := runCmd(t, newCheckCmd(), listBucket, "--packs", "none", "--rules", rules)
	want := "trailwatch: rule \"adds\" on - record 0: jq: runtime error: cannot add: string (\"IAMUser\") and number (1)\n" +
		"1 events, 0 alerts, 0 skipped, 1 errors\n"
	if code != 1 || errs != want {
		t.Errorf("exit %d (want 1), stderr:\n%s", code, errs)
	}
}

func TestCheckFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--format", "yaml"}, `unknown --format "yaml"; use table or json`},
		{[]string{"--timezone", "Mars/Olympus"}, `--timezone "Mars/Olympus": unknown time zone Mars/Olympus`},
		{[]string{"--fail-on", "urgent"}, `--fail-on: unknown severity "urgent" (want one of info, low, medium, high, critical)`},
		{[]string{"--packs", "nope"}, `unknown pack "nope"; the built-in packs are `},
	}
	for _, tc := range tests {
		_, errs, code := runCmd(t, newCheckCmd(), "", tc.args...)
		if code != 1 || !strings.HasPrefix(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, code, errs, tc.want)
		}
	}
}

// TestCheckBuiltinInvictus runs the built-in packs over the Invictus attack
// logs: the Stratus Red Team run stops CloudTrail logging, creates access
// keys and login profiles, so those rules must fire.
func TestCheckBuiltinInvictus(t *testing.T) {
	out, errs, code := runCmd(t, newCheckCmd(), "", "--format", "json", ingesttest.InvictusDir(t))
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	if !strings.HasPrefix(errs, "2900 events, ") || !strings.HasSuffix(errs, " 0 skipped, 0 errors\n") {
		t.Errorf("stderr: %s", errs)
	}
	fired := map[string]int{}
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var a struct {
			Rule      string `json:"rule"`
			EventName string `json:"event_name"`
		}
		if err := dec.Decode(&a); err != nil {
			t.Fatal(err)
		}
		if a.Rule == "" || a.EventName == "" {
			t.Fatalf("alert without rule or event name: %+v", a)
		}
		fired[a.Rule]++
	}
	// The attack steps of the Stratus Red Team run, each caught.
	for rule, want := range map[string]int{
		"cloudtrail-deleted":                 2,
		"cloudtrail-event-selectors-changed": 2,
		"vpc-flow-logs-deleted":              1,
		"organization-left":                  1,
		"login-profile-changed":              2,
		"console-login-without-mfa":          1,
	} {
		if fired[rule] != want {
			t.Errorf("rule %s fired %d times on the attack logs; want %d (all: %v)", rule, fired[rule], want, fired)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\ nl\n tab\t cr\r", "<script>&amp;</script>", "\x00\x1f\x7f\b\f", "\u2028\u2029", "bad\xff\xfeutf8", "日本語", "\U0001F600"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %s; encoding/json gives %s", s, got, want)
		}
		if got := appendJSONString(nil, []byte(s)); string(got) != string(want) {
			t.Errorf("appendJSONString([]byte(%q)) = %s; encoding/json gives %s", s, got, want)
		}
	})
}
