package cli

import (
	"os"
	"strings"
	"testing"
)

const routeConfig = `
timezone: Asia/Tokyo
accounts: {"111122223333": prod}
receivers:
  - {name: slack-root, stdout: {}}
  - {name: pager, stdout: {}}
  - {name: log, stdout: {format: json}}
route:
  receiver: log
  routes:
    - matchers: [severity >= high]
      receiver: pager
      continue: true
      repeat_interval: 1h
    - matchers: [principal_type = Root]
      receiver: slack-root
silences:
  - matchers: [rule = root-activity]
    expires: 2999-01-01T00:00:00Z
    comment: root-activity duplicates root-console-login here
`

func TestRouteTestEvent(t *testing.T) {
	p := writeConfigFile(t, routeConfig)
	out, errOut, code := runConfigCmd(t, "route", "test", "--config", p, "--event", "../route/testdata/root-console-login.json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	out = strings.ReplaceAll(out, p, "trailwatch.yaml")
	for _, want := range []string{
		"event deb1e1f9-c99b-4612-8e9f-21f93b5d79c0: ConsoleLogin by root in 111122223333 us-east-1 (../route/testdata/root-console-login.json record 0)\n",
		"  rule root-activity (high) fired: Root user activity\n",
		`    dropped: silenced by silences[0] (trailwatch.yaml:17, until 2999-01-01T00:00:00Z: "root-activity duplicates root-console-login here")` + "\n",
		"  rule root-console-login (critical) fired: Root user signed in to the console\n",
		`    labels: {account="111122223333", account_name="prod", event_id="deb1e1f9-c99b-4612-8e9f-21f93b5d79c0", event_name="ConsoleLogin", event_source="signin.amazonaws.com", principal="root", principal_account="111122223333", principal_arn="arn:aws:iam::111122223333:root", principal_type="Root", region="us-east-1", rule="root-console-login", severity="critical", source_ip="192.0.2.0", tag:cis-1.7="true", tag:cis-cloudwatch-1="true", tag:mitre-T1078.004="true"}
    route (line 8): matches every alert
      route.routes[0] (line 10): matched {severity >= high}; continue: later siblings are tried too
      route.routes[1] (line 14): matched {principal_type = Root}
    -> receiver pager (stdout) via route.routes[0], group pager/route.routes[0]/{account=111122223333, principal=root, rule=root-console-login}, notified at most once per 1h
    -> receiver slack-root (stdout) via route.routes[1], group slack-root/route.routes[1]/{account=111122223333, principal=root, rule=root-console-login}, notified every batch
`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks\n%s\ngot:\n%s", want, out)
		}
	}
}

func TestRouteTestLabels(t *testing.T) {
	p := writeConfigFile(t, routeConfig)
	out, errOut, code := runConfigCmd(t, "route", "test", "--config", p,
		"--labels", "severity=low,account=111122223333,principal_type=Root", "--expect", "slack-root")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := `labels: {account="111122223333", account_name="prod", principal_type="Root", severity="low"}
route (line 8): matches every alert
  route.routes[0] (line 10): no match, severity >= high is false (severity="low")
  route.routes[1] (line 14): matched {principal_type = Root}
-> receiver slack-root (stdout) via route.routes[1], group slack-root/route.routes[1]/{account=111122223333, principal="", rule=""}, notified every batch
expected receivers reached: slack-root
`
	if out != want {
		t.Errorf("output\n got:\n%s\nwant:\n%s", out, want)
	}

	_, errOut, code = runConfigCmd(t, "route", "test", "--config", p, "--labels", "severity=critical", "--expect", "log")
	if code != 1 || errOut != "route test: reached receivers [pager], expected [log]\n" {
		t.Errorf("--expect mismatch: exit %d, stderr %q", code, errOut)
	}
}

func TestRouteTestSilenceAt(t *testing.T) {
	p := writeConfigFile(t, routeConfig)
	out, _, code := runConfigCmd(t, "route", "test", "--config", p, "--labels", "rule=root-activity", "--at", "3000-01-01T00:00:00Z")
	if code != 0 || strings.Contains(out, "silenced") || !strings.Contains(out, "-> receiver log") {
		t.Errorf("after the silence's expiry: exit %d\n%s", code, out)
	}
	out, _, _ = runConfigCmd(t, "route", "test", "--config", p, "--labels", "rule=root-activity")
	if !strings.Contains(out, "dropped: silenced by silences[0]") {
		t.Errorf("before expiry:\n%s", out)
	}
}

func TestRouteTestUsage(t *testing.T) {
	p := writeConfigFile(t, routeConfig)
	for _, args := range [][]string{
		{"test", "--config", p},
		{"test", "--config", p, "--labels", "a=b", "--event", "x.json"},
	} {
		if _, errOut, code := runConfigCmd(t, "route", args...); code != 2 || errOut != "route test: give --event FILE or --labels k=v,... (one of them)\n" {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
	if _, errOut, code := runConfigCmd(t, "route", "test", "--config", p, "--labels", "who=me"); code != 2 || !strings.HasPrefix(errOut, `route test: --labels: unknown label "who"`) {
		t.Errorf("bad labels: exit %d, %q", code, errOut)
	}
	if _, errOut, code := runConfigCmd(t, "route", "test", "--config", p, "--event", "no-such-file.json"); code != 1 || !strings.Contains(errOut, "no-such-file.json") {
		t.Errorf("missing event file: exit %d, %q", code, errOut)
	}
}

func TestRouteTestStdin(t *testing.T) {
	p := writeConfigFile(t, routeConfig)
	raw, err := os.ReadFile("../route/testdata/access-denied.json")
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runConfigCmdIn(t, string(raw), "route", "test", "--config", p, "--event", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "event be7f89b5-d456-4423-b3e6-0fb0b19bad7c: LeaveOrganization by stratus-red-team-leave-org-role/aws-go-sdk-1688990515440126480 in 123837392027 us-east-1 (- record 0)\n") {
		t.Errorf("output:\n%s", out)
	}
}

// TestExampleRoutes checks that the example files do what their comments
// say with real events.
func TestExampleRoutes(t *testing.T) {
	tests := []struct {
		example, event, expect string
	}{
		{"root-to-slack-ja.yaml", "root-console-login.json", "slack-root"},
		{"signin-slack-here-on-failure.yaml", "root-console-login.json", "slack-signin"},
		{"signin-summary-email.yaml", "root-console-login.json", "oncall-mail"},
		{"cis-to-sns.yaml", "access-denied.json", "cis-json,cis-readable"},
		{"cis-to-sns.yaml", "root-console-login.json", "cis-json,cis-readable"},
	}
	for _, tt := range tests {
		t.Run(tt.example+"/"+tt.event, func(t *testing.T) {
			out, errOut, code := runConfigCmd(t, "route", "test", "--config", "../../examples/"+tt.example,
				"--event", "../route/testdata/"+tt.event, "--expect", tt.expect)
			if code != 0 {
				t.Errorf("exit %d: %s\n%s", code, errOut, out)
			}
		})
	}
}
