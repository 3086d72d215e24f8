package filter_test

import (
	"testing"

	"github.com/trailwatch/trailwatch/internal/rule/filter"
)

// The first table transcribes every JSON example of the Amazon CloudWatch
// Logs User Guide page "Filter pattern syntax for metric filters,
// subscription filters, filter log events" (section "Matching terms in JSON
// log events", awsdocs/amazon-cloudwatch-logs-user-guide,
// doc_source/FilterAndPatternSyntax.md): the pattern, the sample log event
// the page gives for it, and the result the page states.

// docsEvent is the page's first sample ("The following is a JSON example").
const docsEvent = `{
  "eventType": "UpdateTrail",
  "sourceIPAddress": "111.111.111.111",
  "arrayKey": [
        "value",
        "another value"
  ],
  "objectList": [
       {
         "name": "a",
         "id": 1
       },
       {
         "name": "b",
         "id": 2
       }
  ],
  "SomeObject": null,
  "ThisFlag": true
}`

// docsCompoundEvent is the page's sample for "JSON compound conditions".
const docsCompoundEvent = `{
    "user": {
        "id": 1,
        "email": "John.Stiles@example.com"
    },
    "users": [
        {
         "id": 2,
         "email": "John.Doe@example.com"
        },
        {
         "id": 3,
         "email": "Jane.Doe@example.com"
        }
    ],
    "actions": [
        "GET",
        "PUT",
        "DELETE"
    ],
    "coordinates": [
        [0, 1, 2],
        [4, 5, 6],
        [7, 8, 9]
    ]
}`

// docsArrayEvent is the page's sample for "JSON special considerations".
const docsArrayEvent = `{
  "users": [1, 2, 3]
}`

// The two one-line samples of "OR pattern matching" for JSON filters.
const (
	docsFooBar = `{"foo": "bar"}`
	docsFooBaz = `{"foo": "baz"}`
)

func TestComplianceAWSDocs(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		event   string
		want    bool
	}{
		// "The following filters would match" docsEvent.
		{"event type", `{ $.eventType = "UpdateTrail" }`, docsEvent, true},
		{"ip outside subnet", `{ $.sourceIPAddress != 123.123.* }`, docsEvent, true},
		{"first array entry", `{ $.arrayKey[0] = "value" }`, docsEvent, true},
		{"property of second object", `{ $.objectList[1].id = 2 }`, docsEvent, true},
		{"set to null", `{ $.SomeObject IS NULL }`, docsEvent, true},
		{"non-existent", `{ $.SomeOtherObject NOT EXISTS }`, docsEvent, true},
		{"flag true", `{ $.ThisFlag IS TRUE }`, docsEvent, true},
		// The page's remarks on the same examples: "If arrayKey is not an
		// array this will be false", "This will only be true if specified
		// object does not exist", and IS FALSE "also works".
		{"flag false", `{ $.ThisFlag IS FALSE }`, docsEvent, false},
		{"index on a non-array", `{ $.eventType[0] = "UpdateTrail" }`, docsEvent, false},
		{"id of a missing index", `{ $.objectList[2].id = 2 }`, docsEvent, false},
		{"existing field NOT EXISTS", `{ $.SomeObject NOT EXISTS }`, docsEvent, false},
		{"non-null IS NULL", `{ $.eventType IS NULL }`, docsEvent, false},

		// "JSON compound conditions", in the page's order.
		{"compound 1 matches", `{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }`, docsCompoundEvent, true},
		{"compound 2 does not match", `{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }`, docsCompoundEvent, false},
		{"compound 3 matches", `{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }`, docsCompoundEvent, true},
		{"compound 4 does not match", `{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }`, docsCompoundEvent, false},

		// "JSON special considerations": both fail where users is an array.
		{"array = 1", `{$.users = 1}`, docsArrayEvent, false},
		{"array != 1", `{$.users != 1}`, docsArrayEvent, false},

		// "OR pattern matching" for JSON filters.
		{"foo = bar on bar", `{$.foo = bar}`, docsFooBar, true},
		{"foo = bar on baz", `{$.foo = bar}`, docsFooBaz, false},
		{"foo = baz on baz", `{$.foo = baz }`, docsFooBaz, true},
		{"foo = baz on bar", `{$.foo = baz }`, docsFooBar, false},
		{"or on bar", `{$.foo = bar || $.foo = baz }`, docsFooBar, true},
		{"or on baz", `{$.foo = bar || $.foo = baz }`, docsFooBaz, true},

		// "Publishing numerical values found in log entries": { $.latency = * }
		// selects events that carry a latency. The page shows no event; the
		// compound sample has none, the numeric one below does.
		{"latency = * without latency", `{ $.latency = * }`, docsCompoundEvent, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := filter.Compile(tt.pattern)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.pattern, err)
			}
			if got := f.Match(mustEvent(t, tt.event)); got != tt.want {
				t.Errorf("%s on the docs sample = %v, want %v", tt.pattern, got, tt.want)
			}
		})
	}
}

// TestComplianceAWSDocsNumeric covers the page's "Numeric comparisons"
// examples. The page lists the patterns without a sample event, so each is
// checked against a record holding a value on each side of its bound.
func TestComplianceAWSDocsNumeric(t *testing.T) {
	tests := []struct {
		pattern   string
		hit, miss string
	}{
		{`{ $.latency >= 500 }`, `{"latency": 500}`, `{"latency": 499.9}`},
		{`{ $.numbers[0] < 10e3 }`, `{"numbers": [9999]}`, `{"numbers": [10000]}`},
		{`{ $.numbers[0] < 10e-3 }`, `{"numbers": [0.001]}`, `{"numbers": [0.01]}`},
		{`{ $.processes[4].averageRuntime <= 55.5 }`, `{"processes": [{}, {}, {}, {}, {"averageRuntime": 55.5}]}`, `{"processes": [{}, {}, {}, {}, {"averageRuntime": 55.51}]}`},
		{`{ $.errorCode = 400 }`, `{"errorCode": 400}`, `{"errorCode": 401}`},
		{`{ $.errorCode != 500 }`, `{"errorCode": 400}`, `{"errorCode": 500}`},
		{`{ $.latency > +1000 }`, `{"latency": 1000.5}`, `{"latency": 1000}`},
		{`{ $.latency = * }`, `{"latency": 12}`, `{"latencyMs": 12}`},
	}
	for _, tt := range tests {
		f, err := filter.Compile(tt.pattern)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.pattern, err)
		}
		if !f.Match(mustEvent(t, tt.hit)) {
			t.Errorf("%s does not match %s", tt.pattern, tt.hit)
		}
		if f.Match(mustEvent(t, tt.miss)) {
			t.Errorf("%s matches %s", tt.pattern, tt.miss)
		}
	}
}

// TestComplianceCIS runs every CIS monitoring filter, exactly as AWS
// publishes it (filter.CISControls), against real CloudTrail records that
// must and must not raise the alarm. Event ids name testdata files:
// docs/... aws-docs-events.jsonl, panther/... panther-events.jsonl,
// panther-scenario/... panther-scenario-events.jsonl.
func TestComplianceCIS(t *testing.T) {
	corpus := loadCorpus(t)
	cases := map[string]struct{ match, noMatch []string }{
		"CloudWatch.1": {
			match: []string{
				"docs/console-signin-root-no-mfa",
				"docs/console-signin-root-failure",
				"docs/root-enable-mfa-device",
				"panther-scenario/compromised-root-creds/attacker/3/ConsoleLogin",
				"panther-scenario/compromised-root-creds/attacker/4/StopLogging",
			},
			noMatch: []string{
				"docs/console-signin-iam-user-no-mfa",
				"docs/service-event-rotate-key", // AwsServiceEvent, no root
				"panther/AWS.CloudTrail.Stopped/CloudTrail Was Stopped",
			},
		},
		"CloudWatch.2": {
			match: []string{
				"panther/AWS.EC2.LaunchUnusualEC2Instances/Failed Unusual EC2",                           // Client.UnauthorizedOperation
				"panther/AWS.EC2.ManualSecurityGroupChange/AWS Console - Ingress SG Authorization Error", // UnauthorizedOperation
				"panther/AWS.S3.BucketPolicyModified/S3 Bucket Policy Modified Error Response",           // AccessDenied
			},
			noMatch: []string{
				"panther/AWS.KMS.CustomerManagedKeyLoss/KMS Disable Key Error", // NotFoundException
				"docs/update-trail-error",                                      // TrailNotFoundException
				"docs/console-signin-iam-user-no-mfa",                          // no errorCode
			},
		},
		"CloudWatch.3": {
			match: []string{
				"docs/console-signin-iam-user-no-mfa",
				"panther/AWS.Console.LoginWithoutMFA/No MFA Login - IAM User",
			},
			noMatch: []string{
				"docs/console-signin-iam-user-mfa",
				"docs/console-signin-iam-user-failure",
				"docs/console-signin-root-no-mfa", // Root, not IAMUser
				"panther/AWS.Console.LoginWithoutMFA/MFA Login",
			},
		},
		"CloudWatch.4": {
			match: []string{
				"panther/AWS.CloudTrail.IAMAnythingChanged/IAM Change", // AttachRolePolicy
				"panther/AWS.IAM.AttachAdminRolePolicy/IAM Role Policy Attached with Administrator Access",
			},
			noMatch: []string{"docs/get-user-policy-console", "docs/root-enable-mfa-device"},
		},
		"CloudWatch.5": {
			match: []string{
				"panther/AWS.CloudTrail.Stopped/CloudTrail Was Stopped",
				"docs/start-logging-iam-user",
				"docs/update-trail-error",
				"panther/AWS.CloudTrail.VPCE.SensitiveAPICalls/CloudTrail API Call Via VPC Endpoint",
			},
			noMatch: []string{"docs/ec2-start-instances", "docs/console-signin-root-no-mfa"},
		},
		"CloudWatch.6": {
			match: []string{
				"docs/console-signin-iam-user-failure",
				"docs/console-signin-root-failure",
				"docs/integration-console-login-failure",
				"panther/AWS.Unsuccessful.MFA.attempt/Unsuccessful Login w/ MFA",
			},
			noMatch: []string{
				"docs/console-signin-iam-user-no-mfa",
				"docs/integration-console-login-no-user", // another error message
				// The attacker's failed root logins carry no errorMessage.
				"panther-scenario/compromised-root-creds/attacker/0/ConsoleLogin",
			},
		},
		"CloudWatch.7": {
			match: []string{
				"panther/AWS.KMS.CustomerManagedKeyLoss/KMS Key Disabled",
				"panther/AWS.KMS.CustomerManagedKeyLoss/KMS Key Scheduled For Deletion",
				"panther/AWS.KMS.CustomerManagedKeyLoss/KMS Disable Key Error", // failures count too
			},
			noMatch: []string{"panther/AWS.CloudTrail.Stopped/CloudTrail Was Stopped"},
		},
		"CloudWatch.8": {
			match: []string{
				"panther/AWS.S3.BucketPolicyModified/S3 Bucket Policy Modified",
				"panther/AWS.CloudTrail.ResourceMadePublic/S3 Made Publicly Accessible",
			},
			noMatch: []string{"docs/delete-bucket-assumed-role"},
		},
		"CloudWatch.9": {
			match: []string{
				"panther/AWS.ConfigService.DisabledDeleted/Config Recorder Deleted",
				"panther/AWS.ConfigService.DisabledDeleted/Error Deleting Config Recorder",
			},
			noMatch: []string{"panther/AWS.KMS.CustomerManagedKeyLoss/KMS Key Disabled"},
		},
		"CloudWatch.10": {
			match: []string{
				"panther/AWS.EC2.ManualSecurityGroupChange/AWS Console - Ingress SG Authorization",
			},
			noMatch: []string{"panther/AWS.EC2.NetworkACLModified/Network ACL Modified"},
		},
		"CloudWatch.11": {
			match: []string{
				"panther/AWS.EC2.NetworkACLModified/Network ACL Modified",
				"panther/AWS.EC2.NetworkACLModified/Error Modifying Network ACL",
			},
			noMatch: []string{"panther/AWS.EC2.ManualSecurityGroupChange/AWS Console - Ingress SG Authorization"},
		},
		"CloudWatch.12": {noMatch: []string{"docs/ec2-start-instances"}},
		"CloudWatch.13": {noMatch: []string{"docs/ec2-start-instances"}},
		"CloudWatch.14": {noMatch: []string{"docs/ec2-start-instances"}},
		"CIS-4.15":      {noMatch: []string{"docs/root-put-rule"}},
	}
	for _, c := range filter.CISControls() {
		t.Run(c.ID, func(t *testing.T) {
			f, err := filter.Compile(c.Pattern)
			if err != nil {
				t.Fatalf("Compile(%s): %v", c.ID, err)
			}
			tc, ok := cases[c.ID]
			if !ok {
				t.Fatalf("no cases for %s", c.ID)
			}
			for _, id := range tc.match {
				ev, ok := corpus[id]
				if !ok {
					t.Fatalf("no event %q in testdata", id)
				}
				if !f.Match(ev) {
					t.Errorf("%s does not match %s", c.ID, id)
				}
			}
			for _, id := range tc.noMatch {
				ev, ok := corpus[id]
				if !ok {
					t.Fatalf("no event %q in testdata", id)
				}
				if f.Match(ev) {
					t.Errorf("%s matches %s", c.ID, id)
				}
			}
		})
	}
}

// TestComplianceCISInvictus counts the records each CIS filter selects in
// the Invictus attack-run log files. The expected counts were worked out
// independently of this package, by reading the records with a separate
// JSON tool and applying each control's conditions by hand (for example
// CloudWatch.2: errorCode ends in UnauthorizedOperation or starts with
// AccessDenied).
func TestComplianceCISInvictus(t *testing.T) {
	events := loadInvictus(t)
	if len(events) != 1259 {
		t.Fatalf("loaded %d invictus records, want 1259", len(events))
	}
	want := map[string]int{
		"CloudWatch.1": 0, "CloudWatch.2": 54, "CloudWatch.3": 1, "CloudWatch.4": 12,
		"CloudWatch.5": 7, "CloudWatch.6": 0, "CloudWatch.7": 0, "CloudWatch.8": 5,
		"CloudWatch.9": 0, "CloudWatch.10": 4, "CloudWatch.11": 0, "CloudWatch.12": 7,
		"CloudWatch.13": 14, "CloudWatch.14": 3, "CIS-4.15": 1,
	}
	for _, c := range filter.CISControls() {
		f := filter.MustCompile(c.Pattern)
		n := 0
		for _, ev := range events {
			if f.Match(ev) {
				n++
			}
		}
		if n != want[c.ID] {
			t.Errorf("%s selects %d invictus records, want %d", c.ID, n, want[c.ID])
		}
	}
}

// TestComplianceQuoted checks the filters quoted in trailwatch's own design,
// exactly as written there, against real events. The RunInstances filter is
// the CloudTrail User Guide's "EC2 large instance changes" example.
func TestComplianceQuoted(t *testing.T) {
	corpus := loadCorpus(t)
	invictus := loadInvictus(t)
	tests := []struct {
		pattern        string
		match, noMatch []string
		invictusCount  int
	}{
		{
			pattern: `{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}`,
			match:   []string{"docs/console-signin-root-mfa", "docs/root-password-updated", "docs/root-put-rule"},
			noMatch: []string{"docs/console-signin-iam-user-mfa", "docs/service-event-rotate-key"},
		},
		{
			pattern:       `{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }`,
			match:         []string{"docs/console-signin-root-failure", "docs/integration-console-login-failure"},
			noMatch:       []string{"docs/console-signin-root-no-mfa", "docs/integration-console-login-no-user"},
			invictusCount: 0,
		},
		{
			pattern:       `{ $.eventName = "ConsoleLogin" && $.additionalEventData.MFAUsed = "No" }`,
			match:         []string{"docs/console-signin-iam-user-no-mfa", "docs/tutorial-console-login", "panther-scenario/compromised-root-creds/victim/12/ConsoleLogin"},
			noMatch:       []string{"docs/console-signin-iam-user-mfa", "docs/console-signin-root-mfa"}, // MFAUsed "Yes" and "YES"
			invictusCount: 1,
		},
		{
			pattern:       `{($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*")}`,
			match:         []string{"panther/AWS.EC2.LaunchUnusualEC2Instances/Failed Unusual EC2", "panther/AWS.CloudTrail.ResourceMadePublic/S3 Failed to make Publicly Accessible"},
			noMatch:       []string{"panther/AWS.EC2.Monitoring/RunInstance - Dry Run ", "panther/AWS.CloudTrail.Stopped/Error Stopping CloudTrail"},
			invictusCount: 54,
		},
		{
			pattern:       `{ ($.eventName = RunInstances) && (($.requestParameters.instanceType = *.8xlarge) || ($.requestParameters.instanceType = *.4xlarge)) }`,
			match:         []string{"panther-scenario/compromised-root-creds/attacker/11/RunInstances"}, // p2.8xlarge
			noMatch:       []string{"panther/AWS.EC2.Monitoring/RunInstance", "panther/AWS.EC2.LaunchUnusualEC2Instances/Successful Unusual EC2"},
			invictusCount: 0, // four RunInstances, all t3.micro
		},
	}
	for _, tt := range tests {
		f, err := filter.Compile(tt.pattern)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.pattern, err)
		}
		for _, id := range tt.match {
			ev, ok := corpus[id]
			if !ok {
				t.Fatalf("no event %q in testdata", id)
			}
			if !f.Match(ev) {
				t.Errorf("%s does not match %s", tt.pattern, id)
			}
		}
		for _, id := range tt.noMatch {
			ev, ok := corpus[id]
			if !ok {
				t.Fatalf("no event %q in testdata", id)
			}
			if f.Match(ev) {
				t.Errorf("%s matches %s", tt.pattern, id)
			}
		}
		n := 0
		for _, ev := range invictus {
			if f.Match(ev) {
				n++
			}
		}
		if n != tt.invictusCount {
			t.Errorf("%s selects %d invictus records, want %d", tt.pattern, n, tt.invictusCount)
		}
	}
}

// TestCISControlsTable guards the exported table the rule packs reuse:
// fifteen controls, every pattern compiles, and each one that lists event
// names pins them for the rule index.
func TestCISControlsTable(t *testing.T) {
	cs := filter.CISControls()
	if len(cs) != 15 {
		t.Fatalf("CISControls() has %d controls, want 15", len(cs))
	}
	pinned := map[string]int{
		"CloudWatch.1": -1, "CloudWatch.2": -1, "CloudWatch.3": 1, "CloudWatch.4": 16,
		"CloudWatch.5": 5, "CloudWatch.6": 1, "CloudWatch.7": 2, "CloudWatch.8": 9,
		"CloudWatch.9": 4, "CloudWatch.10": 6, "CloudWatch.11": 6, "CloudWatch.12": 6,
		"CloudWatch.13": 7, "CloudWatch.14": 11, "CIS-4.15": 18,
	}
	for _, c := range cs {
		f, err := filter.Compile(c.Pattern)
		if err != nil {
			t.Errorf("%s: %v", c.ID, err)
			continue
		}
		names, ok := f.EventNames()
		want := pinned[c.ID]
		switch {
		case want < 0 && ok:
			t.Errorf("%s pins %v, want no pin", c.ID, names)
		case want >= 0 && (!ok || len(names) != want):
			t.Errorf("%s pins %d names (ok=%v), want %d", c.ID, len(names), ok, want)
		}
		if c.Title == "" || c.Source == "" || len(c.CIS) == 0 {
			t.Errorf("%s lacks a title, source or CIS mapping", c.ID)
		}
	}
	cs[0].Pattern = "changed"
	if filter.CISControls()[0].Pattern == "changed" {
		t.Error("CISControls returns shared memory")
	}
}
