package ingest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
)

// GuardDuty's and Security Hub's finding events are yielded whole, marked
// with their kind, however they arrive; every other non-CloudTrail
// EventBridge event is still skipped with a reason, and a finding event
// that claims a source other than AWS's own is not a finding.
func TestFindingEvents(t *testing.T) {
	gd := `{"version":"0","id":"cd2d702e-ab31-411b-9344-793ce56b1bc7","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"111122223333","time":"1970-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{"id":"f1","type":"Recon:EC2/Portscan","severity":5}}`
	sh := `{"version":"0","id":"CWE-event-id","detail-type":"Security Hub Findings - Imported","source":"aws.securityhub","account":"111122223333","time":"2019-04-11T21:52:17Z","region":"us-west-2","resources":[],"detail":{"findings":[{"Id":"a"},{"Id":"b"}]}}`
	quoted := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	sqs := func(body string) string {
		return `{"Records":[{"messageId":"m-1","eventSource":"aws:sqs","body":` + quoted(body) + `}]}`
	}
	r := New(Options{})
	for _, c := range []struct {
		name, payload string
		kind          event.Kind
		path, msgID   string
	}{
		{"GuardDuty to Lambda", gd, event.KindGuardDuty, "eventbridge", ""},
		{"Security Hub to Lambda", sh, event.KindSecurityHub, "eventbridge", ""},
		{"GuardDuty through SQS", sqs(gd), event.KindGuardDuty, "sqs", "m-1"},
		{"Security Hub through SNS and SQS", sqs(`{"Type":"Notification","TopicArn":"arn:aws:sns:us-east-1:111122223333:t","Message":` + quoted(sh) + `}`), event.KindSecurityHub, "sqs", "m-1"},
	} {
		got := payload(t, r, c.name, []byte(c.payload))
		if len(got.events) != 1 || got.errs()+len(got.skips) != 0 {
			t.Errorf("%s: %d events, %v %v %v; want the one finding event", c.name, len(got.events), got.skips, got.records, got.inputs)
			continue
		}
		ev := got.events[0]
		o := ev.Origin()
		if o.Kind != c.kind || ev.Kind() != c.kind || o.Path != c.path || o.MessageID != c.msgID || ev.Value().Get("detail") == nil {
			t.Errorf("%s: yielded kind %v via %q (message %q), want %v via %q (%q): %.80s", c.name, o.Kind, o.Path, o.MessageID, c.kind, c.path, c.msgID, ev.Raw())
		}
	}

	for _, c := range []struct{ name, payload, reason string }{
		{"forged source", strings.Replace(gd, `"aws.guardduty"`, `"my.app"`, 1), `"GuardDuty Finding" from "my.app" is not a CloudTrail event or a finding`},
		{"GuardDuty health", strings.Replace(gd, `"GuardDuty Finding"`, `"GuardDuty Runtime Protection Healthy"`, 1), `"GuardDuty Runtime Protection Healthy" from "aws.guardduty" is not`},
		{"custom action", strings.Replace(sh, `Findings - Imported`, `Findings - Custom Action`, 1), `"Security Hub Findings - Custom Action" from "aws.securityhub" is not`},
	} {
		got := payload(t, r, c.name, []byte(c.payload))
		if len(got.events) != 0 || len(got.skips) != 1 || !strings.Contains(got.skips[0].Reason, c.reason) {
			t.Errorf("%s: %d events, skips %v; want one skip saying %q", c.name, len(got.events), got.skips, c.reason)
		}
	}

	got := payload(t, r, "no detail", []byte(strings.Replace(gd, `"detail":{`, `"detail":"x","other":{`, 1)))
	if len(got.events) != 0 || len(got.records) != 1 || !strings.Contains(got.records[0].Error(), `EventBridge "GuardDuty Finding" event has no detail object`) {
		t.Errorf("a finding event without detail gave %d events, %v", len(got.events), got.records)
	}
}
