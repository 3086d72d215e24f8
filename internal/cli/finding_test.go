package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// gdFinding is a GuardDuty finding event in the documented EventBridge
// format, cut to the fields the message uses.
const gdFinding = `{"version":"0","id":"cd2d702e-ab31-411b-9344-793ce56b1bc7","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"111122223333","time":"2024-05-02T13:00:00Z","region":"us-east-1","resources":[],"detail":{"schemaVersion":"2.0","accountId":"123456789012","region":"us-east-1","id":"30bf285e52a1e405084ff6ec28e06e17","arn":"arn:aws:guardduty:us-east-1:123456789012:detector/d/finding/30bf285e52a1e405084ff6ec28e06e17","type":"UnauthorizedAccess:IAMUser/MaliciousIPCaller","resource":{"resourceType":"AccessKey","accessKeyDetails":{"userName":"alice","userType":"IAMUser"}},"service":{"action":{"awsApiCallAction":{"remoteIpDetails":{"ipAddressV4":"198.51.100.7"}}},"count":4,"archived":false},"severity":8,"updatedAt":"2024-05-02T12:59:00Z","title":"API ListBuckets was invoked from a known malicious IP address."}}`

// check, with no configuration, reports findings beside rule alerts: one
// JSON line per finding, and --fail-on counts their severity.
func TestCheckReportsFindings(t *testing.T) {
	out, errs, code := runCmd(t, newCheckCmd(), gdFinding+"\n", "--packs", "none", "--format", "json", "--fail-on", "high", "-")
	if code != 2 {
		t.Fatalf("exit %d, want 2 (a high finding with --fail-on high); stderr:\n%s", code, errs)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &line); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	for k, v := range map[string]any{
		"rule": "guardduty-finding", "severity": "high", "source": "guardduty",
		"finding_type": "UnauthorizedAccess:IAMUser/MaliciousIPCaller", "account": "123456789012",
		"principal": "alice (IAMUser)", "source_ip": "198.51.100.7", "count": 4.0, "time": "2024-05-02T12:59:00Z",
		"summary":     "GuardDuty reports UnauthorizedAccess:IAMUser/MaliciousIPCaller on AccessKey alice, seen 4 times",
		"console_url": "https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?macros=current&fId=30bf285e52a1e405084ff6ec28e06e17",
	} {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
	if !strings.Contains(errs, "1 events, 1 alerts, 0 skipped, 0 errors") {
		t.Errorf("summary line: %q", errs)
	}

	out, _, _ = runCmd(t, newCheckCmd(), gdFinding+"\n", "--packs", "none", "--wide", "-")
	for _, want := range []string{"guardduty-finding", "UnauthorizedAccess:IAMUser/MaliciousIPCaller", "alice (IAMUser)", "198.51.100.7", "123456789012"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// events lists a finding event as its findings, one line each, in the
// events' columns: not as a CloudTrail event with every column empty.
func TestEventsListsFindings(t *testing.T) {
	out, errs, code := runCmd(t, newEventsCmd(), gdFinding+"\n", "--format", "json", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &line); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	for k, v := range map[string]any{
		"event_id": "30bf285e52a1e405084ff6ec28e06e17", "event_name": "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
		"event_source": "guardduty.amazonaws.com", "event_type": "GuardDutyFinding", "account": "123456789012",
		"region": "us-east-1", "principal": "alice (IAMUser)", "source_ip": "198.51.100.7", "time": "2024-05-02T12:59:00Z",
	} {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
	out, _, _ = runCmd(t, newEventsCmd(), gdFinding+"\n", "--wide", "-")
	if !strings.Contains(out, "UnauthorizedAccess:IAMUser/MaliciousIPCaller") || !strings.Contains(out, "finding high") {
		t.Errorf("table:\n%s", out)
	}
}

// render previews a finding event file as the message its finding sends.
func TestRenderFindingEvent(t *testing.T) {
	ev := writeRenderFile(t, "finding.json", gdFinding)
	out, _, err := runRenderCmd(t, "--event", ev, "--receiver", "slack")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"GuardDuty finding: API ListBuckets was invoked from a known malicious IP address.", "UnauthorizedAccess:IAMUser/MaliciousIPCaller", "198.51.100.7"} {
		if !strings.Contains(out, want) {
			t.Errorf("preview lacks %q:\n%s", want, out)
		}
	}
}
