package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rootLoginEvent is the AWS CloudTrail User Guide's "Root user, successful
// sign-in without MFA" example (awsdocs/aws-cloudtrail-user-guide,
// doc_source/cloudtrail-event-reference-aws-console-sign-in-events.md,
// sample code MIT-0).
const rootLoginEvent = `{
  "eventVersion": "1.05",
  "userIdentity": {"type": "Root", "principalId": "AIDACKCEVSQ6C2EXAMPLE",
    "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333", "accessKeyId": ""},
  "eventTime": "2022-11-10T16:24:34Z",
  "eventSource": "signin.amazonaws.com",
  "eventName": "ConsoleLogin",
  "awsRegion": "us-east-1",
  "sourceIPAddress": "192.0.2.0",
  "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:62.0) Gecko/20100101 Firefox/62.0",
  "requestParameters": null,
  "responseElements": {"ConsoleLogin": "Success"},
  "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
    "MobileVersion": "No", "MFAUsed": "No"},
  "eventID": "deb1e1f9-c99b-4612-8e9f-21f93b5d79c0",
  "eventType": "AwsConsoleSignIn",
  "recipientAccountId": "111122223333"
}`

// runRenderCmd runs a fresh render command and returns stdout, stderr and
// the error.
func runRenderCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRenderCmd()
	var out, errb bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(""))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err := cmd.Execute()
	return out.String(), errb.String(), err
}

func writeRenderFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRenderRunsBuiltinRules(t *testing.T) {
	ev := writeRenderFile(t, "root.json", rootLoginEvent)
	out, _, err := runRenderCmd(t, "--raw", "--event", ev, "--receiver", "slack", "--locale", "ja", "--timezone", "Asia/Tokyo", "--packs", "signin")
	if err != nil {
		t.Fatal(err)
	}
	// One payload is printed bare, ready to pipe.
	if !strings.HasPrefix(out, "{") || !strings.Contains(out, "ルール: root-console-login") {
		t.Fatalf("no bare root-console-login Slack message:\n%s", out)
	}
	for _, want := range []string{`"text": "【重大】`, `2022-11-11 01:24:34 JST`, `"text": "*MFA*\n未使用"`, `"color": "#D00000"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRenderSyntheticAlertExactBody(t *testing.T) {
	ev := writeRenderFile(t, "root.json", rootLoginEvent)
	out, _, err := runRenderCmd(t, "--raw", "--event", ev, "--receiver", "webhook", "--pretty=false",
		"--rule-id", "root-seen", "--severity", "high", "--title", "Root seen", "--count", "300", "--account-name", "111122223333=prod")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one line of JSON, got %d:\n%s", len(lines), out)
	}
	var d struct {
		Title, Severity string
		Count           int
		Alerts          []struct {
			Rule  struct{ ID string }
			Event struct {
				AccountName string `json:"account_name"`
			}
		}
	}
	if err := json.Unmarshal([]byte(lines[0]), &d); err != nil {
		t.Fatal(err)
	}
	if d.Title != "[HIGH] Root seen (300 alerts)" || d.Severity != "high" || d.Count != 300 ||
		len(d.Alerts) != 1 || d.Alerts[0].Rule.ID != "root-seen" || d.Alerts[0].Event.AccountName != "prod" {
		t.Errorf("unexpected document: %+v", d)
	}
}

func TestRenderAllKindsAndTemplates(t *testing.T) {
	ev := writeRenderFile(t, "root.json", rootLoginEvent)
	tmpl := writeRenderFile(t, "subject.tmpl", `ALERT {{(index .Alerts 0).Principal}} @ {{(index .Alerts 0).AccountText}}`)
	out, _, err := runRenderCmd(t, "--raw", "--event", ev, "--rule-id", "r", "--template", "email.subject="+tmpl, "--channel", "C0SEC")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"==> slack (rule r) <==", "==> slackbot (rule r) <==", `"channel": "C0SEC"`, "==> teams (rule r) <==",
		"==> webhook (rule r) <==", "==> sns (rule r) <==", "Attribute: event_name=ConsoleLogin",
		"==> email (rule r) <==", "Subject: ALERT root @ 111122223333", "--- html ---", "==> stdout (rule r) <==",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	ev := writeRenderFile(t, "root.json", rootLoginEvent)
	records := writeRenderFile(t, "log.json", `{"Records":[`+rootLoginEvent+`,`+rootLoginEvent+`]}`)
	badTmpl := writeRenderFile(t, "bad.tmpl", "{{.Title")
	listEvent := writeRenderFile(t, "other.json", `{"eventName":"ListBuckets","eventSource":"s3.amazonaws.com"}`)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--event is required: name a file holding one CloudTrail event"},
		{[]string{"--event", ev, "--receiver", "pager"}, `--receiver "pager": unknown receiver kind (want slack, slackbot, teams, webhook, sns, email, stdout)`},
		{[]string{"--event", records}, "log.json holds 2 events; pick one with --index 0 to 1"},
		{[]string{"--event", records, "--index", "2"}, "--index 2: " + records + " holds 2 events (0 to 1)"},
		{[]string{"--event", ev, "--severity", "high"}, "--severity describes a --rule-id alert; give --rule-id too"},
		{[]string{"--event", ev, "--rule-id", "x", "--severity", "urgent"}, `--severity: unknown severity "urgent"`},
		{[]string{"--event", ev, "--rule-id", "x", "--template", "slack.title=" + badTmpl}, `template "slack.title" does not parse: template: slack.title:1: unclosed action`},
		{[]string{"--event", ev, "--locale", "fr"}, `unknown locale "fr"`},
		{[]string{"--event", ev, "--timezone", "Mars/Olympus"}, `--timezone "Mars/Olympus"`},
		{[]string{"--event", ev, "--count", "0"}, "--count is 0; it must be at least 1"},
		{[]string{"--event", listEvent, "--packs", "signin"}, "no rule matched ListBuckets in " + listEvent},
		{[]string{"--event", filepath.Join(t.TempDir(), "missing.json")}, "missing.json: no such file or directory"},
	} {
		_, _, err := runRenderCmd(t, c.args...)
		if err == nil {
			t.Errorf("%v: no error", c.args)
			continue
		}
		var ee *ExitError
		if errors.As(err, &ee) {
			t.Errorf("%v: unexpected exit error %v", c.args, ee)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error\n%v\nwant it to contain\n%s", c.args, err, c.want)
		}
	}
}
