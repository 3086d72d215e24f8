package matcher

import (
	"strings"
	"testing"
)

var labels = map[string]string{
	"rule":             "console-login-failed",
	"severity":         "high",
	"account":          "123456789012",
	"principal":        "alice",
	"event_name":       "ConsoleLogin",
	"tag:cis-1.7":      "true",
	"tag:mitre-T1078":  "true",
	"tag:not-set-here": "false",
}

func TestMatches(t *testing.T) {
	tests := []struct {
		src  string
		want bool
	}{
		{"rule = console-login-failed", true},
		{`rule="console-login-failed"`, true},
		{"rule == console-login-failed", true},
		{"rule != console-login-failed", false},
		{"rule =~ console-.*", true},
		{"rule =~ console", false}, // anchored
		{"rule !~ root-.*", true},
		{"event_name =~ 'Console.*|Switch.*'", true},
		{"severity >= high", true},
		{"severity >= critical", false},
		{"severity > medium", true},
		{"severity <= medium", false},
		{"severity < critical", true},
		{"severity = HIGH", true},
		{"region = \"\"", true}, // absent label is empty
		{"region != \"\"", false},
		{"tag:cis-1.7", true},
		{"tag:cis-1.8", false},
		{"tag:cis-1.7 = true", true},
		{"tag = cis-1.7", true},
		{"tag = not-set-here", false}, // only tags with value true count
		{"tag =~ cis-.*", true},
		{"tag =~ cis", false},
		{"tag != cis-1.7", false},
		{"tag !~ pci-.*", true},
		{"tag !~ mitre-.*", false},
		{"principal =~ \"ali(ce|x)\"", true},
	}
	for _, tt := range tests {
		m, err := Parse(tt.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		if got := m.Matches(labels); got != tt.want {
			t.Errorf("%q.Matches = %v, want %v", tt.src, got, tt.want)
		}
		back, err := Parse(m.String())
		if err != nil || back.String() != m.String() || back.Matches(labels) != tt.want {
			t.Errorf("%q does not round-trip through %q: %v", tt.src, m.String(), err)
		}
	}
}

func TestSeverityOrderingIgnoresUnknownValues(t *testing.T) {
	m, err := Parse("severity >= low")
	if err != nil {
		t.Fatal(err)
	}
	if m.Matches(map[string]string{"severity": "bogus"}) || m.Matches(map[string]string{}) {
		t.Error("an unknown or missing severity must not satisfy an ordering")
	}
}

func TestParseErrors(t *testing.T) {
	tests := map[string]string{
		"":                   "empty matcher (want label op value, such as severity >= high)",
		"= x":                `matcher "= x" does not start with a label name`,
		"rule":               `matcher "rule" has no operator (want =, !=, =~, !~, or >=, >, <=, < for severity)`,
		"rule ~ x":           `matcher "rule ~ x" has no operator after "rule" (want =, !=, =~, !~, or >=, >, <=, < for severity)`,
		"user = bob":         `matcher "user = bob": unknown label "user" (want one of rule, severity, account, account_name, region, principal, principal_type, principal_arn, principal_account, role, event_name, event_source, source_ip, tag, tag:<name>)`,
		"rule =":             `matcher "rule =": missing value (write "" to match an empty or absent label)`,
		`rule = "open`:       `matcher "rule = \"open": value "\"open" is not a complete double-quoted string`,
		"rule =~ a(b":        `matcher "rule =~ a(b": bad regular expression "a(b" (missing closing ))`,
		"rule =~ a**":        `matcher "rule =~ a**": bad regular expression "a**" (invalid nested repetition operator in "**")`,
		"account > 1":        `matcher "account > 1": ordering operator > applies to severity only`,
		"severity >= urgent": `matcher "severity >= urgent": unknown severity "urgent" (want one of info, low, medium, high, critical)`,
		"severity = urgent":  `matcher "severity = urgent": unknown severity "urgent" (want one of info, low, medium, high, critical)`,
		"tag: = x":           `matcher "tag: = x": tag label "tag:" has an empty or invalid tag name`,
	}
	for src, want := range tests {
		_, err := Parse(src)
		if err == nil || err.Error() != want {
			t.Errorf("Parse(%q) error\n got: %v\nwant: %s", src, err, want)
		}
	}
}

func TestMatchersConjunction(t *testing.T) {
	var ms Matchers
	if !ms.Matches(labels) {
		t.Error("no matchers must match")
	}
	for _, s := range []string{"severity >= medium", "tag:cis-1.7"} {
		m, _ := Parse(s)
		ms = append(ms, m)
	}
	if !ms.Matches(labels) || ms.String() != "{severity >= medium, tag:cis-1.7 = true}" {
		t.Errorf("%s.Matches = false", ms)
	}
	m, _ := Parse("account = 000000000000")
	if append(ms, m).Matches(labels) {
		t.Error("one failing matcher must fail the list")
	}
}

func TestNew(t *testing.T) {
	m, err := New("principal", Regexp, "ci/.*")
	if err != nil || !m.Matches(map[string]string{"principal": "ci/run-1"}) {
		t.Fatalf("New = %v, %v", m, err)
	}
	if _, err := New("nope", Equal, "x"); err == nil {
		t.Error("New accepted an unknown label")
	}
}

func TestParseLabels(t *testing.T) {
	got, err := ParseLabels(`rule=root-console-login, severity=CRITICAL,principal="a,b",tag:cis-1.7`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"rule": "root-console-login", "severity": "critical", "principal": "a,b", "tag:cis-1.7": "true"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for src, wantErr := range map[string]string{
		"rule":          `label "rule" has no value (want name=value)`,
		"who=me":        `unknown label "who" (want one of rule, severity, account, account_name, region, principal, principal_type, principal_arn, principal_account, role, event_name, event_source, source_ip, tag:<name>)`,
		"rule=a,rule=b": `label "rule" is given twice`,
		"severity=bad":  `label severity: unknown severity "bad" (want one of info, low, medium, high, critical)`,
		`rule="x`:       `label "rule": value "\"x" is not a complete double-quoted string`,
	} {
		if _, err := ParseLabels(src); err == nil || err.Error() != wantErr {
			t.Errorf("ParseLabels(%q) error\n got: %v\nwant: %s", src, err, wantErr)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"severity >= high", `rule =~ "a|b"`, "tag:cis-1.7", "tag !~ x.*", `principal = "a\"b"`, "x", "=~", "rule = 'a'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		m.Matches(labels)
		back, err := Parse(m.String())
		if err != nil {
			t.Fatalf("String form %q of %q does not parse: %v", m.String(), s, err)
		}
		if back.String() != m.String() {
			t.Fatalf("round trip %q -> %q", m.String(), back.String())
		}
	})
}

func FuzzParseLabels(f *testing.F) {
	for _, s := range []string{"rule=a,severity=high", `principal="x,y"`, "tag:a", ",,", `a="\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseLabels(s)
	})
}

// TestErrorsAreOneLine: an error echoes the user's text quoted, so text in
// a matcher cannot start a line of its own in `trailwatch validate` output
// (such as a forged "config OK"). The first two inputs are fuzz finds.
func TestErrorsAreOneLine(t *testing.T) {
	for _, src := range []string{
		"principal=\"00000000000\n00000",
		"rule!~0\xc0\n0",
		"principal = \"x\nconfig OK: 1 receivers, 1 routes, 0 silences (0 expired)",
		"severity >= 'a\nconfig OK'",
		"rule =~ \"(\nconfig OK\"",
	} {
		_, err := Parse(src)
		if err == nil {
			t.Errorf("Parse(%q) = nil error", src)
			continue
		}
		if strings.ContainsAny(err.Error(), "\n\r") {
			t.Errorf("Parse(%q) error spans lines: %q", src, err)
		}
	}
	if _, err := ParseLabels("rule=\"a\nconfig OK"); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("ParseLabels error spans lines: %q", err)
	}
}
