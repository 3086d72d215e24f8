package rule

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/trailwatch/trailwatch/internal/event"
)

func TestLoadFileValid(t *testing.T) {
	rules, err := LoadFile("testdata/signin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id, lang string
		line     int
		sev      event.Severity
		tests    int
	}{
		{"root-console-login", "pattern", 4, event.SeverityCritical, 3},
		{"console-login-failure", "filter", 29, event.SeverityMedium, 2},
		{"console-login-arn", "jq", 42, event.SeverityInfo, 2},
		{"root-activity", "pattern", 56, event.SeverityHigh, 2},
	}
	if len(rules) != len(want) {
		t.Fatalf("loaded %d rules; want %d", len(rules), len(want))
	}
	for i, w := range want {
		r := rules[i]
		if r.ID != w.id || r.Language != w.lang || r.Line != w.line || r.Severity != w.sev || len(r.Tests) != w.tests {
			t.Errorf("rule %d = %s %s line %d %s %d tests; want %+v", i, r.ID, r.Language, r.Line, r.Severity, len(r.Tests), w)
		}
		if r.Pack != "signin" || r.File != "testdata/signin.yaml" {
			t.Errorf("rule %s: pack %q file %q", r.ID, r.Pack, r.File)
		}
	}
	r := rules[0]
	if r.Description != "The root user should not be used for everyday work." {
		t.Errorf("description = %q", r.Description)
	}
	if strings.Join(r.Tags, ",") != "cis-1.7,mitre-T1078.004" || len(r.Refs) != 1 {
		t.Errorf("tags %q refs %q", r.Tags, r.Refs)
	}
	// The YAML mapping pattern is compiled from its JSON form.
	if r.Source != `{"detail":{"eventName":["ConsoleLogin"],"userIdentity":{"type":["Root"]}},"detail-type":["AWS Console Sign In via CloudTrail"]}` {
		t.Errorf("source = %s", r.Source)
	}
	if got := string(r.Tests[2].Event); !strings.Contains(got, `"userIdentity":{"type":"Root"}`) {
		t.Errorf("inline event = %s", got)
	}
	if r.Tests[0].File != "events/root-console-login.json" || r.Tests[0].Line != 19 {
		t.Errorf("test 0 = %+v", r.Tests[0])
	}
}

// load parses src as the rule file "rules/signin.yaml".
func load(src string) ([]*Rule, error) {
	fsys := fstest.MapFS{"signin.yaml": {Data: []byte(src)}}
	return unique(loadFS(fsys, ".", "rules"))
}

const good = `rules:
  - id: root-login
    title: Root login
    severity: high
    filter: '{ $.userIdentity.type = Root }'
`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown key", `rules:
  - id: root-login
    title: Root login
    severity: high
    filtre: '{ $.userIdentity.type = Root }'
`, `rules/signin.yaml:5: rule "root-login": unknown key "filtre"; a rule has the keys id, title, severity, description, tags, refs, summary, locales, threshold, pattern, filter, jq, sigma, tests
rules/signin.yaml:2: rule "root-login": has no match; a rule has exactly one of pattern, filter, jq, sigma`},
		{"unknown locale", `rules:
  - id: root-login
    title: Root login
    severity: high
    filter: '{ $.userIdentity.type = Root }'
    locales:
      en: {title: Root login}
      fr: {title: Connexion root}
`, `rules/signin.yaml:7: rule "root-login": locales: unknown key "en"; the locales a rule may carry text in are "ja" (the rule's own title and summary are English)
rules/signin.yaml:8: rule "root-login": locales: unknown key "fr"; the locales a rule may carry text in are "ja" (the rule's own title and summary are English)`},
		{"bad locale text", `rules:
  - id: root-login
    title: Root login
    severity: high
    filter: '{ $.userIdentity.type = Root }'
    locales:
      ja:
        titel: ルート
        summary: '{{.Nope'
`, `rules/signin.yaml:8: rule "root-login": locales.ja: unknown key "titel"; a locale has the keys title, summary, description
rules/signin.yaml:9: rule "root-login": locales.ja: summary: template: root-login:1: unclosed action`},
		{"unknown top-level key", "rule:\n  - id: x\n", `rules/signin.yaml:1: unknown key "rule"; a rule file has the keys "pack", "rules", "networks" and "detectors"`},
		{"duplicate id", good + `  - id: root-login
    title: Root login again
    severity: low
    jq: '.userIdentity.type == "Root"'
`, `rules/signin.yaml:6: rule "root-login": duplicate id; it is already defined at rules/signin.yaml:2`},
		{"no language", `rules:
  - id: root-login
    title: Root login
    severity: high
`, `rules/signin.yaml:2: rule "root-login": has no match; a rule has exactly one of pattern, filter, jq, sigma`},
		{"two languages", `rules:
  - id: root-login
    title: Root login
    severity: high
    pattern: {userIdentity: {type: [Root]}}
    filter: '{ $.userIdentity.type = Root }'
`, `rules/signin.yaml:2: rule "root-login": has both pattern and filter; a rule has exactly one of pattern, filter, jq, sigma`},
		{"three languages", `rules:
  - id: root-login
    title: Root login
    severity: high
    pattern: {userIdentity: {type: [Root]}}
    filter: '{ $.userIdentity.type = Root }'
    jq: '.userIdentity.type == "Root"'
`, `rules/signin.yaml:2: rule "root-login": has pattern, filter and jq; a rule has exactly one of pattern, filter, jq, sigma`},
		{"bad severity", `rules:
  - id: root-login
    title: Root login
    severity: urgent
    filter: '{ $.userIdentity.type = Root }'
`, `rules/signin.yaml:4: rule "root-login": severity "urgent" is not one of info, low, medium, high, critical`},
		{"bad pattern", `rules:
  - id: root-login
    title: Root login
    severity: high
    pattern: {detail: {sourceIPAddress: [{cidr: "10.0.0.0/99"}]}}
`, `rules/signin.yaml:5: rule "root-login": pattern: detail.sourceIPAddress: cidr "10.0.0.0/99": invalid prefix length`},
		{"bad pattern string", `rules:
  - id: root-login
    title: Root login
    severity: high
    pattern: '{"detail": {"eventName": "ConsoleLogin"}}'
`, `rules/signin.yaml:5: rule "root-login": pattern: detail.eventName: the value must be a list of values or matchers, or an object, not a string (write ["ConsoleLogin"] to match it exactly)`},
		{"bad filter", `rules:
  - id: root-login
    title: Root login
    severity: high
    filter: '{ $.userIdentity.type = }'
`, `rules/signin.yaml:5: rule "root-login": filter: offset 24: expected a value after =, got "}"`},
		{"bad jq", `rules:
  - id: root-login
    title: Root login
    severity: high
    jq: 'select(.eventName == )'
`, `rules/signin.yaml:5: rule "root-login": jq: syntax error at offset 22: unexpected token ")"`},
		{"bad YAML", `rules:
  - id: root-login
    title: [Root login
    severity: high
`, `rules/signin.yaml:4: invalid YAML: ',' or ']' must be specified`},
		{"bad id", strings.Replace(good, "root-login", "Root_Login", 1), `rules/signin.yaml:2: rule #1: id "Root_Login" is not lower-case kebab-case (like root-console-login)`},
		{"missing id and title", `rules:
  - severity: high
    jq: '.a'
`, `rules/signin.yaml:2: rule #1: missing key "id"
rules/signin.yaml:2: rule #1: missing key "title"`},
		{"missing severity", strings.Replace(good, "    severity: high\n", "", 1), `rules/signin.yaml:2: rule "root-login": missing key "severity" (info, low, medium, high or critical)`},
		{"bad summary", good + "    summary: 'from {{.SourceIPP}}'\n", `rules/signin.yaml:6: rule "root-login": summary: template: root-login:1:7: executing "root-login" at <.SourceIPP>: can't evaluate field SourceIPP in type *event.Event`},
		{"unclosed summary", good + "    summary: 'from {{.SourceIP'\n", `rules/signin.yaml:6: rule "root-login": summary: template: root-login:1: unclosed action`},
		{"test without name and alert", good + `    tests:
      - event: {eventName: X}
`, `rules/signin.yaml:7: rule "root-login": test #1: missing key "name"
rules/signin.yaml:7: rule "root-login": test #1: missing key "alert" (true or false)`},
		{"test with event and file", good + `    tests:
      - name: both
        alert: true
        event: {eventName: X}
        file: events/x.json
`, `rules/signin.yaml:7: rule "root-login": test "both": has both event and file; a test has exactly one of event, file`},
		{"test with neither", good + `    tests:
      - name: none
        alert: yes
`, `rules/signin.yaml:8: rule "root-login": test "none": alert must be true or false
rules/signin.yaml:7: rule "root-login": test "none": missing key "alert" (true or false)
rules/signin.yaml:7: rule "root-login": test "none": has neither event nor file; a test has exactly one of event, file`},
		{"test event not an object", good + `    tests:
      - name: list
        alert: false
        event: '[1, 2]'
`, `rules/signin.yaml:9: rule "root-login": test "list": event is not a JSON object: record 0: record is not a JSON object (got array)`},
		{"test file escaping the packs", good + `    tests:
      - name: escape
        alert: false
        file: ../secret.json
`, `rules/signin.yaml:9: rule "root-login": test "escape": test file "../secret.json" must be a relative path inside the packs`},
		{"threshold out of range", good + `    threshold: {count: 1, window: 48h, by: [prinicpal]}
`, `rules/signin.yaml:6: rule "root-login": threshold: count must be between 2 and 10000, got 1
rules/signin.yaml:6: rule "root-login": threshold: window must be between 10s and 24h, got 48h
rules/signin.yaml:6: rule "root-login": threshold: by: "prinicpal" is neither a label (principal, principal_arn, principal_type, account, region, source_ip, user_agent, event_name, event_source, error_code) nor a dotted event field (like requestParameters.secretId)`},
		{"threshold malformed", good + `    threshold:
      count: many
      windw: 10m
`, `rules/signin.yaml:8: rule "root-login": threshold: unknown key "windw"; a threshold has the keys count, window, by, distinct
rules/signin.yaml:7: rule "root-login": threshold: count must be a whole number, found text
rules/signin.yaml:6: rule "root-login": threshold: missing key "window"`},
		{"threshold bad window", good + `    threshold: {count: 5, window: soon}
`, `rules/signin.yaml:6: rule "root-login": threshold: window "soon" is not a duration (like 10m or 1h)`},
		{"threshold not a mapping", good + `    threshold: 20
`, `rules/signin.yaml:6: rule "root-login": threshold must be a mapping (threshold: {count: 20, window: 10m, by: [principal]}), found a number`},
		{"pack settings", "pack: {default: no, defualt: false}\n" + good, `rules/signin.yaml:1: pack: unknown key "defualt"; the pack settings are default
rules/signin.yaml:1: pack: default must be true or false, found text`},
		{"pack not a mapping", "pack: optional\n" + good, `rules/signin.yaml:1: pack must be a mapping (pack: {default: false}), found text`},
		{"rules not a list", "rules: {id: x}\n", `rules/signin.yaml:1: "rules" must be a list of rules, found a mapping`},
		{"empty file", "", `rules/signin.yaml:1: empty rule file; want a mapping with a "rules" list`},
		{"two documents", good + "---\n" + good, `rules/signin.yaml:7: a rule file holds one YAML document`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(tc.src)
			if err == nil {
				t.Fatalf("no error; want\n%s", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tc.want)
			}
		})
	}
}

func TestLoadPathDuplicatesAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yaml"), good)
	write(t, filepath.Join(dir, "sub", "b.yaml"), "# another pack\n"+good)
	write(t, filepath.Join(dir, "testdata", "ignored.yaml"), "not: rules\n")
	_, err := LoadPath(dir)
	want := filepath.Join(dir, "sub", "b.yaml") + `:3: rule "root-login": duplicate id; it is already defined at ` + filepath.Join(dir, "a.yaml") + ":2"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestLoadPathErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadPath(dir); err == nil || err.Error() != dir+": no rule files (*.yaml, *.yml) found" {
		t.Errorf("empty dir: %v", err)
	}
	if _, err := LoadPath(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "cannot read rules: ") {
		t.Errorf("missing file: %v", err)
	}
}

func write(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSelect(t *testing.T) {
	packs := fstest.MapFS{
		"signin.yaml":  {Data: []byte(good)},
		"logging.yaml": {Data: []byte(strings.ReplaceAll(good, "root-login", "stop-logging"))},
		"README.md":    {Data: []byte("not a pack")},
	}
	ids := func(rs []*Rule) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.ID)
		}
		return strings.Join(s, ",")
	}
	extra := filepath.Join(t.TempDir(), "extra.yaml")
	write(t, extra, strings.ReplaceAll(good, "root-login", "my-rule"))
	tests := []struct {
		name string
		sel  Selection
		want string
		err  string
	}{
		{"all packs", Selection{Builtin: packs}, "stop-logging,root-login", ""},
		{"one pack", Selection{Builtin: packs, Packs: []string{"signin"}}, "root-login", ""},
		{"none plus file", Selection{Builtin: packs, Packs: []string{"none"}, Paths: []string{extra}}, "my-rule", ""},
		{"disabled", Selection{Builtin: packs, Paths: []string{extra}, Disabled: []string{"root-login"}}, "stop-logging,my-rule", ""},
		{"unknown pack", Selection{Builtin: packs, Packs: []string{"signin", "nope"}}, "", `unknown pack "nope"; the built-in packs are logging, signin`},
		{"none with others", Selection{Builtin: packs, Packs: []string{"none", "signin"}}, "", `pack "none" cannot be combined with other packs`},
		{"unknown disabled", Selection{Builtin: packs, Disabled: []string{"root-logn"}}, "", `cannot disable "root-logn": no loaded rule or detector has that id`},
		{"duplicate across builtin and file", Selection{Builtin: packs, Paths: []string{writeTemp(t, good)}}, "", `: rule "root-login": duplicate id; it is already defined at rules/signin.yaml:2`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := Load(tc.sel)
			if tc.err != "" {
				if err == nil || !strings.HasSuffix(err.Error(), tc.err) {
					t.Fatalf("error = %v; want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(rs); got != tc.want {
				t.Errorf("rules = %s; want %s", got, tc.want)
			}
		})
	}
	names, err := BuiltinPacks(packs)
	if err != nil || strings.Join(names, ",") != "logging,signin" {
		t.Errorf("BuiltinPacks = %q, %v", names, err)
	}
}

func writeTemp(t *testing.T, data string) string {
	name := filepath.Join(t.TempDir(), "dup.yaml")
	write(t, name, data)
	return name
}

func TestRunTests(t *testing.T) {
	rules, err := LoadFile("testdata/signin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	results := RunTests(context.Background(), rules)
	if len(results) != 9 {
		t.Fatalf("%d results; want 9", len(results))
	}
	for _, r := range results {
		if !r.Passed() {
			t.Errorf("%s", r.Failure())
		}
	}
	if a := results[5].Annotation; a != "arn:aws:iam::111122223333:user/JohnDoe" {
		t.Errorf("jq annotation = %q", a)
	}
}

func TestRunTestsFailures(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "events", "root.json"), `{"Records":[{"eventName":"ConsoleLogin","userIdentity":{"type":"Root"}}]}`)
	write(t, filepath.Join(dir, "events", "two.json"), `{"Records":[{},{}]}`)
	write(t, filepath.Join(dir, "events", "bad.json"), `{"eventName":`)
	write(t, filepath.Join(dir, "events", "envelope.json"), `{"source":"aws.signin","detail-type":"AWS Console Sign In via CloudTrail","detail":{"eventName":"ConsoleLogin","userIdentity":{"type":"Root"}}}`)
	file := filepath.Join(dir, "r.yaml")
	write(t, file, good+`    tests:
      - name: root in a log file
        alert: false
        file: events/root.json
      - name: iam user
        alert: true
        event: {userIdentity: {type: IAMUser}}
      - name: two records
        alert: true
        file: events/two.json
      - name: broken
        alert: true
        file: events/bad.json
      - name: missing
        alert: true
        file: events/missing.json
      - name: envelope
        alert: true
        file: events/envelope.json
`)
	rules, err := LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	results := RunTests(context.Background(), rules)
	ev := filepath.Join(dir, "events")
	want := []string{
		file + `:7: rule "root-login" test "root in a log file": expected no alert, got one`,
		file + `:10: rule "root-login" test "iam user": expected an alert, got none`,
		file + `:13: rule "root-login" test "two records": ` + filepath.Join(ev, "two.json") + ` holds 2 records; a test event file holds one event`,
		file + `:16: rule "root-login" test "broken": ` + filepath.Join(ev, "bad.json") + ` is not valid JSON: cannot parse JSON: cannot parse object: cannot parse object value: cannot parse empty string; unparsed tail: ""`,
		file + `:19: rule "root-login" test "missing": cannot read event file: open ` + filepath.Join(ev, "missing.json") + `: no such file or directory`,
		"",
	}
	if len(results) != len(want) {
		t.Fatalf("%d results; want %d", len(results), len(want))
	}
	for i, w := range want {
		if got := results[i].Failure(); got != w {
			t.Errorf("result %d:\n%s\nwant:\n%s", i, got, w)
		}
	}
}

func TestLoadLocales(t *testing.T) {
	src := `rules:
  - id: root-login
    title: Root signed in
    summary: 'Root signed in from {{.SourceIP}}'
    severity: high
    filter: '{ $.userIdentity.type = Root }'
    locales:
      ja:
        title: ルートユーザーがサインインしました
        summary: '{{.SourceIP}} からルートユーザーがサインインしました'
  - id: no-ja
    title: Any event
    severity: info
    pattern: {eventName: [ConsoleLogin]}
`
	rules, err := load(src)
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSet(rules...)
	if err != nil {
		t.Fatal(err)
	}
	ev := event.MustParse(`{"eventName":"ConsoleLogin","userIdentity":{"type":"Root"},"sourceIPAddress":"198.51.100.7"}`)
	alerts, err := set.Alerts(context.Background(), ev)
	if err != nil || len(alerts) != 2 {
		t.Fatalf("alerts = %d, %v", len(alerts), err)
	}
	a := alerts[0]
	if a.Rule.ID != "root-login" {
		a = alerts[1]
	}
	if got := a.Rule.TitleIn("ja"); got != "ルートユーザーがサインインしました" {
		t.Errorf("ja title = %q", got)
	}
	if got := a.Rule.TitleIn("en"); got != "Root signed in" {
		t.Errorf("en title = %q", got)
	}
	if got := a.SummaryIn("ja"); got != "198.51.100.7 からルートユーザーがサインインしました" {
		t.Errorf("ja summary = %q", got)
	}
	if got := a.SummaryIn("en"); got != "Root signed in from 198.51.100.7" {
		t.Errorf("en summary = %q", got)
	}
	for _, b := range alerts {
		if b.Rule.ID == "no-ja" && (b.Rule.TitleIn("ja") != "Any event" || b.Summaries != nil) {
			t.Errorf("a rule without ja text: title %q summaries %v", b.Rule.TitleIn("ja"), b.Summaries)
		}
	}
}
