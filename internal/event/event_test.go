package event

import (
	"sync"
	"testing"
)

const escaped = `{"eventID":"e\u0031","eventName":"Console\u004cogin","userIdentity":{"type":"IAMUser","userName":"ana\"ya"},` +
	`"additionalEventData":{"MFAUsed":"No"},"responseElements":{"ConsoleLogin":"Failure"},"eventSource":"signin.amazonaws.com",` +
	`"awsRegion":"us-east-1","resources":[{"ARN":"arn:\u0061"}]}`

// TestCloneIsSafeForConcurrentReads runs under -race: readers of one cloned
// event must not write to it.
func TestCloneIsSafeForConcurrentReads(t *testing.T) {
	var p Parser
	pe, err := p.Parse([]byte(escaped), Origin{Input: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ev := pe.Clone()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ev.Name() != "ConsoleLogin" || ev.ID() != "e1" || ev.Principal().Name != `ana"ya` ||
				ev.LoginResult() != LoginFailure || ev.Str("missing", "key") != "" || ev.Field("resources.0.ARN") != "arn:a" {
				t.Error("wrong field values")
			}
			if used, known := ev.MFAUsed(); used || !known {
				t.Error("MFAUsed")
			}
		}()
	}
	wg.Wait()
}

func TestPrincipal(t *testing.T) {
	cases := []struct {
		identity, name, typ string
	}{
		{`{"type":"Root","arn":"arn:aws:iam::1:root"}`, "root", PrincipalRoot},
		{`{"type":"IAMUser","userName":"anaya"}`, "anaya", PrincipalIAMUser},
		{`{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/DevRole/Dev1"}`, "DevRole/Dev1", PrincipalAssumedRole},
		{`{"type":"AssumedRole","principalId":"AROA:sess","sessionContext":{"sessionIssuer":{"userName":"R"}}}`, "R/sess", PrincipalAssumedRole},
		{`{"type":"FederatedUser","arn":"arn:aws:sts::1:federated-user/bob"}`, "bob", PrincipalFederatedUser},
		{`{"type":"IdentityCenterUser","arn":"arn:aws:iam::1:user/identity-center-user"}`, "identity-center-user", PrincipalIdentityCenter},
		{`{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}`, "ec2.amazonaws.com", PrincipalAWSService},
		{`{"accountId":"1","invokedBy":"AWS Internal"}`, "AWS Internal", PrincipalAWSService},
		{`{"type":"AWSAccount","accountId":"ANONYMOUS_PRINCIPAL"}`, "anonymous", PrincipalAnonymous},
		{`{"type":"AWSAccount","accountId":"777788889999"}`, "777788889999", PrincipalAWSAccount},
		{`{}`, "Unknown", PrincipalUnknown},
		{`"not an object"`, "Unknown", PrincipalUnknown},
	}
	for _, c := range cases {
		ev := MustParse(`{"userIdentity":` + c.identity + `}`)
		p := ev.Principal()
		if p.String() != c.name || p.Type != c.typ {
			t.Errorf("%s: principal %q type %q; want %q %q", c.identity, p.String(), p.Type, c.name, c.typ)
		}
	}
	sr := MustParse(`{"eventName":"SwitchRole","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/Admin/alice"},` +
		`"additionalEventData":{"SwitchFrom":"arn:aws:iam::1:user/alice","SwitchTo":"arn:aws:iam::2:role/Admin"}}`).Principal()
	if sr.SwitchFrom != "arn:aws:iam::1:user/alice" || sr.SwitchTo != "arn:aws:iam::2:role/Admin" {
		t.Errorf("SwitchRole principal %+v", sr)
	}
}

func TestFieldHelpers(t *testing.T) {
	ev := MustParse(`{"eventID":"a b/c","awsRegion":"ap-northeast-1","eventSource":"signin.amazonaws.com","eventType":"AwsConsoleSignIn",` +
		`"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":true},"readOnly":"false",` +
		`"userIdentity":{"accountId":"111122223333"},"eventTime":"2026-11-23T01:15:00Z"}`)
	if got := ev.ConsoleURL(); got != "https://ap-northeast-1.console.aws.amazon.com/cloudtrailv2/home?region=ap-northeast-1#/events/a%20b%2Fc" {
		t.Errorf("ConsoleURL = %s", got)
	}
	if used, known := ev.MFAUsed(); !used || !known {
		t.Error("boolean MFAUsed not read")
	}
	if ro, ok := ev.ReadOnly(); ro || !ok {
		t.Error(`readOnly "false" not read`)
	}
	if ev.LoginResult() != LoginSuccess || ev.EnvelopeSource() != "aws.signin" || ev.DetailType() != "AWS Console Sign In via CloudTrail" {
		t.Errorf("login %q source %q detail-type %q", ev.LoginResult(), ev.EnvelopeSource(), ev.DetailType())
	}
	if ev.Account() != "111122223333" || ev.Time().Hour() != 1 {
		t.Errorf("account %q time %v", ev.Account(), ev.Time())
	}
	evil := MustParse(`{"eventID":"x","awsRegion":"evil.example/x?"}`)
	if evil.ConsoleURL() != "" {
		t.Errorf("a region that is not a region made a URL: %s", evil.ConsoleURL())
	}
	if MustParse(`{"eventName":"CreateUser","responseElements":{"CreateUser":"Success"}}`).LoginResult() != "" {
		t.Error("LoginResult on a non-sign-in event")
	}
}
