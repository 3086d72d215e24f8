package tattletail

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/rule"
)

var opts = config.Options{Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }}

// seed is the configuration from the project's issue tracker, verbatim
// (examples/tattletail.toml holds the same text).
func seed(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "tattletail.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIs(t *testing.T) {
	for _, c := range []struct {
		name, data string
		want       bool
	}{
		{"tattletail.toml", "", true},
		{"ssm:/tattletail/config", "# rules\n\n[[rule]]\nname = \"x\"\n", true},
		{"s3://b/config", "[[destination]]\n", true},
		{"trailwatch.yaml", "rules:\n  packs: all\n", false},
		{"ssm:/trailwatch/config", "# comment\nreceivers: []\n", false},
		{"x.TOML", "", true},
	} {
		if got := Is(c.name, []byte(c.data)); got != c.want {
			t.Errorf("Is(%q, %q) = %v", c.name, c.data, got)
		}
	}
}

// TestSeedConverts: the seed configuration loads unchanged: its two rules
// become jq rules, its Slack destination a receiver with the webhook URL
// as written, each rule routed to it, no built-in packs.
func TestSeedConverts(t *testing.T) {
	c, err := Convert("tattletail.toml", seed(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Rules.NoPacks() {
		t.Errorf("packs = %v, want none", c.Rules.Packs)
	}
	if len(c.Receivers) != 1 || c.Receivers[0].Name != "Slack-Audit" || c.Receivers[0].Slack == nil {
		t.Fatalf("receivers = %+v", c.Receivers)
	}
	if got := c.Receivers[0].Slack.WebhookURL.Ref(); got != "___YOUR_SLACK_WEBHOOK___" {
		t.Errorf("webhook_url = %q, want the TOML's value", got)
	}
	if s := c.Receivers[0].Slack.WebhookURL.String(); s != config.Redacted {
		t.Errorf("the webhook URL prints as %q", s)
	}
	if len(c.Route.Routes) != 1 || !c.Route.Routes[0].Continue || c.Route.Routes[0].Receiver != "Slack-Audit" {
		t.Errorf("routes = %+v", c.Route.Routes)
	}
	if len(c.RuleSources) != 1 {
		t.Fatalf("rule sources = %+v", c.RuleSources)
	}
	f := c.RuleSources[0]
	rs, err := rule.Load(rule.Selection{Packs: []string{rule.PacksNone}, Files: []rule.File{{FS: f.FS, Name: f.Name, Display: f.Display}}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
		if r.Language != "jq" || r.Severity != event.SeverityMedium {
			t.Errorf("rule %s: language %s severity %s", r.ID, r.Language, r.Severity)
		}
	}
	if !slices.Equal(ids, []string{"create-accesskey", "ssm-start-session"}) {
		t.Errorf("rule ids = %q", ids)
	}
	// The annotation text is the seed's.
	start := event.MustParse(`{"eventName":"StartSession","eventSource":"ssm.amazonaws.com","requestParameters":{"target":"i-0123456789abcdef0"},"responseElements":{"sessionId":"alice-0a1b2c3d4e5f"}}`)
	m, ann, err := rs[1].Match(context.Background(), start)
	if err != nil || !m || ann != "username: alice-0a1b2c3d4e5f target: i-0123456789abcdef0" {
		t.Errorf("ssm-start-session on StartSession = %v, %q, %v", m, ann, err)
	}
	key := event.MustParse(`{"eventName":"CreateAccessKey","eventSource":"iam.amazonaws.com"}`)
	m, ann, err = rs[0].Match(context.Background(), key)
	if err != nil || !m || ann != "" {
		t.Errorf("create-accesskey on CreateAccessKey = %v, %q, %v; want a match without the record as annotation", m, ann, err)
	}
}

// TestTranslate pins what convert prints for the seed.
func TestTranslate(t *testing.T) {
	res, err := Translate("tattletail.toml", seed(t))
	if err != nil {
		t.Fatal(err)
	}
	wantConfig := `# Converted from tattletail.toml by trailwatch convert.
# Only the converted rules run, as in tattletail: no built-in packs, no detectors.
rules:
  packs: none
  files: [tattletail-rules.yaml]
receivers:
  - name: Slack-Audit
    slack:
      webhook_url: env:SLACK_AUDIT_WEBHOOK_URL
route:
  receiver: Slack-Audit
  group_by: ["..."]
  routes:
    - receiver: Slack-Audit
      matchers: [rule =~ "^(create-accesskey|ssm-start-session)$"]
      continue: true
`
	if string(res.Config) != wantConfig {
		t.Errorf("config:\n%s\nwant:\n%s", res.Config, wantConfig)
	}
	wantRules := `# The [[rule]] tables of tattletail.toml, as trailwatch jq rules.
# The first output of a query decides, as in tattletail: null, false and errors
# do not match; the record itself (select) matches without an annotation; any
# other value matches and becomes the alert's annotation.
rules:
  - id: create-accesskey
    title: Create AccessKey
    severity: medium
    description: A new Access Key has been created
    tags: [tattletail]
    jq: select(.eventName == "CreateAccessKey")
  - id: ssm-start-session
    title: SSM Start Session
    severity: medium
    description: SSM start session
    tags: [tattletail]
    jq: 'select(.eventName == "StartSession") | "username: \(.responseElements.sessionId) target: \(.requestParameters.target)"'
`
	if string(res.Rules) != wantRules {
		t.Errorf("rules:\n%s\nwant:\n%s", res.Rules, wantRules)
	}
	if res.RulesFile != "tattletail-rules.yaml" {
		t.Errorf("rules file %q", res.RulesFile)
	}
	// What convert prints loads as trailwatch.yaml.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "trailwatch.yaml"), res.Config, 0o600)
	os.WriteFile(filepath.Join(dir, res.RulesFile), res.Rules, 0o600)
	t.Setenv("SLACK_AUDIT_WEBHOOK_URL", "https://hooks.example.test/x")
	c, err := config.Load(filepath.Join(dir, "trailwatch.yaml"), opts)
	if err != nil {
		t.Fatal(err)
	}
	files, err := c.RuleFiles()
	if err != nil || len(files) != 1 {
		t.Fatalf("rule files %q, %v", files, err)
	}
	if _, err := rule.LoadFile(files[0]); err != nil {
		t.Fatal(err)
	}
}

// TestEveryDestinationKind converts sns and ses destinations with their
// tattletail fields, and ignores the alerts of a rule without
// destinations, as tattletail sends them nowhere.
func TestEveryDestinationKind(t *testing.T) {
	src := `
[[rule]]
name = "Create User"
jq_match = 'select(.eventName == "CreateUser") | "username: \(.responseElements.user.userName)"'
description = "A new IAM user has been created"
destinations = ["Default SNS", "Slack Warnings", "Email"]

[[rule]]
name = "Quiet"
jq_match = '.eventName == "GetCallerIdentity"'

[[destination]]
id = "Default SNS"
type = "sns"
sns_arn = "arn:aws:sns:us-east-1:123456789012:cloudtail_alert"

[[destination]]
id = "Slack Warnings"
type = "slack_webhook"
webhook_url = "https://hooks.example.test/services/T/B/x"

[[destination]]
id = "Email"
type = "ses"
to_emails = ["foo@example.com", "bar@example.com"]
from_email = "cloudtrail_alerts@example.com"
`
	c, err := Convert("tattletail.toml", []byte(src), opts)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, r := range c.Receivers {
		kinds[r.Name] = r.Kind()
	}
	want := map[string]string{"Default-SNS": "sns", "Slack-Warnings": "slack", "Email": "email"}
	for k, v := range want {
		if kinds[k] != v {
			t.Errorf("receiver %s kind %q, want %q (all: %v)", k, kinds[k], v, kinds)
		}
	}
	if sns := c.ReceiverByName("Default-SNS").SNS; sns.TopicARN != "arn:aws:sns:us-east-1:123456789012:cloudtail_alert" || sns.Format != "json" {
		t.Errorf("sns = %+v", sns)
	}
	if e := c.ReceiverByName("Email").Email; e.From != "cloudtrail_alerts@example.com" || !slices.Equal(e.To, []string{"foo@example.com", "bar@example.com"}) || e.SES == nil {
		t.Errorf("email = %+v", e)
	}
	if len(c.Route.Routes) != 3 {
		t.Errorf("routes = %d, want one per destination", len(c.Route.Routes))
	}
	if len(c.Ignore) != 1 || c.Ignore[0].Rule != "quiet" {
		t.Errorf("ignore = %+v, want the rule without destinations", c.Ignore)
	}
	if len(c.Notes) != 0 {
		t.Errorf("notes %q", c.Notes)
	}
	// Later problems and notes name the TOML's lines.
	if got := c.Line("receivers[1].slack"); got != 17 {
		t.Errorf("receivers[1] is at line %d, want 17 (its [[destination]])", got)
	}
	unused, err := Convert("t.toml", []byte(src+"\n[[destination]]\nid = \"Spare\"\ntype = \"sns\"\nsns_arn = \"arn:aws:sns:us-east-1:123456789012:spare\"\n"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(unused.Notes) != 1 || unused.Notes[0] != `t.toml:28: destination "Spare" is named by no rule` {
		t.Errorf("notes %q", unused.Notes)
	}
}

// TestStrict: unknown keys and tables, missing fields, unknown
// destinations and bad queries are all reported at once, each at its line.
func TestStrict(t *testing.T) {
	src := `[[rule]]
name = "Create AccessKey"
jq_mach = 'select(.eventName == "CreateAccessKey")'
destinations = ["Slack Audit"]

[[rule]]
name = "Bad query"
jq_match = 'select(.eventName == )'
destinations = ["Slack Adit"]
severity = "high"

[[destination]]
id = "Slack Audit"
type = "slack_webhook"
webhook = "https://hooks.example.test/x"

[[destination]]
id = "Mail"
type = "email"

[[destination]]
id = "Topic"
type = "sns"
sns_arn = "cloudtail_alert"
webhook_url = "https://hooks.example.test/y"

[destinations]
x = 1
`
	_, err := Convert("tattletail.toml", []byte(src), opts)
	if err == nil {
		t.Fatal("no error")
	}
	want := `tattletail.toml:1: rule "Create AccessKey" (rule[0]): jq_match is required
tattletail.toml:3: rule "Create AccessKey" (rule[0]): unknown key "jq_mach" (a rule has name, jq_match, description, destinations)
tattletail.toml:8: rule "Bad query" (rule[1]): jq_match: syntax error at offset 22: unexpected token ")"
tattletail.toml:9: rule "Bad query" (rule[1]): destination "Slack Adit" is not defined
tattletail.toml:10: rule "Bad query" (rule[1]): unknown key "severity" (a rule has name, jq_match, description, destinations)
tattletail.toml:12: destination "Slack Audit": webhook_url is required for type slack_webhook
tattletail.toml:15: destination "Slack Audit": unknown key "webhook" (a destination has id, type, sns_arn, webhook_url, to_emails, to_email, from_email)
tattletail.toml:19: destination "Mail": unknown type "email" (want slack_webhook, sns, ses)
tattletail.toml:24: destination "Topic": sns_arn "cloudtail_alert" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)
tattletail.toml:25: destination "Topic": webhook_url does not apply to type sns
tattletail.toml:27: unknown table [destinations] (tattletail.toml has [[rule]] and [[destination]] tables)`
	if err.Error() != want {
		t.Errorf("errors:\n%s\nwant:\n%s", err, want)
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := Convert("tattletail.toml", []byte("[[rule]]\nname = \"x\nx = 1\n"), opts)
	if err == nil || !strings.HasPrefix(err.Error(), "tattletail.toml:2: invalid TOML: ") {
		t.Errorf("error = %v", err)
	}
}

// TestScanKeysSkipsStrings: text inside multi-line strings and arrays is
// not taken for keys.
func TestScanKeysSkipsStrings(t *testing.T) {
	src := `[[rule]]
name = "a"
jq_match = '''
select(.x == 1)
fake = 2
'''
destinations = [
  "b = c",
]
description = """
y = 3"""
"quoted key" = 1
`
	var got []string
	for _, k := range scanKeys(src) {
		if k.key != "" {
			got = append(got, k.key)
		}
	}
	want := []string{"name", "jq_match", "destinations", "description", "quoted key"}
	if !slices.Equal(got, want) {
		t.Errorf("keys %q, want %q", got, want)
	}
}

// FuzzConvert: no input makes Convert panic, every error line names the
// file, and what converts also loads as trailwatch.yaml.
func FuzzConvert(f *testing.F) {
	f.Add([]byte(`[[rule]]
name = "Create AccessKey"
jq_match = 'select(.eventName == "CreateAccessKey")'
destinations = ["Slack Audit"]

[[destination]]
id = "Slack Audit"
type = "slack_webhook"
webhook_url = "https://hooks.example.test/x"
`))
	f.Add([]byte("[[destination]]\nid = \"t\"\ntype = \"sns\"\nsns_arn = \"arn:aws:sns:us-east-1:123456789012:t\"\n"))
	f.Add([]byte("[a]\nb = '''\nx\n'''\n"))
	f.Add([]byte("[[rule]]\n\"n\\\"a\" = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Convert("t.toml", data, opts)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "t.toml") {
					t.Fatalf("error line %q does not name the file", line)
				}
			}
			if strings.Contains(err.Error(), "please report this") {
				t.Fatalf("a translation the configuration refuses: %v", err)
			}
			return
		}
		if c.Route == nil {
			t.Fatal("no route")
		}
		for _, f := range c.RuleSources {
			if _, err := rule.Load(rule.Selection{Packs: []string{rule.PacksNone}, Files: []rule.File{{FS: f.FS, Name: f.Name}}}); err != nil {
				t.Fatalf("converted rules do not load: %v", err)
			}
		}
	})
}
