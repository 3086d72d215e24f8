package detect

import (
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/state"
)

// hasJapanese reports whether s holds kana or kanji: Japanese text, not
// the English text passed through.
func hasJapanese(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han) {
			return true
		}
	}
	return false
}

// Every kind of detector, as the built-in configuration and GeoIP run
// them, carries a Japanese title and description.
func TestDetectorsSpeakJapanese(t *testing.T) {
	cfg, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	nets, _ := ParseConfig([]byte("networks:\n  office: [192.0.2.0/24]\n"))
	if cfg, err = Merge(cfg, nets); err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, Options{Store: state.NewMemory(nil), Geo: locator(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Rules()) != len(cfg.Detectors) {
		t.Fatalf("%d of %d detectors run", len(s.Rules()), len(cfg.Detectors))
	}
	for _, r := range s.Rules() {
		if !hasJapanese(r.TitleIn("ja")) || !hasJapanese(r.DescriptionIn("ja")) {
			t.Errorf("detector %s: ja title %q, description %q", r.ID, r.TitleIn("ja"), r.DescriptionIn("ja"))
		}
		if hasJapanese(r.Title) || hasJapanese(r.Description) {
			t.Errorf("detector %s: English text %q holds Japanese", r.ID, r.Title)
		}
	}
}

// A custom English title without a Japanese one stays English in ja
// messages; one with a Japanese title shows it.
func TestDetectorCustomTitles(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
detectors:
  - {id: a, kind: burst, what: failed-logins, threshold: 5, window: 5m, title: Office VPN guessing}
  - id: b
    kind: burst
    what: failed-logins
    threshold: 5
    window: 5m
    title: Office VPN guessing
    locales: {ja: {title: オフィス VPN でのパスワード推測}}
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, Options{Store: state.NewMemory(nil)})
	if err != nil {
		t.Fatal(err)
	}
	rs := s.Rules()
	if rs[0].TitleIn("ja") != "Office VPN guessing" || !hasJapanese(rs[0].DescriptionIn("ja")) {
		t.Errorf("a: ja %q / %q", rs[0].TitleIn("ja"), rs[0].DescriptionIn("ja"))
	}
	if rs[1].TitleIn("ja") != "オフィス VPN でのパスワード推測" {
		t.Errorf("b: ja %q", rs[1].TitleIn("ja"))
	}
	if _, err := ParseConfig([]byte("detectors:\n  - {id: c, kind: burst, what: spraying, threshold: 5, window: 5m, locales: {fr: {title: x}}}\n")); err == nil ||
		!strings.Contains(err.Error(), `detector "c": locale "fr" is not one of ja (the detector's own title is English)`) {
		t.Errorf("unknown locale: %v", err)
	}
	// A patch adds Japanese text to a built-in detector.
	base, _ := Default()
	patch, _ := ParseConfig([]byte("detectors:\n  - {id: signin-failure-burst, locales: {ja: {title: 推測}}}\n"))
	m, err := Merge(base, patch)
	if err != nil {
		t.Fatal(err)
	}
	if m.Detectors[0].Locales["ja"].Title != "推測" || m.Detectors[0].Threshold != 5 {
		t.Errorf("patched %+v", m.Detectors[0])
	}
}

// Annotations come in Japanese too, with AWS values as they are.
func TestDetectorAnnotationsInJapanese(t *testing.T) {
	clk := newClock(t0())
	s := newSet(t, burstConfig, Options{Store: state.NewMemory(clk.Now), Now: clk.Now})
	var got []*event.Alert
	for i := range 5 {
		got = append(got, observe(t, s, failure(t, "anaya", london, t0().Add(time.Duration(i)*50*time.Second)))...)
	}
	if len(got) != 1 {
		t.Fatalf("%d alerts", len(got))
	}
	if a := got[0]; a.Annotation != "5 failed sign-ins in 3m20s" || a.AnnotationIn("ja") != "3分20秒の間にサインインが5回失敗" || a.AnnotationIn("en") != a.Annotation {
		t.Errorf("annotations %q / %q", a.Annotation, a.AnnotationIn("ja"))
	}
	n := travelNote(9560, "London, GB", "Tokyo, JP", 2*time.Hour, "4780 km/h")
	if n.ja != "2時間の間に London, GB から Tokyo, JP へ 9560 km (4780 km/h)" {
		t.Errorf("travel ja %q", n.ja)
	}
	var tn trustedNote
	tn.outside("198.51.100.7", []string{"office"})
	tn.region("sa-east-1", []string{"ap-northeast-1"})
	if got := tn.note().ja; got != "198.51.100.7 は信頼済みネットワーク (office) の外です。リージョン sa-east-1 は想定リージョン (ap-northeast-1) に含まれません" {
		t.Errorf("trusted ja %q", got)
	}
	if got := firstSeenNote(AttrNetwork, "203.0.113.0/24", "alice", 90*24*time.Hour).ja; got != "alice が過去90日で初めてネットワーク 203.0.113.0/24 からサインイン" {
		t.Errorf("first-seen ja %q", got)
	}
}
