package render

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/event"
)

// forgedUser is a user name that breaks a line, reverses the text after it
// and hides a zero-width space: what a reader sees must show all three.
const forgedUser = "alice\r\n*Resolved*: false alarm\u202egnp.exe\u200b"

func forgedGroup(t *testing.T) *Group {
	return hostileGroup(t, hostileEvent(t, map[string]any{
		"userIdentity": map[string]any{"type": "IAMUser", "userName": forgedUser, "accountId": "111122223333", "arn": "arn:aws:iam::111122223333:user/alice"},
	}))
}

// slackSection returns the text of the top-level section under the header.
func slackSection(t *testing.T, p *Payload) string {
	t.Helper()
	var m slackMessage
	if err := json.Unmarshal(p.Body, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Blocks) < 2 || m.Blocks[1].Text == nil {
		t.Fatalf("no section under the header: %s", p.Body)
	}
	return m.Blocks[1].Text.Text
}

// TestMarkupTemplatesEscapeEveryValue: whatever a "text" template prints,
// a field, a field read through .Alert, the result of printf, is escaped
// for the target and shown on one line; raw is the one way out.
func TestMarkupTemplatesEscapeEveryValue(t *testing.T) {
	const tmpl = `{{with index .Alerts 0}}{{.Principal}} | {{.Alert.Event.Field "userAgent"}} | {{printf "%s!" .UserAgent}} | {{$.Raw.Alerts | len}}{{end}}`
	r, err := New(Options{Mentions: &Mentions{}, Templates: map[string]string{
		"text":          tmpl,
		"slackbot.text": `{{raw (index .Alerts 0).Principal}}`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	g := forgedGroup(t)

	p, err := r.Render(KindSlack, "ops", g)
	if err != nil {
		t.Fatal(err)
	}
	got := slackSection(t, p)
	want := `alice\r\n*Resolved*: false alarm\u202egnp.exe\u200b | &lt;!channel&gt; &lt;http://evil.example|click&gt; | &lt;!channel&gt; &lt;http://evil.example|click&gt;! | 1`
	if got != want {
		t.Errorf("slack text\n got %q\nwant %q", got, want)
	}
	checkSlackText(t, "slack text", got)

	p, err = r.Render(KindTeams, "ops", g)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	walkStrings(decode(t, p.Body), "", func(key, s string) {
		if !strings.Contains(s, " | ") {
			return
		}
		found = true
		want := `alice\\r\\n\*Resolved\*: false alarm\\u202egnp.exe\\u200b | \<!channel\> \<http\[:\]//evil.example|click\> | \<!channel\> \<http\[:\]//evil.example|click\>! | 1`
		if s != want {
			t.Errorf("teams text\n got %q\nwant %q", s, want)
		}
	})
	if !found {
		t.Errorf("teams text template output missing:\n%s", p.Body)
	}

	// raw prints exactly what it is given.
	p, err = r.Render(KindSlackBot, "ops", g)
	if err != nil {
		t.Fatal(err)
	}
	if got := slackSection(t, p); got != strings.TrimSpace(forgedUser) {
		t.Errorf("raw printed %q, want %q", got, forgedUser)
	}
}

// TestMentionStaysMarkup: the operator's mention printed by a Slack text
// template notifies, as in the default message.
func TestMentionStaysMarkup(t *testing.T) {
	r, err := New(Options{Mentions: &Mentions{BySeverity: map[event.Severity]string{event.SeverityMedium: "<!subteam^S0123|secops>"}},
		Templates: map[string]string{"slack.text": `{{$.Mention}} {{(index .Alerts 0).UserAgent}}`}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Render(KindSlack, "ops", forgedGroup(t))
	if err != nil {
		t.Fatal(err)
	}
	// The mention is written once by the template and once in front of it.
	if got, want := slackSection(t, p), "<!subteam^S0123|secops> <!subteam^S0123|secops> &lt;!channel&gt; &lt;http://evil.example|click&gt;"; got != want {
		t.Errorf("slack text\n got %q\nwant %q", got, want)
	}
}

// TestPlainTemplatesShowValuesOnOneLine: a body template printing a raw
// event field cannot forge a line or hide characters.
func TestPlainTemplatesShowValuesOnOneLine(t *testing.T) {
	r, err := New(Options{Templates: map[string]string{
		"email.body": "UA: {{(index .Alerts 0).Alert.Event.Field \"userAgent\"}}\nend",
		"title":      `{{(index .Alerts 0).Principal}} signed in`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	ev := hostileEvent(t, map[string]any{"userAgent": "curl\nLogin result: success\u200b\u2066"})
	p, err := r.Render(KindEmail, "ops", hostileGroup(t, ev))
	if err != nil {
		t.Fatal(err)
	}
	if want := "UA: curl\\nLogin result: success\\u200b\\u2066\nend"; p.Text != want {
		t.Errorf("body\n got %q\nwant %q", p.Text, want)
	}
}

// invisibles are the characters that must never reach a reader as they are:
// zero-width characters, the byte-order mark, bidirectional controls.
var invisibles = []rune{'\u200b', '\u200c', '\u200d', '\u200e', '\u200f', '\u2060', '\u2062', '\ufeff', '\u202a', '\u202e', '\u2066', '\u2069', '\u00ad', '\u061c', '\u180e', '\U000e0041'}

// TestLookAlikeNamesAreVisible: a principal whose name only looks like
// "root" reads differently in every receiver meant for people.
func TestLookAlikeNamesAreVisible(t *testing.T) {
	var name strings.Builder
	name.WriteString("root")
	for _, r := range invisibles {
		name.WriteRune(r)
	}
	ev := hostileEvent(t, map[string]any{
		"userIdentity": map[string]any{"type": "IAMUser", "userName": name.String(), "accountId": "111122223333\u200b"},
		"userAgent":    "\ufeffaws-cli/2.15.0",
	})
	g := hostileGroup(t, ev)
	g.Alerts[0].Summary = "Console sign-in by " + name.String()
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{KindSlack, KindSlackBot, KindTeams, KindEmail, KindSNS, KindStdout} {
		p, err := r.Render(kind, "ops", g)
		if err != nil {
			t.Fatal(err)
		}
		var outs []string
		switch kind {
		case KindSlack, KindSlackBot, KindTeams:
			walkStrings(decode(t, p.Body), "", func(_, s string) { outs = append(outs, s) })
			outs = append(outs, p.Text)
		case KindSNS:
			var m map[string]string
			if err := json.Unmarshal(p.Body, &m); err != nil {
				t.Fatal(err)
			}
			// "default" is the webhook document, which keeps exact values
			// for machines.
			outs = append(outs, m["email"], p.Text, p.Subject)
		default:
			outs = append(outs, p.Text, p.HTML, p.Subject)
		}
		all := strings.Join(outs, "\n")
		for _, r := range invisibles {
			for _, o := range outs {
				if strings.ContainsRune(o, r) {
					t.Errorf("%s: %U reaches the reader as it is in %q", kind, r, o)
				}
			}
		}
		// Markdown shows the backslash of the escape escaped.
		if !strings.Contains(all, `root\u200b`) && !strings.Contains(all, `root\\u200b`) {
			t.Errorf("%s: the look-alike name is not shown as root\\u200b...:\n%s", kind, all)
		}
		if !utf8.ValidString(all) {
			t.Errorf("%s: invalid UTF-8", kind)
		}
	}
}

// TestSlackFallbackIsNotFormatted: the top-level text, shown in
// notifications, is sent with mrkdwn off, so *, _ and ~ from a user name
// show as typed; and its values are on one line.
func TestSlackFallbackIsNotFormatted(t *testing.T) {
	r, err := New(Options{Mentions: &Mentions{}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Render(KindSlack, "ops", forgedGroup(t))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(p.Body, &m); err != nil {
		t.Fatal(err)
	}
	if v, ok := m["mrkdwn"]; !ok || v != false {
		t.Errorf(`"mrkdwn" = %v, want false`, v)
	}
	text, _ := m["text"].(string)
	if strings.ContainsAny(text, "\r\n\u202e\u200b") || !strings.Contains(text, `alice\r\n*Resolved*`) {
		t.Errorf("fallback text %q", text)
	}
}

// TestTeamsDoesNotLinkBareURLs: Teams turns a URL in card text into a link
// even when its Markdown is escaped; a URL from an event is defanged.
func TestTeamsDoesNotLinkBareURLs(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := hostileEvent(t, map[string]any{"userAgent": "see https://evil.example/login, ftp://x.example and www.evil.example now"})
	p, err := r.Render(KindTeams, "ops", hostileGroup(t, ev))
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	walkStrings(decode(t, p.Body), "", func(key, s string) {
		if key == "url" || key == "$schema" {
			return // the console button and the schema, which we write
		}
		all = append(all, s)
		if strings.Contains(s, "://") || strings.Contains(s, "www.") {
			t.Errorf("%s holds a live URL: %q", key, s)
		}
	})
	if !strings.Contains(strings.Join(all, "\n"), `see https\[:\]//evil.example/login, ftp\[:\]//x.example and www\[.\]evil.example now`) {
		t.Errorf("the user agent is not shown defanged:\n%s", strings.Join(all, "\n"))
	}
}
