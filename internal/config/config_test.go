package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
)

var testNow = time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)

func parse(t *testing.T, src string) (*Config, error) {
	t.Helper()
	return Parse("trailwatch.yaml", []byte(strings.TrimPrefix(src, "\n")), Options{Now: func() time.Time { return testNow }})
}

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, err := parse(t, src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

// base is a valid file the error cases below change one thing in.
const base = `
receivers:
  - name: slack
    slack:
      webhook_url: ssm:/trailwatch/slack
route:
  receiver: slack
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown top-level key", `
timezone: UTC
locale: en
recievers: []
`, `trailwatch.yaml:3: unknown field "recievers"`},
		{"unknown nested key", base + `
state:
  backend: file
  pth: /tmp/x
`, `trailwatch.yaml:10: state: unknown field "pth"`},
		{"route names a missing receiver", `
timezone: Asia/Tokyo
locale: ja
receivers:
  - name: slack
    slack:
      webhook_url: env:SLACK_WEBHOOK_URL
  - name: mail
    email:
      from: trailwatch@example.com
      to: [security@example.com]
      ses: {}
route:
  receiver: slack
  routes:
    - matchers: [severity >= high]
      receiver: oncall
`, `trailwatch.yaml:16: route.routes[0]: receiver "oncall" is not defined`},
		{"root receiver missing", `
receivers:
  - name: slack
    slack:
      webhook_url: env:SLACK_WEBHOOK_URL
route:
  receiver: oncall
`, `trailwatch.yaml:6: route: receiver "oncall" is not defined`},
		{"bad timezone", "timezone: Asia/Tokio\n" + base,
			`trailwatch.yaml:1: timezone: unknown time zone "Asia/Tokio" (want an IANA name such as Asia/Tokyo or UTC)`},
		{"bad locale", "locale: fr\n" + base,
			`trailwatch.yaml:1: locale: "fr" is not supported (want en or ja)`},
		{"bad matcher regex", base + `
  routes:
    - matchers: ['rule =~ "root-(login"']
`, "trailwatch.yaml:9: route.routes[0].matchers[0]: matcher \"rule =~ \\\"root-(login\\\"\": bad regular expression \"root-(login\" (missing closing ))"},
		{"unknown matcher label", base + `
  routes:
    - matchers: [sevrity = high]
`, `trailwatch.yaml:9: route.routes[0].matchers[0]: matcher "sevrity = high": unknown label "sevrity" (want one of rule, severity, account, account_name, region, principal, principal_type, principal_arn, principal_account, role, event_name, event_source, source_ip, tag, tag:<name>)`},
		{"ordering on a non-severity label", base + `
  routes:
    - matchers: [region >= us-east-1]
`, `trailwatch.yaml:9: route.routes[0].matchers[0]: matcher "region >= us-east-1": ordering operator >= applies to severity only`},
		{"silence without expiry", base + `
silences:
  - matchers: [rule = root-console-login]
    comment: planned root use for billing, ticket SEC-12
`, `trailwatch.yaml:9: silences[0]: expires is required (an RFC 3339 time such as 2026-12-31T23:59:59Z)`},
		{"silence without comment", base + `
silences:
  - matchers: [rule = root-console-login]
    expires: 2026-12-01T00:00:00Z
`, `trailwatch.yaml:9: silences[0]: comment is required (say why the alerts are muted and who asked)`},
		{"silence with a bad time", base + `
silences:
  - matchers: [rule = root-console-login]
    expires: next tuesday
    comment: x
`, `trailwatch.yaml:10: silences[0].expires: "next tuesday" is not an RFC 3339 time such as 2026-12-31T23:59:59Z or 2026-12-31T23:59:59+09:00`},
		{"receiver with two kinds", `
receivers:
  - name: slack
    slack:
      webhook_url: env:SLACK_WEBHOOK_URL
    teams:
      webhook_url: env:TEAMS_WEBHOOK_URL
route:
  receiver: slack
`, `trailwatch.yaml:5: receivers[0].teams: a receiver has exactly one of slack, slackbot, teams, webhook, sns, email, stdout; this one has slack and teams`},
		{"receiver without kind", `
receivers:
  - name: slack
route:
  receiver: slack
`, `trailwatch.yaml:2: receivers[0]: no kind given (want one of slack, slackbot, teams, webhook, sns, email, stdout)`},
		{"secret written in the file", `
receivers:
  - name: slack
    slack:
      webhook_url: https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX
route:
  receiver: slack
`, `trailwatch.yaml:4: receivers[0].slack.webhook_url: not a secret reference (want env:NAME, file:PATH, ssm:NAME, secretsmanager:NAME or kms:CIPHERTEXT); the value is not shown, and a secret itself must never be written in the config`},
		{"bad env reference", `
receivers:
  - name: bot
    slackbot:
      token: env:1BAD
      channel: C0123
route:
  receiver: bot
`, `trailwatch.yaml:4: receivers[0].slackbot.token: secret reference env:<not shown>: the variable name must be letters, digits and underscores, not starting with a digit`},
		{"duplicate receiver names", `
receivers:
  - name: slack
    slack: {webhook_url: env:A}
  - name: slack
    stdout: {}
route:
  receiver: slack
`, `trailwatch.yaml:4: receivers[1]: name "slack" is already used by receivers[0] (line 2)`},
		{"group_wait explained", base + "  group_wait: 30s\n",
			`trailwatch.yaml:7: route: group_wait is not supported: trailwatch notifies each batch of events as it arrives, and repeat_interval throttles repeats`},
		{"bad duration", base + "  repeat_interval: 1 hour\n",
			`trailwatch.yaml:7: route.repeat_interval: "1 hour" is not a duration such as 30m, 4h or 7d`},
		{"wrong type", base + "  continue: yes please\n",
			`trailwatch.yaml:7: route.continue: expected true or false, found a string`},
		{"list where a mapping belongs", "state: [file]\n" + base,
			`trailwatch.yaml:1: state: expected a mapping, found a list`},
		{"bad account id", "accounts:\n  12345: prod\n" + base,
			`trailwatch.yaml:2: accounts.12345: "12345" is not a 12-digit AWS account id (quote ids that start with 0)`},
		{"matchers on the root", base + "  matchers: [severity = high]\n",
			`trailwatch.yaml:7: route.matchers: the root route matches every alert; put matchers on child routes`},
		{"unknown group_by label", base + "  group_by: [rule, user]\n",
			`trailwatch.yaml:7: route.group_by[1]: unknown label "user" (want one of rule, severity, account, account_name, region, principal, principal_type, principal_arn, principal_account, role, event_name, event_source, source_ip, tag:<name>, or ...)`},
		{"empty ignore rule", base + `
ignore:
  - comment: nothing set
`, `trailwatch.yaml:9: ignore[0]: set at least one of principal, event_name, account and rule (an empty ignore rule would drop everything)`},
		{"ignore without comment", base + `
ignore:
  - principal: terraform-ci/*
`, `trailwatch.yaml:9: ignore[0]: comment is required (say why this activity is expected)`},
		{"dynamodb without table", base + "state: {backend: dynamodb}\n",
			`trailwatch.yaml:7: state: table is required for the dynamodb backend`},
		{"receivers without route", `
receivers:
  - name: out
    stdout: {}
`, `trailwatch.yaml: route is required when receivers are set: add route: {receiver: NAME}`},
		{"sns topic", `
receivers:
  - name: cis
    sns: {topic_arn: "arn:aws:sns:us-east-1:12345:x"}
route:
  receiver: cis
`, `trailwatch.yaml:3: receivers[0].sns.topic_arn: "arn:aws:sns:us-east-1:12345:x" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)`},
		{"webhook url not echoed", `
receivers:
  - name: hook
    webhook: {url: "ftp://example.com/token-abc"}
route:
  receiver: hook
`, `trailwatch.yaml:3: receivers[0].webhook.url: not an http or https URL with a host`},
		{"webhook url with credentials", `
receivers:
  - name: hook
    webhook: {url: "https://user:pass@example.com/x"}
route:
  receiver: hook
`, `trailwatch.yaml:3: receivers[0].webhook.url: credentials in the URL would be logged; use secret_headers instead`},
		{"reserved webhook header", `
receivers:
  - name: hook
    webhook:
      url: env:HOOK_URL
      secret_headers: {x-trailwatch-signature: env:X}
route:
  receiver: hook
`, `trailwatch.yaml:5: receivers[0].webhook.secret_headers.x-trailwatch-signature: header "x-trailwatch-signature" is set by trailwatch and cannot be configured`},
		{"smtp tls none off loopback", `
receivers:
  - name: mail
    email:
      from: a@example.com
      to: b@example.com
      smtp: {host: smtp.example.com, tls: none}
route:
  receiver: mail
`, `trailwatch.yaml:6: receivers[0].email.smtp.tls: none is only allowed for a server on a loopback address, not "smtp.example.com"; use starttls or tls`},
		{"email needs a transport", `
receivers:
  - name: mail
    email: {from: a@example.com, to: b@example.com}
route:
  receiver: mail
`, `trailwatch.yaml:3: receivers[0].email: set ses or smtp to say how mail is sent`},
		{"bad mention", `
receivers:
  - name: s
    slack:
      webhook_url: env:S
      mentions: {high: "@oncall-team"}
route:
  receiver: s
`, `trailwatch.yaml:5: receivers[0].slack.mentions.high: mention "@oncall-team" is not here, channel, everyone, a Slack user id (U…) or a user group id (S…)`},
		{"YAML syntax error", "route: [a\nreceivers: b\n",
			`trailwatch.yaml:2: invalid YAML: ',' or ']' must be specified`},
		{"duplicate key", "locale: en\nlocale: ja\n",
			`trailwatch.yaml:2: invalid YAML: mapping key "locale" already defined at [1:1]`},
		{"two documents", base + "---\nlocale: ja\n",
			`trailwatch.yaml:8: a configuration file holds one YAML document; remove the second one or the --- before it`},
		{"unknown alias", base + "locale: *lang\n",
			`trailwatch.yaml:7: alias *lang refers to no anchor`},
		{"packs all with names", "rules: {packs: [all, signin]}\n" + base,
			`trailwatch.yaml:1: rules.packs[0]: all stands alone; list pack names instead`},
		{"bad rule severity", "rules:\n  severity: {root-console-login: urgent}\n" + base,
			`trailwatch.yaml:2: rules.severity.root-console-login: unknown severity "urgent" (want one of info, low, medium, high, critical)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.src)
			if err == nil {
				t.Fatalf("Parse succeeded, want error\n%s", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *config.Error", err)
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	_, err := parse(t, `
timezone: Mars/Olympus
locale: fr
receivers:
  - name: a
    stdout: {format: xml}
route:
  receiver: a
`)
	want := `trailwatch.yaml:1: timezone: unknown time zone "Mars/Olympus" (want an IANA name such as Asia/Tokyo or UTC)
trailwatch.yaml:2: locale: "fr" is not supported (want en or ja)
trailwatch.yaml:5: receivers[0].stdout.format: "xml" is not a format (want text or json)`
	if err == nil || err.Error() != want {
		t.Fatalf("error\n got: %v\nwant: %s", err, want)
	}
}

func TestSecretNeverInErrorOrDump(t *testing.T) {
	const token = "xoxb-1234-SECRETSECRET"
	_, err := parse(t, `
receivers:
  - name: bot
    slackbot: {token: "`+token+`", channel: C1}
route:
  receiver: bot
`)
	if err == nil || strings.Contains(err.Error(), token) {
		t.Fatalf("error must exist and not contain the token: %v", err)
	}
	c := mustParse(t, `
receivers:
  - name: bot
    slackbot: {token: "ssm:/trailwatch/slack-bot-token", channel: C1}
route:
  receiver: bot
`)
	out, err := c.Dump()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "slack-bot-token") || !strings.Contains(string(out), "token: <secret>") {
		t.Errorf("dump shows the reference or hides the field:\n%s", out)
	}
	if got := c.Receivers[0].SlackBot.Token.Ref(); got != "ssm:/trailwatch/slack-bot-token" {
		t.Errorf("Ref = %q", got)
	}
	for _, s := range []string{
		c.Receivers[0].SlackBot.Token.String(),
		c.Receivers[0].SlackBot.Token.GoString(),
	} {
		if strings.Contains(s, "slack-bot-token") {
			t.Errorf("printed form %q shows the reference", s)
		}
	}
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, "# nothing but a comment\n")
	if c.Timezone != "UTC" || c.Location != time.UTC || c.Locale != "en" {
		t.Errorf("zone/locale = %q %v %q", c.Timezone, c.Location, c.Locale)
	}
	if strings.Join(c.Rules.Packs, ",") != PacksDefault || c.Rules.AllPacks() || c.Rules.NoPacks() {
		t.Errorf("packs = %v", c.Rules.Packs)
	}
	if len(c.Receivers) != 1 || c.Receivers[0].Kind() != KindStdout || c.Route.Receiver != DefaultReceiver {
		t.Errorf("default receiver/route = %+v %+v", c.Receivers, c.Route)
	}
	if got := c.Route.GroupBy; strings.Join(got, ",") != "rule,account,principal" {
		t.Errorf("group_by = %v", got)
	}
	if c.State.Backend != BackendFile || c.State.TTL != DefaultTTL {
		t.Errorf("state = %+v", c.State)
	}
	c = mustParse(t, "rules: {packs: none}\n"+base)
	if !c.Rules.NoPacks() {
		t.Errorf("packs = %v", c.Rules.Packs)
	}
}

func TestParseFull(t *testing.T) {
	c := mustParse(t, `
rules:
  packs: [signin, root]
  files: [rules/*.yaml]
  disable: [console-login-no-mfa]
  severity: {root-console-login: high}
timezone: Asia/Tokyo
locale: ja
accounts:
  "012345678901": dev
  123456789012: prod
x-slack: &slackdefaults
  mentions: {critical: [channel, U024BE7LH], failed_login: here}
receivers:
  - name: slack-ja
    slack:
      <<: *slackdefaults
      webhook_url: secretsmanager:prod/trailwatch#slack_url
    templates:
      title: '{{ .Title }}'
  - name: mail
    email:
      from: Trailwatch <trailwatch@example.com>
      to: security@example.com
      cc: [audit@example.com]
      smtp: {host: smtp.example.com, port: 465, username: tw, password: file:/run/secrets/smtp}
route:
  receiver: slack-ja
  group_by: [...]
  repeat_interval: 1d12h
  routes:
    - matchers: ["severity >= high", "tag =~ cis-.*"]
      continue: true
    - receiver: mail
      group_by: []
silences:
  - matchers: [principal = break-glass]
    expires: 2026-01-01T00:00:00Z
    comment: drill
ignore:
  - principal: arn:aws:iam::123456789012:role/ci-*
    expires: 2027-01-01T00:00:00+09:00
    comment: CI
state: {backend: dynamodb, table: trailwatch-state, ttl: 14d}
`)
	if got := c.Rules; strings.Join(got.Packs, ",") != "signin,root" || got.Files[0] != "rules/*.yaml" ||
		got.Disable[0] != "console-login-no-mfa" || got.Severity["root-console-login"] != event.SeverityHigh {
		t.Errorf("rules = %+v", got)
	}
	if c.Location.String() != "Asia/Tokyo" || c.Locale != "ja" {
		t.Errorf("zone/locale = %v %s", c.Location, c.Locale)
	}
	if c.Accounts["012345678901"] != "dev" || c.Accounts["123456789012"] != "prod" {
		t.Errorf("accounts = %v", c.Accounts)
	}
	s := c.Receivers[0].Slack
	if s == nil || s.WebhookURL.Ref() != "secretsmanager:prod/trailwatch#slack_url" {
		t.Fatalf("slack = %+v", s)
	}
	if s.Mentions.BySeverity[event.SeverityCritical] != "<!channel> <@U024BE7LH>" || s.Mentions.FailedLogin != "<!here>" {
		t.Errorf("mentions from the merge key = %+v", s.Mentions)
	}
	if c.Receivers[0].Templates["title"] != "{{ .Title }}" {
		t.Errorf("templates = %v", c.Receivers[0].Templates)
	}
	e := c.Receivers[1].Email
	if e.From != "Trailwatch <trailwatch@example.com>" || e.To[0] != "security@example.com" || e.CC[0] != "audit@example.com" ||
		e.SMTP.Port != 465 || e.SMTP.TLS != TLSImplicit || e.SMTP.Password.Ref() != "file:/run/secrets/smtp" {
		t.Errorf("email = %+v %+v", e, e.SMTP)
	}
	r := c.Route
	if r.GroupBy[0] != GroupByAll || time.Duration(*r.RepeatInterval) != 36*time.Hour || len(r.Routes) != 2 {
		t.Fatalf("route = %+v", r)
	}
	if !r.Routes[0].Continue || r.Routes[0].Matchers.String() != "{severity >= high, tag =~ cis-.*}" ||
		r.Routes[0].RepeatInterval != nil || r.Routes[0].GroupBy != nil {
		t.Errorf("first child = %+v", r.Routes[0])
	}
	if r.Routes[1].GroupBy == nil || len(r.Routes[1].GroupBy) != 0 {
		t.Errorf("group_by: [] must be an empty, non-nil list: %#v", r.Routes[1].GroupBy)
	}
	if c.ExpiredSilences(testNow) != 1 || len(c.Notes) != 1 ||
		c.Notes[0] != "trailwatch.yaml:36: silences[0] expired at 2026-01-01T00:00:00Z and is ignored" {
		t.Errorf("expired = %d, notes = %q", c.ExpiredSilences(testNow), c.Notes)
	}
	if ig := c.Ignore[0]; !ig.Active(testNow) || ig.Expires.Format(time.RFC3339) != "2027-01-01T00:00:00+09:00" {
		t.Errorf("ignore = %+v", ig)
	}
	if c.State.Backend != BackendDynamoDB || c.State.Table != "trailwatch-state" || c.State.TTL.String() != "14d" {
		t.Errorf("state = %+v", c.State)
	}
	if c.CountRoutes() != 3 || c.Line("route.routes[1]") != 33 || c.Line("receivers[1].email.smtp.port") != 25 {
		t.Errorf("routes = %d, lines = %d %d", c.CountRoutes(), c.Line("route.routes[1]"), c.Line("receivers[1].email.smtp.port"))
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0s": 0, "90s": 90 * time.Second, "4h": 4 * time.Hour, "7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour,
	} {
		got, err := ParseDuration(in)
		if err != nil || time.Duration(got) != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, err := ParseDuration(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q through %q = %v, %v", in, got.String(), back, err)
		}
	}
	for _, in := range []string{"", "-1h", "d", "1x", "1.5d", "99999999d"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", in)
		}
	}
}

func TestUnusedReceiverNote(t *testing.T) {
	c := mustParse(t, base+`  routes: []
`)
	if len(c.Notes) != 0 {
		t.Errorf("notes = %q", c.Notes)
	}
	c = mustParse(t, `
receivers:
  - name: a
    stdout: {}
  - name: b
    stdout: {format: json}
route: {receiver: a}
`)
	if len(c.Notes) != 1 || c.Notes[0] != `trailwatch.yaml:4: receiver "b" is not used by any route` {
		t.Errorf("notes = %q", c.Notes)
	}
}

func TestErrorfPointsAtSetting(t *testing.T) {
	c := mustParse(t, "rules:\n  disable: [a, nope]\n"+base)
	err := c.Errorf("rules.disable[1]", "no rule has id %q", "nope")
	if err.Error() != `trailwatch.yaml:2: rules.disable[1]: no rule has id "nope"` {
		t.Errorf("Errorf = %v", err)
	}
}

func TestAliasesCannotExplode(t *testing.T) {
	// Each level doubles the routes an alias expands to; without a bound
	// the last one would expand to 2^30 routes.
	var b strings.Builder
	b.WriteString("receivers: [{name: a, stdout: {}}]\nx-r0: &r0 {matchers: [rule = x]}\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&b, "x-r%d: &r%d {routes: [*r%d, *r%d]}\n", i, i, i-1, i-1)
	}
	b.WriteString("route:\n  receiver: a\n  routes: [*r30]\n")
	start := time.Now()
	_, err := parse(t, b.String())
	if err == nil || !strings.Contains(err.Error(), "the file expands to more than 100000 values through aliases") {
		t.Errorf("error = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	_, err = parse(t, "receivers: [{name: a, stdout: {}}]\nroute: &r\n  receiver: a\n  routes: [*r]\n")
	if err == nil || !strings.Contains(err.Error(), "settings nest more than 64 levels deep") {
		t.Errorf("a route that contains itself: %v", err)
	}
	_, err = parse(t, "state: &s\n  <<: *s\n  backend: memory\n")
	if err == nil || !strings.Contains(err.Error(), "settings nest more than 64 levels deep") {
		t.Errorf("a mapping that merges itself: %v", err)
	}
}
