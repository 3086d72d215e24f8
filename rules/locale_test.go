package rules_test

import (
	"context"
	"strings"
	"testing"
	"unicode"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/geoip"
	"github.com/trailwatch/trailwatch/internal/geoip/geoiptest"
	"github.com/trailwatch/trailwatch/internal/rule"
	"github.com/trailwatch/trailwatch/internal/state"
	"github.com/trailwatch/trailwatch/rules"
)

// japanese reports whether s is written in Japanese: it holds kana or
// kanji, rather than being the English text passed through.
func japanese(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han) {
			return true
		}
	}
	return false
}

// TestEveryRuleSpeaksJapanese: every rule of every built-in pack, the
// opt-in ones and any pack added later, carries a Japanese title, and a
// Japanese summary wherever it has an English one; the Japanese summary
// renders, in Japanese, on each event the rule's own tests say it fires on.
func TestEveryRuleSpeaksJapanese(t *testing.T) {
	rs, err := rule.Load(rule.Selection{Builtin: rules.FS, Packs: []string{rule.PacksAll}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		ja := r.Locales["ja"]
		switch {
		case ja == nil || ja.Title == "":
			t.Errorf("%s: rule %q has no Japanese title (locales: {ja: {title: ...}})", r.Where(), r.ID)
		case !japanese(ja.Title):
			t.Errorf("%s: rule %q's Japanese title %q is not Japanese", r.Where(), r.ID, ja.Title)
		}
		if r.Summary != nil && (ja == nil || ja.Summary == nil) {
			t.Errorf("%s: rule %q has an English summary and no Japanese one", r.Where(), r.ID)
		}
		if japanese(r.Title) || japanese(r.Description) {
			t.Errorf("%s: rule %q's English text holds Japanese", r.Where(), r.ID)
		}
	}
	for _, res := range rule.RunTests(context.Background(), rs) {
		if !res.Test.Alert || !res.Passed() {
			continue
		}
		ev, err := testEvent(res)
		if err != nil {
			t.Fatalf("%s: %v", res.Where(), err)
		}
		local, err := res.Rule.RenderSummaries(ev)
		if err != nil {
			t.Errorf("%s: %v", res.Where(), err)
			continue
		}
		if res.Rule.Summary != nil && !japanese(local["ja"]) {
			t.Errorf("%s: rule %q test %q: Japanese summary %q", res.Where(), res.Rule.ID, res.Test.Name, local["ja"])
		}
	}
}

// TestEveryDetectorSpeaksJapanese: every detector the built-in packs
// declare, with what it needs to run (trusted networks, a GeoIP database),
// carries a Japanese title and description.
func TestEveryDetectorSpeaksJapanese(t *testing.T) {
	cfg, err := rule.LoadDetectors(rule.Selection{Builtin: rules.FS, Packs: []string{rule.PacksAll}})
	if err != nil {
		t.Fatal(err)
	}
	nets, err := detect.ParseConfig([]byte("networks:\n  office: [192.0.2.0/24]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err = detect.Merge(cfg, nets); err != nil {
		t.Fatal(err)
	}
	paths, err := geoiptest.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	geo, err := geoip.Open(paths.City, paths.ASN)
	if err != nil {
		t.Fatal(err)
	}
	defer geo.Close()
	s, err := detect.New(cfg, detect.Options{Store: state.NewMemory(nil), Geo: geo})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Disabled()) > 0 || len(s.Rules()) == 0 {
		t.Fatalf("detectors not running: %+v", s.Disabled())
	}
	for _, r := range s.Rules() {
		if !japanese(r.TitleIn("ja")) || !japanese(r.DescriptionIn("ja")) {
			t.Errorf("detector %q: Japanese title %q, description %q", r.ID, r.TitleIn("ja"), r.DescriptionIn("ja"))
		}
	}
}

// testEvent parses the event of a rule test.
func testEvent(res rule.TestResult) (*event.Event, error) {
	raw := res.Test.Event
	if res.Test.File != "" {
		b, err := rules.FS.ReadFile(strings.TrimPrefix(res.Test.File, "./"))
		if err != nil {
			return nil, err
		}
		raw = b
	}
	return event.Parse(raw, event.Origin{Input: res.Where()})
}
