package rules

import (
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/rule"
	"github.com/trailwatch/trailwatch/internal/rule/filter"
)

// loadAll loads every built-in pack from FS with the engine's loader.
func loadAll(t *testing.T) []*rule.Rule {
	t.Helper()
	rules, err := rule.LoadFS(FS, ".")
	if err != nil {
		t.Fatalf("loading the built-in packs: %v", err)
	}
	if len(rules) == 0 {
		t.Fatal("no rules loaded from the built-in packs")
	}
	return rules
}

func TestPacksLoad(t *testing.T) {
	// The built-in packs; a pack file added or lost shows here.
	wantPacks := []string{"account", "cis", "compute", "data", "iam", "insights", "logging", "network", "root", "secrets", "self", "signin", "signin-stream", "storage", "threats"}
	packs, err := rule.BuiltinPacks(FS)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(packs, wantPacks) {
		t.Errorf("built-in packs = %v, want %v", packs, wantPacks)
	}
	rules := loadAll(t)
	// The whole selection path (as the CLI and Lambda load packs) agrees.
	sel, err := rule.Load(rule.Selection{Builtin: FS, Packs: []string{rule.PacksAll}})
	if err != nil {
		t.Fatalf("rule.Load of every built-in pack: %v", err)
	}
	if len(sel) != len(rules) {
		t.Errorf("rule.Load returned %d rules, LoadFS %d", len(sel), len(rules))
	}
	if _, err := rule.NewSet(rules...); err != nil {
		t.Fatalf("compiling every built-in rule into one set: %v", err)
	}
	counts := map[string]int{}
	for _, r := range rules {
		counts[r.Pack]++
	}
	for _, p := range wantPacks {
		if counts[p] == 0 {
			t.Errorf("pack %s has no rules", p)
		}
	}
	t.Logf("%d rules: %v", len(rules), counts)
}

// TestRuleTestsPass runs every rule's own tests the way `trailwatch test`
// does: the built-in packs through rule.Load, and the same files read from
// disk (`trailwatch test rules/`).
func TestRuleTestsPass(t *testing.T) {
	embedded, err := rule.Load(rule.Selection{Builtin: FS, Packs: []string{rule.PacksAll}})
	if err != nil {
		t.Fatalf("loading the built-in packs: %v", err)
	}
	onDisk, err := rule.LoadPath(".")
	if err != nil {
		t.Fatalf("loading the packs from disk: %v", err)
	}
	for _, src := range []struct {
		name  string
		rules []*rule.Rule
	}{{"embedded", embedded}, {"on disk", onDisk}} {
		results := rule.RunTests(context.Background(), src.rules)
		if len(results) == 0 {
			t.Fatalf("%s: no rule tests ran", src.name)
		}
		for _, res := range results {
			if !res.Passed() {
				t.Errorf("%s: %s", src.name, res.Failure())
			}
		}
		t.Logf("%s: %d rules, %d rule tests", src.name, len(src.rules), len(results))
	}
}

func TestRuleMetadata(t *testing.T) {
	for _, r := range loadAll(t) {
		var pos, neg int
		for _, tc := range r.Tests {
			if tc.Alert {
				pos++
			} else {
				neg++
			}
		}
		if pos == 0 {
			t.Errorf("%s: rule %q has no test that must alert", r.Where(), r.ID)
		}
		if neg == 0 {
			t.Errorf("%s: rule %q has no test that must not alert", r.Where(), r.ID)
		}
		if len(r.Refs) == 0 {
			t.Errorf("%s: rule %q has no refs", r.Where(), r.ID)
		}
		if r.Summary == nil {
			t.Errorf("%s: rule %q has no summary template", r.Where(), r.ID)
		}
		if strings.TrimSpace(r.Title) == "" || strings.TrimSpace(r.Description) == "" {
			t.Errorf("%s: rule %q needs a title and a description", r.Where(), r.ID)
		}
		if len(r.Tags) == 0 {
			t.Errorf("%s: rule %q has no tags", r.Where(), r.ID)
		}
		if r.Severity < event.SeverityInfo || r.Severity > event.SeverityCritical {
			t.Errorf("%s: rule %q has severity %s; want one of info, low, medium, high, critical", r.Where(), r.ID, r.Severity)
		}
		if r.Language == "jq" {
			t.Errorf("%s: rule %q uses jq; built-in packs use pattern or filter", r.Where(), r.ID)
		}
	}
}

// TestCISControls checks that every CIS monitoring control has its rule, in
// pack cis, written as the published CloudWatch Logs filter character for
// character (as collected independently by the filter package).
func TestCISControls(t *testing.T) {
	byID := map[string]*rule.Rule{}
	for _, r := range loadAll(t) {
		byID[r.ID] = r
	}
	want := map[string]string{} // rule id -> published pattern
	for _, c := range filter.CISControls() {
		id, ok := strings.CutPrefix(c.ID, "CloudWatch.")
		if ok {
			id = "cis-cloudwatch-" + id
		} else {
			id = "cis-" + strings.ReplaceAll(strings.TrimPrefix(c.ID, "CIS-"), ".", "-")
		}
		want[id] = c.Pattern
	}
	ids := []string{"cis-4-15"}
	for i := 1; i <= 14; i++ {
		ids = append(ids, "cis-cloudwatch-"+strconv.Itoa(i))
	}
	for _, id := range ids {
		r, ok := byID[id]
		if !ok {
			t.Errorf("CIS rule %q is missing", id)
			continue
		}
		if r.Language != "filter" {
			t.Errorf("%s: rule %q uses %s; CIS rules carry the published CloudWatch Logs filter", r.Where(), id, r.Language)
		}
		if r.Pack != "cis" {
			t.Errorf("%s: rule %q is in pack %q, want cis", r.Where(), id, r.Pack)
		}
		published, ok := want[id]
		if !ok {
			t.Errorf("filter.CISControls has no control for rule %q", id)
			continue
		}
		if r.Source != published {
			t.Errorf("%s: rule %q filter differs from the published pattern\n got: %s\nwant: %s", r.Where(), id, r.Source, published)
		}
	}
}

// TestSummariesRender renders every rule's summary on each of its alerting
// test events: a template that names a missing method fails here, not when
// an alert is sent.
func TestSummariesRender(t *testing.T) {
	rules := loadAll(t)
	for _, res := range rule.RunTests(context.Background(), rules) {
		if !res.Test.Alert || !res.Passed() {
			continue
		}
		ev, err := testEventOf(res)
		if err != nil {
			t.Errorf("%s: %v", res.Where(), err)
			continue
		}
		s, err := res.Rule.RenderSummary(ev)
		if err != nil {
			t.Errorf("%s: %v", res.Where(), err)
			continue
		}
		if strings.TrimSpace(s) == "" {
			t.Errorf("%s: rule %q rendered an empty summary for test %q", res.Where(), res.Rule.ID, res.Test.Name)
		}
	}
}

// testEventOf reads the event of a test: the inline event, or the file it
// names, relative to the pack files at the root of FS.
func testEventOf(res rule.TestResult) (*event.Event, error) {
	raw := res.Test.Event
	if res.Test.File != "" {
		b, err := fs.ReadFile(FS, path.Clean(res.Test.File))
		if err != nil {
			return nil, err
		}
		raw = b
	}
	return event.Parse(raw, event.Origin{Input: res.Where()})
}

// TestTestdataAttributed keeps testdata honest: every event file is used by
// some rule test and named, with its source, in testdata/README.md.
func TestTestdataAttributed(t *testing.T) {
	readme, err := fs.ReadFile(FS, "testdata/README.md")
	if err != nil {
		t.Fatalf("testdata/README.md: %v", err)
	}
	used := map[string]bool{}
	for _, r := range loadAll(t) {
		for _, tc := range r.Tests {
			if tc.File != "" {
				used[path.Clean(tc.File)] = true
			}
		}
	}
	files := 0
	err = fs.WalkDir(FS, "testdata", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || name == "testdata/README.md" {
			return err
		}
		files++
		rel := strings.TrimPrefix(name, "testdata/")
		if !strings.Contains(string(readme), "`"+rel+"`") {
			t.Errorf("%s is not attributed in testdata/README.md", name)
		}
		if path.Ext(name) == ".json" && !used[name] {
			t.Errorf("%s is not used by any rule test; remove it or test with it", name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("no test event files embedded")
	}
}

// TestPacksDocumented checks that docs/packs.md lists every built-in rule
// with its severity, so the user docs cannot fall behind the packs.
func TestPacksDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "packs.md"))
	if err != nil {
		t.Fatalf("reading the pack documentation: %v", err)
	}
	for _, r := range loadAll(t) {
		row := "| `" + r.ID + "` | " + r.Severity.String() + " |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/packs.md has no row starting %q for rule %q (%s)", row, r.ID, r.Where())
		}
	}
}
