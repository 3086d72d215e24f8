package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

const sigmaRule = `title: AWS CloudTrail Stopped
id: 1b2c3d4e-0000-4000-8000-000000000001
author: Jane Example
level: high
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: cloudtrail.amazonaws.com
        eventName: StopLogging
    condition: selection
`

const stopLoggingEvent = `{"eventVersion":"1.08","eventID":"e1","eventTime":"2024-05-01T10:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"eu-west-1","recipientAccountId":"111122223333","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","userName":"mallory"}}`

// TestRulesFlagLoadsSigma: --rules takes a Sigma file, or a folder of
// them, next to trailwatch rule files.
func TestRulesFlagLoadsSigma(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "sigma", "aws_cloudtrail_stopped.yml"), sigmaRule)
	ev := filepath.Join(dir, "event.json")
	writeTestFile(t, ev, stopLoggingEvent)
	for _, rules := range []string{filepath.Join(dir, "sigma", "aws_cloudtrail_stopped.yml"), filepath.Join(dir, "sigma")} {
		out, errs, code := runCmd(t, newCheckCmd(), "", "--packs", "none", "--rules", rules, "--format", "json", ev)
		if code != 0 {
			t.Fatalf("check --rules %s: exit %d: %s", rules, code, errs)
		}
		var a struct {
			Rule, Severity, Summary string
			Tags                    []string
		}
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if a.Rule != "aws-cloudtrail-stopped" || a.Severity != "high" || a.Summary != "StopLogging by mallory from 198.51.100.7 (Sigma rule by Jane Example)" || !strings.Contains(strings.Join(a.Tags, ","), "sigma") {
			t.Errorf("alert %+v", a)
		}
	}
	out, errs, code := runCmd(t, newRulesCmd(), "", "--packs", "none", "--rules", filepath.Join(dir, "sigma"))
	if code != 0 || !strings.Contains(out, "aws_cloudtrail_stopped  aws-cloudtrail-stopped  high      sigma     AWS CloudTrail Stopped") {
		t.Errorf("rules: exit %d\n%s%s", code, out, errs)
	}
}

// TestRulesFlagRefusesOtherSigma: a Sigma rule for another log source is
// refused by name, file and line.
func TestRulesFlagRefusesOtherSigma(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "win_whoami.yml")
	writeTestFile(t, file, "title: Whoami\nlogsource:\n    category: process_creation\n    product: windows\ndetection:\n    selection:\n        Image|endswith: '\\whoami.exe'\n    condition: selection\n")
	_, errs, code := runCmd(t, newCheckCmd(), stopLoggingEvent, "--packs", "none", "--rules", file, "-")
	want := file + `:2: sigma: logsource product "windows" is not read: trailwatch reads AWS CloudTrail (product: aws, service: cloudtrail)`
	if code != 1 || !strings.Contains(errs, want) {
		t.Errorf("exit %d, stderr:\n%s\nwant it to contain:\n%s", code, errs, want)
	}
}
