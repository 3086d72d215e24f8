package sigma

import (
	"errors"
	"slices"
	"testing"
)

// TestErrors pins the message a user reads for each refused construct: the
// line and a sentence naming the construct.
func TestErrors(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"not YAML", "title: [", `line 1: invalid YAML: sequence end token ']' not found`},
		{"empty", "", `line 1: empty document; a Sigma rule is a mapping with title, logsource and detection`},
		{"two documents", doc("    s:\n        a: 1\n    condition: s\n") + "---\ntitle: x\n",
			`line 10: a second YAML document: rule collections (several documents in one file) are not supported; put each rule in its own file`},
		{"not a mapping", "- a\n", `line 1: a Sigma rule is a mapping with title, logsource and detection, found a list`},
		{"no title", "logsource: {product: aws, service: cloudtrail}\ndetection: {s: {a: 1}, condition: s}\n", `line 1: missing key "title"`},
		{"no detection", "title: t\nlogsource: {product: aws, service: cloudtrail}\n", `line 1: missing key "detection"`},
		{"windows", "title: t\nlogsource:\n    product: windows\n    category: process_creation\ndetection: {s: {a: 1}, condition: s}\n",
			`line 2: logsource product "windows" is not read: trailwatch reads AWS CloudTrail (product: aws, service: cloudtrail)`},
		{"other aws service", "title: t\nlogsource:\n    product: aws\n    service: s3\ndetection: {s: {a: 1}, condition: s}\n",
			`line 2: logsource service "s3" is not read: trailwatch reads AWS CloudTrail (product: aws, service: cloudtrail)`},
		{"category", "title: t\nlogsource: {product: aws, service: cloudtrail, category: x}\ndetection: {s: {a: 1}, condition: s}\n",
			`line 2: logsource category "x" is not read: trailwatch reads AWS CloudTrail (product: aws, service: cloudtrail) with no category`},
		{"level", "title: t\nlevel: severe\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {a: 1}, condition: s}\n",
			`line 2: level "severe" is not one of informational, low, medium, high, critical`},
		{"correlation", "title: t\ncorrelation: {type: event_count}\n", `line 2: key "correlation": this is a Sigma correlation rule; correlation rules (counts and sequences over many events) are not supported`},
		{"keywords", doc("    keywords:\n        - evil\n        - bad\n    condition: keywords\n"),
			`line 7: search identifier "keywords" is a keyword list (text in a list): keyword search over the whole event is not supported; name the field to search, for example userAgent|contains: ...`},
		{"keywords all", doc("    keywords:\n        '|all':\n            - a\n            - b\n    condition: keywords\n"),
			`line 7: search identifier "keywords": "|all" has no field name: keyword search over the whole event is not supported; name the field to search`},
		{"expand", doc("    s:\n        src_ip|expand: '%Ranges%'\n    condition: s\n"),
			`line 7: search identifier "s", field "src_ip": modifier "expand" is not supported: placeholders (%name%) need values from the environment that trailwatch does not have; write the values in the rule`},
		{"base64", doc("    s:\n        a|base64offset|contains: x\n    condition: s\n"),
			`line 7: search identifier "s", field "a": modifier "base64offset" is not supported: encoded values belong to Windows command lines, which CloudTrail does not record`},
		{"unknown modifier", doc("    s:\n        a|startwith: x\n    condition: s\n"),
			`line 7: search identifier "s", field "a": unknown modifier "startwith"; trailwatch supports contains, startswith, endswith, all, cased, re (with i, m, s), cidr, exists, fieldref, gt, gte, lt, lte`},
		{"two string modes", doc("    s:\n        a|contains|endswith: x\n    condition: s\n"),
			`line 7: search identifier "s", field "a": modifiers "contains" and "endswith" cannot be combined`},
		{"re and contains", doc("    s:\n        a|re|contains: x\n    condition: s\n"),
			`line 7: search identifier "s", field "a": modifiers "contains" and "re" cannot be combined`},
		{"sub-modifier alone", doc("    s:\n        a|i: x\n    condition: s\n"),
			`line 7: search identifier "s", field "a": modifier "i" is a sub-modifier of re and must follow it (|re|i)`},
		{"lookahead", doc("    s:\n        a|re: 'x(?=y)'\n    condition: s\n"),
			`line 7: search identifier "s", field "a": regular expression "x(?=y)": lookahead assertions ((?=...), (?!...)) are not supported; trailwatch matches with Go's RE2 syntax, which keeps matching time linear in the input`},
		{"lookbehind", doc("    s:\n        a|re: '(?<!y)x'\n    condition: s\n"),
			`line 7: search identifier "s", field "a": regular expression "(?<!y)x": lookbehind assertions ((?<=...), (?<!...)) are not supported; trailwatch matches with Go's RE2 syntax, which keeps matching time linear in the input`},
		{"backreference", doc("    s:\n        a|re: '(x)\\1'\n    condition: s\n"),
			`line 7: search identifier "s", field "a": regular expression "(x)\\1": backreferences (\1) are not supported; trailwatch matches with Go's RE2 syntax, which keeps matching time linear in the input`},
		{"possessive", doc("    s:\n        a|re: 'x*+'\n    condition: s\n"),
			`line 7: search identifier "s", field "a": regular expression "x*+": possessive quantifiers (*+) are not supported; trailwatch matches with Go's RE2 syntax, which keeps matching time linear in the input`},
		{"atomic", doc("    s:\n        a|re: '(?>x)'\n    condition: s\n"),
			`line 7: search identifier "s", field "a": regular expression "(?>x)": atomic groups ((?>...)) are not supported; trailwatch matches with Go's RE2 syntax, which keeps matching time linear in the input`},
		{"bad cidr", doc("    s:\n        a|cidr: 10.0.0.0/33\n    condition: s\n"),
			`line 7: search identifier "s", field "a": cidr "10.0.0.0/33" is not an IPv4 or IPv6 network (like 10.0.0.0/8)`},
		{"gt needs a number", doc("    s:\n        a|gt: ten\n    condition: s\n"),
			`line 7: search identifier "s", field "a": gt compares numbers, found "ten"`},
		{"exists needs a boolean", doc("    s:\n        a|exists: 'yes'\n    condition: s\n"),
			`line 7: search identifier "s", field "a": exists takes true or false, found "yes"`},
		{"all on one value", doc("    s:\n        a|contains|all: x\n    condition: s\n"),
			`line 7: search identifier "s", field "a": modifier all needs a list of two or more values (the specification does not allow it on a single value)`},
		{"null with modifier", doc("    s:\n        a|contains: null\n    condition: s\n"),
			`line 7: search identifier "s", field "a": null cannot be combined with modifiers; write field: null`},
		{"mapping value", doc("    s:\n        a:\n            b: c\n    condition: s\n"),
			`line 7: search identifier "s", field "a": a value must be text, a number, a boolean, null or a list of them, found a mapping`},
		{"no condition", doc("    s:\n        a: 1\n"), `line 5: detection has no condition`},
		{"timeframe", doc("    s:\n        a: 1\n    timeframe: 5m\n    condition: s\n"),
			`line 8: timeframe: aggregations over time are not supported; Sigma correlation rules replaced them`},
		{"unknown identifier", doc("    s:\n        a: 1\n    condition: s and t\n"),
			`line 8: condition "s and t": unknown search identifier "t"; the detection defines "s"`},
		{"aggregation", doc("    s:\n        a: 1\n    condition: s | count() by b > 5\n"),
			`line 8: condition "s | count() by b > 5": aggregation expressions (| count() ...) are not supported; Sigma correlation rules replaced them`},
		{"near", doc("    s:\n        a: 1\n    condition: near s\n"),
			`line 8: condition "near s": near is not supported (it belonged to the aggregation expressions that correlation rules replaced)`},
		{"unbalanced", doc("    s:\n        a: 1\n    condition: (s\n"), `line 8: condition "(s": missing )`},
		{"trailing", doc("    s:\n        a: 1\n    condition: s s\n"), `line 8: condition "s s": unexpected "s" after a complete expression`},
		{"2 of", doc("    s:\n        a: 1\n    condition: 2 of s*\n"), `line 8: condition "2 of s*": "2" of: only 1 of and all of are defined`},
		{"pattern matches nothing", doc("    s:\n        a: 1\n    condition: 1 of x*\n"),
			`line 8: condition "1 of x*": 1 of x*: no search identifier matches; the detection defines "s"`},
		{"bare wildcard", doc("    s:\n        a: 1\n    condition: s*\n"),
			`line 8: condition "s*": "s*": wildcards in search identifiers are only allowed after 1 of or all of`},
		{"them without identifiers", doc("    _s:\n        a: 1\n    condition: 1 of them\n"),
			`line 8: condition "1 of them": 1 of them: the detection has no search identifier that does not start with _`},
		{"alias", doc("    s:\n        a: &v x\n        b: *v\n    condition: s\n"),
			`line 8: search identifier "s", field "b": a value must be text, a number, a boolean or null, found a YAML alias (aliases are not supported)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.src))
			if err == nil {
				t.Fatalf("Parse succeeded; want %s", c.want)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not Errors", err)
			}
			if err.Error() != c.want {
				t.Errorf("error\n got: %s\nwant: %s", err, c.want)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	r := mustParse(t, `title: AWS Bucket Deleted
id: 39c9f26d-6e3b-4dbb-9c7a-4154b0281112
status: test
description: |
    Detects the deletion of S3 buckets.
references:
    - https://example.com/a
author: Someone, Someone Else
date: 2024-06-01
level: high
tags:
    - attack.impact
    - attack.t1485
falsepositives: Unknown
logsource:
    product: aws
    service: cloudtrail
detection:
    s:
        eventName: DeleteBucket
    condition: s
`)
	if r.Title != "AWS Bucket Deleted" || r.ID != "39c9f26d-6e3b-4dbb-9c7a-4154b0281112" || r.Author != "Someone, Someone Else" ||
		r.Description != "Detects the deletion of S3 buckets." || r.Date != "2024-06-01" || r.Status != "test" {
		t.Errorf("metadata: %+v", r)
	}
	if !slices.Equal(r.Tags, []string{"attack.impact", "attack.t1485"}) || !slices.Equal(r.References, []string{"https://example.com/a"}) ||
		!slices.Equal(r.FalsePositives, []string{"Unknown"}) {
		t.Errorf("lists: %+v", r)
	}
	if r.Severity().String() != "high" {
		t.Errorf("severity %s", r.Severity())
	}
	for level, want := range map[string]string{"informational": "info", "low": "low", "medium": "medium", "critical": "critical", "": "medium"} {
		if got := (&Rule{Level: level}).Severity().String(); got != want {
			t.Errorf("level %q: severity %s, want %s", level, got, want)
		}
	}
}

func TestEventNames(t *testing.T) {
	cases := []struct {
		detection string
		names     []string
		ok        bool
	}{
		{"    s:\n        eventName: A\n    condition: s", []string{"A"}, true},
		{"    s:\n        eventName: [A, b, a]\n    condition: s", []string{"A", "b"}, true},
		{"    s:\n        eventName|cased: A\n    condition: s", []string{"A"}, true},
		{"    s:\n        eventName: 'A\\*'\n    condition: s", []string{"A*"}, true},
		{"    s:\n        eventName: A*\n    condition: s", nil, false},
		{"    s:\n        eventName|startswith: A\n    condition: s", nil, false},
		{"    s:\n        eventName: [A, null]\n    condition: s", nil, false},
		{"    s:\n        eventSource: x\n    condition: s", nil, false},
		{"    s:\n        - eventName: A\n        - eventName: B\n    condition: s", []string{"A", "B"}, true},
		{"    s:\n        - eventName: A\n        - eventSource: x\n    condition: s", nil, false},
		{"    a:\n        eventName: A\n    b:\n        eventSource: x\n    condition: a and b", []string{"A"}, true},
		{"    a:\n        eventName: A\n    b:\n        eventSource: x\n    condition: a or b", nil, false},
		{"    a:\n        eventName: A\n    b:\n        eventName: B\n    condition: a or b", []string{"A", "B"}, true},
		{"    a:\n        eventName: A\n    condition: not a", nil, false},
		{"    s_a:\n        eventName: A\n    s_b:\n        eventName: B\n    f:\n        x: 1\n    condition: 1 of s_* and not f", []string{"A", "B"}, true},
		{"    a:\n        eventName: A\n    condition:\n        - a\n        - a", []string{"A"}, true},
	}
	for _, c := range cases {
		r := mustParse(t, doc(c.detection))
		names, ok := r.EventNames()
		if ok != c.ok || !slices.Equal(names, c.names) {
			t.Errorf("%s\nEventNames() = %q, %v; want %q, %v", c.detection, names, ok, c.names, c.ok)
		}
	}
}
