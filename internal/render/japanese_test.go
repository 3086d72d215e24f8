package render

import (
	"encoding/json"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/trailwatch/trailwatch/internal/event"
)

// awsNames are words of trailwatch's English text that are names and stay
// as they are in Japanese: AWS names ("CloudTrail コンソールで開く",
// "AWSアカウント", "MFA") and network terms ("送信元IP", "AS番号").
var awsNames = map[string]bool{"aws": true, "cloudtrail": true, "mfa": true, "ip": true, "as": true}

// englishVocabulary returns the words trailwatch itself writes in English
// messages: every text of the English Words (labels, phrases, severity
// names, formats, context labels) and the text of the default templates
// outside their actions, less AWS names.
func englishVocabulary(t *testing.T) map[string]bool {
	t.Helper()
	vocab := map[string]bool{}
	add := func(s string) {
		for _, w := range asciiWords(s) {
			if lw := strings.ToLower(w); len(lw) > 1 && !awsNames[lw] {
				vocab[lw] = true
			}
		}
	}
	w := english()
	v := reflect.ValueOf(w)
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			if v.Type().Field(i).Name != "TimeLayout" && v.Type().Field(i).Name != "Locale" {
				add(f.String())
			}
		case reflect.Array:
			for j := range f.Len() {
				add(f.Index(j).String())
			}
		case reflect.Map:
			for _, k := range f.MapKeys() {
				add(f.MapIndex(k).String())
			}
		}
	}
	add(TruncMarker) // the one phrase the renderer writes besides Words
	actions := regexp.MustCompile(`(?s)\{\{.*?\}\}|<[^>]*>`)
	for _, name := range []string{"templates/subject.tmpl", "templates/body.tmpl", "templates/email.html.tmpl"} {
		src, err := defaultTemplateFS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		add(actions.ReplaceAllString(string(src), " "))
	}
	if len(vocab) < 40 {
		t.Fatalf("the English vocabulary has only %d words: %v", len(vocab), vocab)
	}
	return vocab
}

func asciiWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsLetter(r) })
}

// readableTexts returns the parts of a payload a person reads: the text
// values of Slack and Teams bodies, the webhook document's title, rule
// texts and summaries, the email subject, text and HTML (tags dropped),
// the SNS and stdout text. The SNS subject is left out: SNS accepts only
// ASCII there, so a Japanese message's subject is made of identifiers
// (severity label, rule id, account).
func readableTexts(t *testing.T, kind string, p *Payload) []string {
	t.Helper()
	var out []string
	collect := func(body []byte, keys ...string) {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s body: %v", kind, err)
		}
		var walk func(v any, key string)
		walk = func(v any, key string) {
			switch x := v.(type) {
			case map[string]any:
				for k, c := range x {
					walk(c, k)
				}
			case []any:
				for _, c := range x {
					walk(c, key)
				}
			case string:
				for _, k := range keys {
					if k == key {
						out = append(out, x)
					}
				}
			}
		}
		walk(v, "")
	}
	switch kind {
	case KindSlack, KindSlackBot:
		collect(p.Body, "text", "fallback")
	case KindTeams:
		collect(p.Body, "text", "title", "value")
	case KindWebhook:
		collect(p.Body, "title", "description", "summary")
	case KindStdout:
		collect(p.Body, "title", "description", "summary")
		out = append(out, p.Text)
	case KindSNS:
		var m snsMessage
		if err := json.Unmarshal(p.Body, &m); err != nil {
			t.Fatal(err)
		}
		collect([]byte(m.Default), "title", "description", "summary")
		out = append(out, m.Email, p.Text)
	case KindEmail:
		out = append(out, p.Subject, p.Text, regexp.MustCompile(`<[^>]*>`).ReplaceAllString(p.HTML, " "))
	default:
		t.Fatalf("no readable form for %s", kind)
	}
	return out
}

// eventWords are the words of what the message quotes rather than says:
// the events' raw records, rule ids and tags. A word of trailwatch's
// English found only there is data, not trailwatch speaking English.
func eventWords(g *Group) map[string]bool {
	words := map[string]bool{}
	add := func(s string) {
		for _, w := range asciiWords(s) {
			words[strings.ToLower(w)] = true
		}
	}
	var alerts []*event.Alert
	for _, a := range g.Alerts {
		alerts = append(append(alerts, a), a.Also...)
	}
	for _, a := range alerts {
		add(string(a.Event.Raw()))
		add(a.Rule.ID)
		add(strings.Join(a.Rule.Tags, " "))
		for _, v := range a.Context {
			add(v)
		}
	}
	return words
}

var urls = regexp.MustCompile(`https?://[^\s"<>)]+`)

// englishIn returns the words of trailwatch's English vocabulary in texts
// that the event data does not account for.
func englishIn(texts []string, vocab, data map[string]bool) []string {
	found := map[string]bool{}
	for _, s := range texts {
		for _, w := range asciiWords(urls.ReplaceAllString(s, " ")) {
			lw := strings.ToLower(w)
			if vocab[lw] && !data[lw] {
				found[lw] = true
			}
		}
	}
	out := make([]string, 0, len(found))
	for w := range found {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// TestJapaneseMessagesHaveNoEnglish renders a folded alert (rules with
// Japanese text, a detector's context) and a group for every receiver kind
// in ja, and finds no word of trailwatch's own English in what a person
// reads. The same check over the English messages must find plenty, or
// the detector would prove nothing.
func TestJapaneseMessagesHaveNoEnglish(t *testing.T) {
	vocab := englishVocabulary(t)
	burst := func(t testing.TB) *Group {
		g := goldenCases()[3].group(t) // the grouped burst: "and N more", the alert list
		for _, a := range g.Alerts {
			a.Rule.Locales = map[string]event.LocalText{"ja": {Title: "権限のない API 呼び出し"}}
			a.Summaries = map[string]string{"ja": "GetPasswordData が拒否されました"}
			a.Annotation = ""
		}
		return g
	}
	long := func(t testing.TB) *Group {
		// A user agent too long for any receiver: every kind cuts it.
		g := foldedRootLogin(t)
		raw := strings.Replace(string(g.Alerts[0].Event.Raw()), `"Mozilla/5.0`, `"`+strings.Repeat("Mozilla/5.0 ", 3000), 1)
		ev, err := event.Parse([]byte(raw), event.Origin{})
		if err != nil {
			t.Fatal(err)
		}
		g.Alerts[0].Event = ev
		return g
	}
	checkNoEnglish(t, vocab, []goldenCase{{"folded", foldedRootLogin}, {"burst", burst}, {"long", long}})
}

// checkNoEnglish renders each case for every receiver kind in ja and finds
// no word of trailwatch's own English in what a person reads; rendered in
// en, the same check must find some, or it would prove nothing.
func checkNoEnglish(t *testing.T, vocab map[string]bool, cases []goldenCase) {
	t.Helper()
	for _, c := range cases {
		for _, kind := range Kinds() {
			g := c.group(t)
			data := eventWords(g)
			ja, err := newTestRenderer(t, "ja").Render(kind, "ops", g)
			if err != nil {
				t.Fatal(err)
			}
			if words := englishIn(readableTexts(t, kind, ja), vocab, data); len(words) > 0 {
				t.Errorf("%s %s message in ja has English words of trailwatch's: %v", c.name, kind, words)
			}
			en, err := newTestRenderer(t, "en").Render(kind, "ops", g)
			if err != nil {
				t.Fatal(err)
			}
			if words := englishIn(readableTexts(t, kind, en), vocab, data); len(words) == 0 {
				t.Errorf("%s %s message in en: the check finds no English", c.name, kind)
			}
		}
	}
}

// TestContextAttributeReadsInJapanese: a first-seen detector's context
// names the attribute it saw for the first time by its key (user-agent);
// a ja message says it in Japanese, as its label.
func TestContextAttributeReadsInJapanese(t *testing.T) {
	for _, kind := range Kinds() {
		if kind == "webhook" {
			continue // its context is data for programs, keyed as sent
		}
		g := foldedRootLogin(t)
		g.Alerts[0].Context = map[string]string{"attribute": "user-agent", "user-agent": "curl/8.4.0"}
		ja, err := newTestRenderer(t, "ja").Render(kind, "ops", g)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(readableTexts(t, kind, ja), "\n")
		if !strings.Contains(text, "初めて見た項目") || strings.Count(text, "ユーザーエージェント") < 2 {
			t.Errorf("%s: the attribute does not read in Japanese:\n%.3000s", kind, text)
		}
		if strings.Contains(strings.ToLower(text), "user-agent") {
			t.Errorf("%s: \"user-agent\" in a ja message:\n%.3000s", kind, text)
		}
	}
}
