package rules_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/pipeline"
)

// TestSignInExampleDoesWhatItSays builds examples/signin-slack-here-on-failure.yaml
// as a dry run and checks its comment: successful sign-ins are posted
// quietly, failed ones mention @here, root sign-ins and sign-ins with an
// unknown result mention @channel.
func TestSignInExampleDoesWhatItSays(t *testing.T) {
	const file = "../examples/signin-slack-here-on-failure.yaml"
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := pipeline.Build(ctx, b, pipeline.Deps{ConfigName: file, DryRun: true, Now: func() time.Time { return time.Date(2024, 5, 2, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	unknown := `{"eventVersion":"1.08","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","eventType":"AwsConsoleSignIn",
		"eventID":"5f1c3e1a-0b0b-4d2e-9a51-2d6c0d1e0010","eventTime":"2024-05-02T09:10:00Z","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.10",
		"recipientAccountId":"111122223333","responseElements":null,"additionalEventData":{"MFAUsed":"Yes"},
		"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"}}`
	for _, tc := range []struct {
		name, file, raw string
		mention         string // the one mention the messages carry, "" for none
	}{
		{"IAM user with MFA", "testdata/signin/iam-user-login-mfa.json", "", ""},
		{"IAM user without MFA", "testdata/signin/iam-user-login-no-mfa.json", "", ""},
		{"IAM Identity Center user", "testdata/signin-stream/identity-center-login.json", "", ""},
		{"failed IAM user", "testdata/signin/iam-user-login-failure.json", "", "<!here>"},
		{"failed root", "testdata/signin/root-login-failure.json", "", "<!here>"},
		{"root", "testdata/signin/root-login-success.json", "", "<!channel>"},
		{"unknown result", "", unknown, "<!channel>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(tc.raw)
			if tc.file != "" {
				if raw, err = os.ReadFile(tc.file); err != nil {
					t.Fatal(err)
				}
			}
			ev, err := event.Parse(raw, event.Origin{Input: tc.name})
			if err != nil {
				t.Fatal(err)
			}
			alerts, err := p.Alerts(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := p.Preview(ctx, alerts)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) == 0 {
				t.Fatal("no message: the sign-in stream posts every sign-in")
			}
			// Until the alerts of one event fold into one message, a root
			// sign-in is a critical message and a quiet stream message: the
			// expected mention must be on one of them, no other mention on
			// any.
			found := tc.mention == ""
			for _, m := range msgs {
				body := string(m.Payload.Body)
				for _, mention := range []string{"<!here>", "<!channel>"} {
					// Slack payloads are JSON: < and > may be escaped.
					escaped := strings.NewReplacer("<", `\u003c`, ">", `\u003e`).Replace(mention)
					has := strings.Contains(body, mention) || strings.Contains(body, escaped)
					if has && mention != tc.mention {
						t.Errorf("message to %s for %v mentions %s; want only %q", m.Group.Receiver, ruleIDs(m.Group.Alerts), mention, tc.mention)
					}
					found = found || (has && mention == tc.mention)
				}
			}
			if !found {
				t.Errorf("no message mentions %s", tc.mention)
			}
		})
	}
}

func ruleIDs(alerts []*event.Alert) []string {
	var ids []string
	for _, a := range alerts {
		ids = append(ids, a.Rule.ID)
	}
	return ids
}
