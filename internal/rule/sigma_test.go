package rule

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/trailwatch/trailwatch/internal/event"
)

// sigmaDir holds SigmaHQ's CloudTrail rules and a trailwatch rule file of
// tests for each.
const sigmaDir = "testdata/sigma"

// refusedSigma lists the corpus files trailwatch refuses, with the exact
// error a user reads (the reason is in testdata/sigma/README.md).
var refusedSigma = map[string]string{
	"rules-placeholder/cloud/aws/cloudtrail/aws_cloudtrail_console_login_success_from_susp_locations.yml": `:25: sigma: search identifier "filter_main_country", field "src_country": modifier "expand" is not supported: placeholders (%name%) need values from the environment that trailwatch does not have; write the values in the rule` + "\n" +
		`:27: sigma: search identifier "filter_main_ip", field "src_ip": modifier "expand" is not supported: placeholders (%name%) need values from the environment that trailwatch does not have; write the values in the rule`,
}

// TestSigmaCorpus is `trailwatch test testdata/sigma/tests`: every SigmaHQ
// CloudTrail rule loads unchanged and passes its tests, or is refused with
// its documented message; each has a test that must fire and one that must
// not.
func TestSigmaCorpus(t *testing.T) {
	rules, err := LoadPath(filepath.Join(sigmaDir, "tests"))
	if err != nil {
		t.Fatalf("loading the Sigma tests: %v", err)
	}
	for _, res := range RunTests(context.Background(), rules) {
		if !res.Passed() {
			t.Error(res.Failure())
		}
	}
	// Which Sigma file each test file loads.
	tested := map[string]*Rule{}
	for _, r := range rules {
		if r.Language != "sigma" {
			t.Errorf("%s: rule %q is %s, want sigma", r.Where(), r.ID, r.Language)
		}
		var pos, neg int
		for _, tc := range r.Tests {
			if tc.Alert {
				pos++
			} else {
				neg++
			}
		}
		if pos == 0 || neg == 0 {
			t.Errorf("%s: rule %q has %d tests that must fire and %d that must not; want at least one of each", r.Where(), r.ID, pos, neg)
		}
		tested[r.Source] = r
	}
	n := 0
	err = filepath.WalkDir(sigmaDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".yml" {
			return err
		}
		n++
		rel := filepath.ToSlash(strings.TrimPrefix(p, sigmaDir+string(filepath.Separator)))
		if want, refused := refusedSigma[rel]; refused {
			_, err := LoadFile(p)
			wantErr := p + strings.ReplaceAll(want, "\n", "\n"+p)
			if err == nil || err.Error() != wantErr {
				t.Errorf("%s: loading it directly gave\n%v\nwant\n%s", rel, err, wantErr)
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if tested[string(data)] == nil {
			t.Errorf("%s: no test file loads it (tests/%s.yaml with sigma: ../%s)", rel, strings.TrimSuffix(filepath.Base(p), ".yml"), rel)
		}
		// The file also loads on its own, as --rules would load it.
		if _, err := LoadFile(p); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 58 {
		t.Errorf("%d Sigma files under %s, want SigmaHQ's 57 CloudTrail rules and the placeholder rule", n, sigmaDir)
	}
}

// TestSigmaEventsAttributed: every event file is used by a test and named,
// with its source, in the README.
func TestSigmaEventsAttributed(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(sigmaDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := LoadPath(filepath.Join(sigmaDir, "tests"))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, r := range rules {
		for _, tc := range r.Tests {
			if tc.File != "" {
				used[filepath.Base(tc.File)] = true
			}
		}
	}
	files, err := filepath.Glob(filepath.Join(sigmaDir, "events", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no event files: %v", err)
	}
	for _, f := range files {
		base := filepath.Base(f)
		if !strings.Contains(string(readme), "`events/"+base+"`") {
			t.Errorf("%s is not attributed in %s/README.md", f, sigmaDir)
		}
		if !used[base] {
			t.Errorf("%s is not used by any test", f)
		}
	}
}

const sigmaDoc = `title: AWS Trail Stopped
id: 4db60cc0-36fb-4c7f-9e3e-b0a12e6e4a65
status: test
description: Detects a trail being stopped.
references:
    - https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_StopLogging.html
author: Jane Example
date: 2024-01-01
tags:
    - attack.defense-evasion
    - attack.t1562.008
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: cloudtrail.amazonaws.com
        eventName: StopLogging
    condition: selection
falsepositives:
    - Planned maintenance
level: high
`

const stopLogging = `{"eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","sourceIPAddress":"198.51.100.7",
 "userIdentity":{"type":"IAMUser","userName":"mallory","arn":"arn:aws:iam::111122223333:user/mallory"}}`

// TestSigmaDocument loads a Sigma file as --rules does and checks what an
// alert carries of it: title, level, tags, references, id and author.
func TestSigmaDocument(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "aws_trail_stopped.yml")
	write(t, file, sigmaDoc)
	rules, err := LoadPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 {
		t.Fatalf("%d rules", len(rules))
	}
	r := rules[0]
	if r.ID != "aws-trail-stopped" || r.Title != "AWS Trail Stopped" || r.Severity != event.SeverityHigh || r.Language != "sigma" ||
		r.Pack != "aws_trail_stopped" || r.Line != 1 || r.File != file || r.Source != sigmaDoc {
		t.Errorf("rule %+v", r)
	}
	wantTags := []string{"sigma", "attack.defense-evasion", "attack.t1562.008", "mitre-T1562.008"}
	if !slices.Equal(r.Tags, wantTags) {
		t.Errorf("tags %q, want %q", r.Tags, wantTags)
	}
	wantRefs := []string{"https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_StopLogging.html", "sigma:4db60cc0-36fb-4c7f-9e3e-b0a12e6e4a65"}
	if !slices.Equal(r.Refs, wantRefs) {
		t.Errorf("refs %q, want %q", r.Refs, wantRefs)
	}
	wantDesc := "Detects a trail being stopped.\n\nSigma rule 4db60cc0-36fb-4c7f-9e3e-b0a12e6e4a65 by Jane Example. Known false positives: Planned maintenance."
	if r.Description != wantDesc {
		t.Errorf("description %q, want %q", r.Description, wantDesc)
	}
	set, err := NewSet(rules...)
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := set.Alerts(context.Background(), event.MustParse(stopLogging))
	if err != nil || len(alerts) != 1 {
		t.Fatalf("alerts %v, %v", alerts, err)
	}
	a := alerts[0]
	if a.Summary != "StopLogging by mallory from 198.51.100.7 (Sigma rule by Jane Example)" {
		t.Errorf("summary %q", a.Summary)
	}
	if ja := a.Summaries["ja"]; ja != "mallory が StopLogging を実行しました(送信元 198.51.100.7)(Sigma ルール、作成者: Jane Example)" {
		t.Errorf("ja summary %q", ja)
	}
	if !slices.Contains(a.Rule.Refs, "sigma:4db60cc0-36fb-4c7f-9e3e-b0a12e6e4a65") || !strings.Contains(a.Rule.Description, "by Jane Example") {
		t.Errorf("alert rule info %+v", a.Rule)
	}
}

// TestSigmaInRuleFile: sigma: names a file relative to the rule file or
// embeds the document; the rule file's own keys win, the Sigma rule's
// author, id and references are kept.
func TestSigmaInRuleFile(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "sigma", "trail.yml"), sigmaDoc)
	write(t, filepath.Join(dir, "mine.yaml"), `rules:
  - id: trail-stopped
    sigma: sigma/trail.yml
    severity: critical
    tags: [ours]
    tests:
      - {name: stop, alert: true, event: {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging}}
      - {name: start, alert: false, event: {eventSource: cloudtrail.amazonaws.com, eventName: StartLogging}}
  - id: embedded
    title: Our title
    summary: 'trail stopped by {{.Principal}}'
    sigma:
      title: Embedded
      logsource: {product: aws, service: cloudtrail}
      detection:
        sel:
          eventName|cased: StopLogging
        condition: sel
    tests:
      - {name: stop, alert: true, event: {eventName: StopLogging}}
      - {name: lower case, alert: false, event: {eventName: stoplogging}}
`)
	rules, err := LoadFile(filepath.Join(dir, "mine.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range RunTests(context.Background(), rules) {
		if !res.Passed() {
			t.Error(res.Failure())
		}
	}
	a, b := rules[0], rules[1]
	if a.Title != "AWS Trail Stopped" || a.Severity != event.SeverityCritical || !slices.Equal(a.Tags[:2], []string{"ours", "sigma"}) ||
		!slices.Contains(a.Refs, "sigma:4db60cc0-36fb-4c7f-9e3e-b0a12e6e4a65") || a.Source != sigmaDoc {
		t.Errorf("file rule %+v", a)
	}
	if b.Title != "Our title" || b.Severity != event.SeverityMedium || b.Language != "sigma" || !strings.Contains(b.Source, "eventName|cased: StopLogging") {
		t.Errorf("embedded rule %+v", b)
	}
	if s, _ := b.RenderSummary(event.MustParse(stopLogging)); s != "trail stopped by mallory" {
		t.Errorf("embedded summary %q", s)
	}
}

func TestSigmaLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "bad.yml"), strings.Replace(sigmaDoc, "eventName: StopLogging", "eventName|base64: StopLogging", 1))
	write(t, filepath.Join(dir, "win.yml"), strings.Replace(sigmaDoc, "product: aws\n    service: cloudtrail", "product: windows\n    category: process_creation", 1))
	write(t, filepath.Join(dir, "rules.yaml"), `rules:
  - id: by-file
    sigma: bad.yml
  - id: missing
    sigma: nothing.yml
  - id: embedded
    sigma:
      title: x
      logsource: {product: aws, service: cloudtrail}
      detection:
        sel:
          userAgent|re: '(?<=x)y'
        condition: sel and other
  - id: empty
    sigma: ''
`)
	cases := []struct{ file, want string }{
		{"bad.yml", `bad.yml:18: sigma: search identifier "selection", field "eventName": modifier "base64" is not supported: encoded values belong to Windows command lines, which CloudTrail does not record`},
		{"win.yml", `win.yml:12: sigma: logsource product "windows" is not read: trailwatch reads AWS CloudTrail (product: aws, service: cloudtrail)`},
		{"rules.yaml", `rules.yaml:3: rule "by-file": sigma: BAD:18: search identifier "selection", field "eventName": modifier "base64" is not supported: encoded values belong to Windows command lines, which CloudTrail does not record
rules.yaml:5: rule "missing": sigma: cannot read the Sigma rule: open MISSING: no such file or directory
rules.yaml:12: rule "embedded": sigma: search identifier "sel", field "userAgent": regular expression "(?<=x)y": lookbehind assertions ((?<=...), (?<!...)) are not supported; trailwatch matches with Go's RE2 syntax, which keeps matching time linear in the input
rules.yaml:13: rule "embedded": sigma: condition "sel and other": unknown search identifier "other"; the detection defines "sel"
rules.yaml:15: rule "empty": sigma must be the path of a Sigma rule file or a Sigma rule written as a mapping, found text`},
	}
	for _, c := range cases {
		_, err := LoadFile(filepath.Join(dir, c.file))
		want := strings.NewReplacer("BAD", filepath.Join(dir, "bad.yml"), "MISSING", filepath.Join(dir, "nothing.yml")).Replace(c.want)
		want = strings.ReplaceAll(want, c.file+":", filepath.Join(dir, c.file)+":")
		if err == nil || err.Error() != want {
			t.Errorf("%s: error\n%v\nwant\n%s", c.file, err, want)
		}
	}
}

// TestSigmaIndexFolds: Sigma compares eventName case-insensitively, and the
// set's index offers it every spelling; the other languages still compare
// exactly.
func TestSigmaIndexFolds(t *testing.T) {
	fsys := fstest.MapFS{"r.yaml": {Data: []byte(`rules:
  - id: sigma-stop
    sigma:
      title: stop
      logsource: {product: aws, service: cloudtrail}
      detection: {sel: {eventName: StopLogging}, condition: sel}
  - id: pattern-stop
    title: stop
    severity: low
    pattern: {eventName: [StopLogging]}
`)}}
	rules, err := LoadFS(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSet(rules...)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"StopLogging": "sigma-stop,pattern-stop", "stoplogging": "sigma-stop", "STOPLOGGING": "sigma-stop", "StartLogging": ""} {
		var got []string
		ev := event.MustParse(`{"eventName":"` + name + `"}`)
		if err := set.Match(context.Background(), ev, func(r *Rule, _ string) bool { got = append(got, r.ID); return true }); err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != want {
			t.Errorf("%s: matched %q, want %q", name, got, want)
		}
	}
}

// FuzzLoadSigma: no rule file or Sigma document makes the loader panic;
// what loads has an id, a title and a match, and its pinned event names are
// sound through a set.
func FuzzLoadSigma(f *testing.F) {
	f.Add(sigmaDoc)
	f.Add("rules:\n  - id: x\n    sigma:\n      title: t\n      logsource: {product: aws, service: cloudtrail}\n      detection: {s: {eventName: [A, b]}, condition: s}\n")
	f.Add("rules:\n  - id: x\n    sigma: other.yml\n")
	f.Add("title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: [{eventName: A}, {userAgent|contains: x}], f: {errorCode: null}, condition: 1 of s* and not f}\n")
	f.Add("logsource: {product: windows}\n")
	evs := []*event.Event{event.MustParse(stopLogging), event.MustParse(`{"eventName":"a"}`), event.MustParse(`{"eventName":"B","userAgent":"x"}`)}
	f.Fuzz(func(t *testing.T, src string) {
		rules, err := parse([]byte(src), "fuzz_rule.yml", func(rel string) (string, func() ([]byte, error), error) {
			return rel, func() ([]byte, error) { return []byte(sigmaDoc), nil }, nil
		})
		if err != nil {
			var joined interface{ Unwrap() []error }
			if !errors.As(err, &joined) && !strings.HasPrefix(err.Error(), "fuzz_rule.yml:") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		set, err := NewSet(rules...)
		if err != nil {
			return
		}
		for _, r := range rules {
			if r.ID == "" || r.Title == "" || r.matcher == nil {
				t.Fatalf("rule loaded without id, title or match: %+v", r)
			}
			one, _ := NewSet(r)
			for _, ev := range evs {
				fired, _, _ := r.Match(context.Background(), ev)
				var indexed bool
				_ = one.Match(context.Background(), ev, func(*Rule, string) bool { indexed = true; return true })
				if fired != indexed {
					t.Fatalf("rule %q fired=%v alone, %v through the index", r.ID, fired, indexed)
				}
			}
		}
		for _, ev := range evs {
			_, _ = set.Alerts(context.Background(), ev)
		}
	})
}
