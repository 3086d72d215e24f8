package rule

import (
	"fmt"
	"io/fs"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"text/template"

	"github.com/goccy/go-yaml/parser"

	"github.com/trailwatch/trailwatch/rules"
)

// TestBuiltinPacksOutline checks, for every built-in pack, that the partial
// parses the outline allows give what a whole parse gives: the same rules
// (without their tests), the same pack setting, the same detectors. It
// also checks that each pack is read the short way, so that a pack edited
// into a layout the outline refuses shows here rather than as a slower
// start.
func TestBuiltinPacksOutline(t *testing.T) {
	entries, err := fs.ReadDir(rules.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	packs := 0
	for _, e := range entries {
		if e.IsDir() || !IsRuleFile(e.Name()) {
			continue
		}
		packs++
		name := e.Name()
		t.Run(PackName(name), func(t *testing.T) {
			data, err := fs.ReadFile(rules.FS, name)
			if err != nil {
				t.Fatal(err)
			}
			o, ok := outlineOf(data)
			if !ok {
				t.Fatal("the pack does not outline; keep its layout to plain block style (see outline.go)")
			}
			whole, err := loadFSFile(rules.FS, name, "rules/"+name, false)
			if err != nil {
				t.Fatal(err)
			}
			short, ok := parseWithoutTests(data, "rules/"+name, nil)
			if !ok {
				t.Fatal("parseWithoutTests refused the pack")
			}
			sameRules(t, short, whole)

			f, err := parser.ParseBytes(data, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := packDefault(data), packDefaultIn(f); got != want {
				t.Errorf("packDefault from the outline = %v; a whole parse says %v", got, want)
			}
			if o.find("pack") != nil {
				if _, ok := o.parseOnly("pack"); !ok {
					t.Error("the pack settings do not parse alone")
				}
			}
			got, gerr := detectorsIn(data, "rules/"+name, true)
			want, werr := detectorsIn(data, "rules/"+name, false)
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gerr, werr) {
				t.Errorf("detectors from the outline = %+v, %v; a whole parse gives %+v, %v", got, gerr, want, werr)
			}
			if o.find("detectors") != nil {
				if _, ok := o.parseOnly("networks", "detectors"); !ok {
					t.Error("the detectors do not parse alone")
				}
			}

			view, _ := o.without(o.tests())
			if strings.Count(string(view), "\n") != strings.Count(string(data), "\n") {
				t.Error("the view without tests does not keep the lines")
			}
			t.Logf("%d of %d bytes parsed without the tests", len(strings.Join(strings.Fields(string(view)), " ")), len(strings.Join(strings.Fields(string(data)), " ")))
		})
	}
	if packs == 0 {
		t.Fatal("no built-in packs")
	}
}

// sameRules fails t unless short holds the rules of whole without their
// tests.
func sameRules(t *testing.T, short, whole []*Rule) {
	t.Helper()
	if len(short) != len(whole) {
		t.Fatalf("%d rules without tests; %d in a whole parse", len(short), len(whole))
	}
	for i, w := range whole {
		s := short[i]
		if len(s.Tests) != 0 {
			t.Errorf("%s: %d tests; want none", s.ID, len(s.Tests))
		}
		if got, want := ruleText(s), ruleText(w); got != want {
			t.Errorf("%s: rule without tests differs from the whole parse's:\n%s\n%s", w.ID, got, want)
		}
	}
}

// ruleText writes out everything a rule carries but its tests; compiled
// parts by what they were compiled from.
func ruleText(r *Rule) string {
	tmpl := func(t *template.Template) string {
		if t == nil {
			return "<nil>"
		}
		return t.Tree.Root.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%v|%q|%q|%q|%s|%s|%d|%s|%q|", r.ID, r.Title, r.Severity, r.Description, r.Tags, r.Refs, r.Pack, r.File, r.Line, r.Language, r.Source)
	fmt.Fprintf(&b, "summary %s|threshold %+v|", tmpl(r.Summary), r.Threshold)
	if r.summary != nil {
		fmt.Fprintf(&b, "direct %v|", r.summary.parts != nil)
	}
	if r.matcher != nil {
		names, ok := r.matcher.EventNames()
		fmt.Fprintf(&b, "events %q %v|", names, ok)
	}
	for _, loc := range slices.Sorted(maps.Keys(r.Locales)) {
		l := r.Locales[loc]
		fmt.Fprintf(&b, "%s: %q %q %s|", loc, l.Title, l.Description, tmpl(l.Summary))
	}
	return b.String()
}

// TestOutlineFallsBack feeds parseWithoutTests, packDefault and detectorsIn
// files the outline cannot read or could misread: each either refuses (and
// the whole file is parsed) or gives what a whole parse gives.
func TestOutlineFallsBack(t *testing.T) {
	const rule = "  - id: root-login\n    title: Root login\n    severity: high\n    filter: '{ $.userIdentity.type = Root }'\n"
	const tests = "    tests:\n      - name: fires\n        alert: true\n        event: {eventName: ConsoleLogin}\n"
	for _, tc := range []struct {
		name, src string
		// outlines and short say whether the file outlines and whether
		// parseWithoutTests reads it.
		outlines, short bool
	}{
		{"plain", "rules:\n" + rule + tests, true, true},
		{"no tests", "rules:\n" + rule, true, false},
		{"tests on one line", "rules:\n" + rule + "    tests: []\n", true, false},
		{"tests listed at the key's indentation", "rules:\n" + rule + "    tests:\n    - name: fires\n      alert: true\n      event: {eventName: ConsoleLogin}\n", true, false},
		{"pack settings first", "pack: {default: false}\nrules:\n" + rule + tests, true, true},
		{"pack settings below", "pack:\n  default: false\nrules:\n" + rule + tests + "networks:\n  trusted: [10.0.0.0/8]\n", true, true},
		{"tab", "rules:\n" + rule + tests + "\t\n", false, false},
		{"carriage returns", strings.ReplaceAll("rules:\n"+rule+tests, "\n", "\r\n"), false, false},
		{"document marker", "---\nrules:\n" + rule + tests, false, false},
		{"two documents", "rules:\n" + rule + tests + "---\nrules: []\n", false, false},
		{"indented top level", "  rules:\n" + rule, false, false},
		{"quoted top-level key", "\"rules\":\n" + rule + tests, false, false},
		{"quoted top-level value", "pack: \"x\n\"\nrules:\n" + rule + tests, false, false},
		{"unclosed flow at the top", "pack: {default:\n  false}\nrules:\n" + rule + tests, false, false},
		{"repeated top-level key", "rules:\n" + rule + "rules:\n" + rule, false, false},
		{"compact rule list", "rules:\n- id: root-login\n  title: Root login\n  severity: high\n  filter: x\n  tests:\n    - name: fires\n      alert: true\n      event: {}\n", false, false},
		{"anchor in the tests", "rules:\n" + rule + "    tests:\n      - &t {name: fires, alert: true, event: {eventName: ConsoleLogin}}\n", true, false},
		{"alias to an anchor in the tests", "rules:\n" + strings.Replace(rule, "title: Root login", "title: *n", 1) + "    tests:\n      - name: &n fires\n        alert: true\n        event: {eventName: ConsoleLogin}\n", true, false},
		{"tests key inside quoted text", "rules:\n" + strings.Replace(rule, "    title: Root login\n", "    title: \"Root login\n    tests:\n      - x\n     \"\n", 1) + tests, true, false},
		{"tests key inside quoted text closed at the key's indentation", "rules:\n" + strings.Replace(rule, "    title: Root login\n", "    title: \"Root login\n    tests:\n      - x\n    \"\n", 1), true, false},
		{"tests key inside a literal", "rules:\n" + strings.Replace(rule, "    title: Root login\n", "    title: |\n      Root\n    tests:\n      - x\n", 1) + tests, true, false},
		{"rule error", "rules:\n" + strings.Replace(rule, "high", "severe", 1) + tests, true, false},
		{"test error only", "rules:\n" + rule + "    tests:\n      - name: fires\n        alret: true\n", true, true},
		{"sigma document", "title: x\nlogsource: {product: aws}\ndetection: {sel: {eventName: x}, condition: sel}\n", true, false},
		{"empty", "", true, false},
		{"comments only", "# nothing\n", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.src)
			o, ok := outlineOf(data)
			if ok != tc.outlines {
				t.Errorf("outlines = %v; want %v", ok, tc.outlines)
			}
			short, ok := parseWithoutTests(data, "rules/x.yaml", nil)
			if ok != tc.short {
				t.Errorf("parseWithoutTests ok = %v; want %v", ok, tc.short)
			}
			whole, err := parse(data, "rules/x.yaml", func(rel string) (string, func() ([]byte, error), error) { return rel, nil, nil })
			if ok {
				if tc.name == "test error only" {
					// A mistake in a built-in pack's test is not seen
					// when its tests are left out; the pack's own tests
					// (rules_test.go) find it.
					if err == nil {
						t.Error("the whole parse finds no error")
					}
				} else if err != nil {
					t.Errorf("parseWithoutTests read a file whose whole parse fails: %v", err)
				} else {
					sameRules(t, short, whole)
				}
			}
			f, perr := parser.ParseBytes(data, 0)
			want := perr != nil || packDefaultIn(f)
			if got := packDefault(data); got != want {
				t.Errorf("packDefault = %v; a whole parse says %v", got, want)
			}
			got, gerr := detectorsIn(data, "rules/x.yaml", true)
			wantD, werr := detectorsIn(data, "rules/x.yaml", false)
			if !reflect.DeepEqual(got, wantD) || !reflect.DeepEqual(gerr, werr) {
				t.Errorf("detectors = %+v, %v; a whole parse gives %+v, %v", got, gerr, wantD, werr)
			}
			if o != nil {
				for _, s := range o.tests() {
					if s.from <= s.line || s.to <= s.from {
						t.Errorf("tests section %+v is empty or starts above its key", s)
					}
				}
			}
		})
	}
}

// FuzzOutline checks that outlining never fails on any input, that the
// views keep every line where it was, and that for text without quotes or
// flow collections (where the parser's leniency cannot make a line
// misleading) the partial parses give what a whole parse gives.
func FuzzOutline(f *testing.F) {
	entries, _ := fs.ReadDir(rules.FS, ".")
	for _, e := range entries {
		if IsRuleFile(e.Name()) {
			b, _ := fs.ReadFile(rules.FS, e.Name())
			f.Add(b)
			// The same layout without quotes and flow collections, where
			// the fuzzer's inputs are compared with a whole parse.
			f.Add([]byte(strings.Map(func(r rune) rune {
				if strings.ContainsRune(`"'[]{}`, r) {
					return -1
				}
				return r
			}, string(b))))
		}
	}
	f.Add([]byte("rules:\n  - id: a\n    title: A\n    severity: low\n    filter: x\n    tests:\n      - name: t\n        alert: true\n        event: x\n"))
	f.Add([]byte("pack:\n  default: false\nrules:\n  - id: a\n    tests:\n      - name: t\ndetectors:\n  - id: b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		o, ok := outlineOf(data)
		if !ok {
			return
		}
		if view, ok := o.without(o.tests()); ok {
			vl, dl := strings.Split(string(view), "\n"), strings.Split(string(data), "\n")
			if len(vl) != len(dl) {
				t.Fatalf("the view has %d lines; the file %d", len(vl), len(dl))
			}
			for i := range vl {
				if vl[i] != "" && vl[i] != dl[i] {
					t.Fatalf("line %d changed: %q -> %q", i+1, dl[i], vl[i])
				}
			}
		}
		if strings.ContainsAny(string(data), `"'[]{}`) {
			return
		}
		fw, err := parser.ParseBytes(data, 0)
		if err != nil {
			return
		}
		if got, want := packDefault(data), packDefaultIn(fw); got != want {
			t.Fatalf("packDefault = %v; a whole parse says %v", got, want)
		}
		got, gerr := detectorsIn(data, "x.yaml", true)
		want, werr := detectorsIn(data, "x.yaml", false)
		if !reflect.DeepEqual(got, want) || (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
			t.Fatalf("detectors = %+v, %v; a whole parse gives %+v, %v", got, gerr, want, werr)
		}
		whole, err := parse(data, "x.yaml", func(rel string) (string, func() ([]byte, error), error) { return rel, nil, nil })
		if err != nil {
			return
		}
		if short, ok := parseWithoutTests(data, "x.yaml", nil); ok {
			sameRules(t, short, whole)
		}
	})
}
