package render

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/event"
)

// Hostile values an API caller can choose.
const (
	hostileUA   = "<!channel> <http://evil.example|click>"
	hostileUser = "*bold* `tick` <b>x</b> @channel [a](http://evil.example) <@U024BE7LH>"
	hostileErr  = "<!here> & <!subteam^S1|ops> &amp; done"
)

// hostileEvent is the AWS docs failed IAM sign-in with attacker-chosen user
// agent, user name, error message and extra fields set.
func hostileEvent(t testing.TB, set map[string]any) *event.Event {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "events", "iam-user-login-failure-no-mfa.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["userAgent"] = hostileUA
	m["errorMessage"] = hostileErr
	m["userIdentity"].(map[string]any)["userName"] = hostileUser
	m["requestParameters"] = map[string]any{"policyName": "<!here> <b>p</b> [x](http://evil.example)"}
	for k, v := range set {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := event.Parse(b, event.Origin{Input: "hostile"})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func hostileGroup(t testing.TB, ev *event.Event) *Group {
	return &Group{Key: "k", Receiver: "ops", Count: 1, Alerts: []*event.Alert{{
		Rule:       ruleLoginFailure,
		Event:      ev,
		Summary:    "Console sign-in Failure for " + hostileUser + " via " + hostileUA,
		Annotation: `{"note":"<!everyone>"}`,
		Context:    map[string]string{"location": "<http://evil.example|Tokyo>"},
	}}}
}

// walkStrings calls f for every string in a decoded JSON value, with the
// key it sits under.
func walkStrings(v any, key string, f func(key, s string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			walkStrings(e, k, f)
		}
	case []any:
		for _, e := range x {
			walkStrings(e, key, f)
		}
	case string:
		f(key, x)
	}
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, b)
	}
	return v
}

// consoleLink matches the one link Slack text may hold: ours, to the
// CloudTrail console, labelled with a time.
var consoleLink = regexp.MustCompile(`<https://[a-z0-9-]+\.console\.aws\.amazon\.com/cloudtrailv2/home\?region=[a-z0-9-]+#/events/[^<>|&\s]+\|[0-9: -]+[A-Z]{3}>`)

// checkSlackText fails when s could act as Slack markup: any '<' (a link,
// mention or command) other than a console link, or an '&' that is not one
// of the three entities.
func checkSlackText(t *testing.T, where, s string) {
	t.Helper()
	s = consoleLink.ReplaceAllString(s, "")
	if strings.ContainsAny(s, "<>") {
		t.Errorf("%s holds live Slack markup: %q", where, s)
	}
	for i := strings.IndexByte(s, '&'); i >= 0; i = nextIndex(s, '&', i) {
		rest := s[i:]
		if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
			t.Errorf("%s has a bare or cut '&' at %d: %q", where, i, s)
			return
		}
	}
}

func nextIndex(s string, c byte, after int) int {
	j := strings.IndexByte(s[after+1:], c)
	if j < 0 {
		return -1
	}
	return after + 1 + j
}

func TestSlackNeutralisesHostileText(t *testing.T) {
	for _, locale := range []string{"en", "ja"} {
		r, err := New(Options{Locale: locale, Mentions: &Mentions{}})
		if err != nil {
			t.Fatal(err)
		}
		group := hostileGroup(t, hostileEvent(t, nil))
		group.Alerts = append(group.Alerts, group.Alerts[0], group.Alerts[0])
		group.Count = 7
		for _, kind := range []string{KindSlack, KindSlackBot} {
			p, err := r.Render(kind, "ops", group)
			if err != nil {
				t.Fatal(err)
			}
			var shown strings.Builder
			walkStrings(decode(t, p.Body), "", func(key, s string) {
				if key == "url" {
					if !strings.HasPrefix(s, "https://us-east-2.console.aws.amazon.com/") {
						t.Errorf("%s %s: unexpected url %q", kind, locale, s)
					}
					return
				}
				checkSlackText(t, kind+" "+locale+" "+key, s)
				shown.WriteString(UnescapeSlack(s) + "\n")
			})
			// The hostile text is shown to the reader, not dropped.
			for _, want := range []string{hostileUA, "*bold* `tick` <b>x</b>", "<!here> & <!subteam^S1|ops> &amp; done", "<http://evil.example|Tokyo>", `{"policyName":"<!here> <b>p</b> [x](http://evil.example)"}`} {
				if !strings.Contains(shown.String(), want) {
					t.Errorf("%s %s: %q is not shown; text:\n%s", kind, locale, want, shown.String())
				}
			}
			// Every mrkdwn object is verbatim, so bare URLs stay text.
			var blocks struct {
				Blocks      []slackBlock
				Attachments []slackAttachment
			}
			if err := json.Unmarshal(p.Body, &blocks); err != nil {
				t.Fatal(err)
			}
			all := append([]slackBlock(nil), blocks.Blocks...)
			for _, a := range blocks.Attachments {
				all = append(all, a.Blocks...)
			}
			for _, b := range all {
				texts := append([]*slackText{b.Text}, b.Fields...)
				for _, x := range texts {
					if x != nil && x.Type == "mrkdwn" && !x.Verbatim {
						t.Errorf("%s: mrkdwn text %q is not verbatim", kind, x.Text)
					}
				}
			}
		}
	}
}

func TestEmailEscapesHostileText(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Render(KindEmail, "ops", hostileGroup(t, hostileEvent(t, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<!channel>", "<http://evil", "<b>x</b>", "<@U024BE7LH>", "<!everyone>", "<b>p</b>"} {
		if strings.Contains(p.HTML, bad) {
			t.Errorf("HTML part holds %q unescaped", bad)
		}
	}
	for _, want := range []string{"&lt;!channel&gt; &lt;http://evil.example|click&gt;", "&lt;b&gt;x&lt;/b&gt;", "&amp;amp; done"} {
		if !strings.Contains(p.HTML, want) {
			t.Errorf("HTML part lacks the escaped %q", want)
		}
	}
	// The text part is plain text: shown as typed, on one line each.
	if !strings.Contains(p.Text, "User agent: "+hostileUA+"\n") {
		t.Errorf("text part does not show the user agent as typed:\n%s", p.Text)
	}
}

func TestTeamsEscapesHostileText(t *testing.T) {
	r, err := New(Options{Locale: "ja"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Render(KindTeams, "ops", hostileGroup(t, hostileEvent(t, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	walkStrings(decode(t, p.Body), "", func(key, s string) {
		if key == "text" || key == "value" || key == "title" {
			texts = append(texts, s)
			checkMarkdownEscapes(t, s)
		}
	})
	all := strings.Join(texts, "\n")
	for _, bad := range []string{"<!channel>", "[a](http", "<b>", "*bold*", "`tick`", "[x](http"} {
		if strings.Contains(all, bad) {
			t.Errorf("card text holds %q unescaped", bad)
		}
	}
	for _, want := range []string{`\<!channel\> \<http\[:\]//evil.example|click\>`, `\*bold\* \` + "`tick\\`", `\[a\](http\[:\]//evil.example)`} {
		if !strings.Contains(all, want) {
			t.Errorf("card text lacks the escaped %q:\n%s", want, all)
		}
	}
}

// checkMarkdownEscapes fails when a backslash in s does not escape a
// character EscapeMarkdown escapes, which would mean a cut escape.
func checkMarkdownEscapes(t *testing.T, s string) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		if i+1 >= len(s) || !strings.ContainsRune(markdownSpecial+"-+#=.", rune(s[i+1])) {
			t.Errorf("dangling backslash at %d in %q", i, s)
			return
		}
		i++
	}
}

func TestWebhookKeepsExactValues(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := hostileEvent(t, map[string]any{"userAgent": hostileUA + "\n\u202eline two"})
	p, err := r.Render(KindWebhook, "ops", hostileGroup(t, ev))
	if err != nil {
		t.Fatal(err)
	}
	var d WebhookDoc
	if err := json.Unmarshal(p.Body, &d); err != nil {
		t.Fatal(err)
	}
	a := d.Alerts[0]
	if a.Event.UserAgent != hostileUA+"\n\u202eline two" || a.Event.Principal.Name != hostileUser || a.Event.ErrorMessage != hostileErr {
		t.Errorf("webhook changed untrusted values: %+v", a.Event)
	}
	var rawEv map[string]any
	if err := json.Unmarshal(a.Raw, &rawEv); err != nil || rawEv["userAgent"] != hostileUA+"\n\u202eline two" {
		t.Errorf("raw event not carried exactly: %v %v", err, rawEv["userAgent"])
	}
	if a.Event.MFAUsed == nil || *a.Event.MFAUsed || a.Event.LoginResult != "Failure" {
		t.Errorf("mfa_used %v login_result %q", a.Event.MFAUsed, a.Event.LoginResult)
	}
}

func TestOneLineFactsShowControls(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := hostileEvent(t, map[string]any{"userAgent": "curl\nLogin result: success\u202e\x1b[31m"})
	p, err := r.Render(KindEmail, "ops", hostileGroup(t, ev))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Text, `User agent: curl\nLogin result: success\u202e\x1b[31m`+"\n") {
		t.Errorf("control characters are not made visible:\n%s", p.Text)
	}
}

func TestEscapeMarkdown(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":                  "192.0.2.1",
		"1. item":                    `1\. item`,
		"- item\n+ x":                `\- item` + "\n" + `\+ x`,
		"a-b":                        "a-b",
		"# h":                        `\# h`,
		"[x](y)":                     `\[x\](y)`,
		"**b** _i_ ~s~ `c`":          `\*\*b\*\* \_i\_ \~s\~ \` + "`c\\`",
		`back\slash`:                 `back\\slash`,
		"<at>U</at>":                 `\<at\>U\</at\>`,
		"日本語 *強調*":                   `日本語 \*強調\*`,
		"  2. indented list":         `  2\. indented list`,
		"see https://evil.example/x": `see https\[:\]//evil.example/x`,
		"www.evil.example":           `www\[.\]evil.example`,
		"WWW.evil.example":           `WWW\[.\]evil.example`,
		"awww.example, 1.www.x":      "awww.example, 1.www.x",
		"(www.evil.example)":         `(www\[.\]evil.example)`,
	} {
		if got := EscapeMarkdown(in); got != want {
			t.Errorf("EscapeMarkdown(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"abcdefghijklmnopqrstuvwxyz", 20, "abcdefgh" + TruncMarker},
		{"日本語のテキストがとても長い場合の例です", 15, "日本語" + TruncMarker},
		{"aaaaaaa&amp;bbbbbbbbbbbbbbbbbb", 21, "aaaaaaa" + TruncMarker},
		{"aaaaaaaa&lt;bbbbbbbbbbbbbbbbbbbb", 22, "aaaaaaaa" + TruncMarker},
		{"aaaaaaaa&lt;bbbbbbbbbbbbbbbbbbbb", 24, "aaaaaaaa&lt;" + TruncMarker},
		{`aaaaaaa\*bbbbbbbbbbbbbbbbbbbb`, 20, "aaaaaaa" + TruncMarker},
		{`aaaaaa\\bbbbbbbbbbbbbbbbbbbb`, 20, `aaaaaa\\` + TruncMarker},
		{"abcdef", 3, "abc"},
		{"abcdef", 0, ""},
	} {
		got := Truncate(c.in, c.max)
		if got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
		if utf8.RuneCountInString(got) > c.max {
			t.Errorf("Truncate(%q, %d) is %d runes", c.in, c.max, utf8.RuneCountInString(got))
		}
	}
	if got := TruncateBytes("日本語のテキスト", 20); got != "日本"+TruncMarker {
		t.Errorf("TruncateBytes = %q (%d bytes), want %q", got, len(got), "日本"+TruncMarker)
	}
}

func FuzzEscapeSlack(f *testing.F) {
	for _, s := range []string{"", hostileUA, hostileUser, hostileErr, "&amp;&lt;&gt;", "&&&<<<>>>", "a & b < c > d", "日本語 <!here>", "\xff<\xfe>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := EscapeSlack(s)
		if strings.ContainsAny(e, "<>") {
			t.Fatalf("EscapeSlack(%q) = %q holds '<' or '>'", s, e)
		}
		for i := strings.IndexByte(e, '&'); i >= 0; i = nextIndex(e, '&', i) {
			rest := e[i:]
			if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
				t.Fatalf("EscapeSlack(%q) = %q has a bare '&' at %d", s, e, i)
			}
		}
		if u := UnescapeSlack(e); u != s {
			t.Fatalf("UnescapeSlack(EscapeSlack(%q)) = %q", s, u)
		}
	})
}

func FuzzTruncate(f *testing.F) {
	for _, s := range []string{"", "abc", "日本語のテキスト", "&amp;&lt;&gt;&amp;&lt;&gt;", `\\\*\*`, strings.Repeat("é", 40), "🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨🚨"} {
		for _, n := range []int{0, 1, 5, 12, 13, 20} {
			f.Add(s, n)
		}
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		got := Truncate(s, n)
		if utf8.RuneCountInString(got) > n {
			t.Fatalf("Truncate(%q, %d) = %q is %d runes", s, n, got, utf8.RuneCountInString(got))
		}
		gotB := TruncateBytes(s, n)
		if len(gotB) > n {
			t.Fatalf("TruncateBytes(%q, %d) = %q is %d bytes", s, n, gotB, len(gotB))
		}
		if utf8.ValidString(s) && (!utf8.ValidString(got) || !utf8.ValidString(gotB)) {
			t.Fatalf("truncating valid %q to %d gave invalid UTF-8: %q / %q", s, n, got, gotB)
		}
		for _, out := range []string{got, gotB} {
			kept := strings.TrimSuffix(out, TruncMarker)
			if !strings.HasPrefix(s, kept) {
				t.Fatalf("truncation of %q is not a prefix: %q", s, out)
			}
		}
		// Escaped text stays well formed when cut.
		e := Truncate(EscapeSlack(s), n)
		for i := strings.IndexByte(e, '&'); i >= 0; i = nextIndex(e, '&', i) {
			rest := e[i:]
			if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
				t.Fatalf("cut escaped text %q has a broken entity", e)
			}
		}
	})
}

// FuzzSlackUserAgent renders a Slack message for any user agent and checks
// that nothing in it acts as Slack markup and that it stays within limits.
func FuzzSlackUserAgent(f *testing.F) {
	for _, s := range []string{hostileUA, hostileUser, "", strings.Repeat("<", 5000), "a\nb\u202e", "\xff\xfe"} {
		f.Add(s)
	}
	r, err := New(Options{Mentions: &Mentions{}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		ev := hostileEvent(t, map[string]any{"userAgent": ua})
		p, err := r.Render(KindSlack, "ops", hostileGroup(t, ev))
		if err != nil {
			t.Fatal(err)
		}
		walkStrings(decode(t, p.Body), "", func(key, s string) {
			if key != "url" {
				checkSlackText(t, key, s)
			}
		})
		checkSlackLimits(t, p.Body)
	})
}

// FuzzMarkupTemplate renders user "text" templates that print a hostile
// value in every way a template can reach it, and checks that the output
// acts as no markup, stays on the template's own lines and shows no
// invisible character.
func FuzzMarkupTemplate(f *testing.F) {
	for _, s := range []string{hostileUA, hostileUser, "a\r\nb\u202ec\u200b", "https://evil.example www.x.example", "\xff<\xfe>", "\ufeff*x*"} {
		f.Add(s)
	}
	const tmpl = `T {{with index .Alerts 0}}{{.UserAgent}}|{{.Alert.Event.Field "userAgent"}}|{{printf "%v" .Principal}}|{{$.Raw.Title}}{{end}}`
	r, err := New(Options{Mentions: &Mentions{}, Templates: map[string]string{"text": tmpl}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		ev := hostileEvent(t, map[string]any{"userAgent": ua})
		for _, kind := range []string{KindSlack, KindTeams} {
			p, err := r.Render(kind, "ops", hostileGroup(t, ev))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			walkStrings(decode(t, p.Body), "", func(key, s string) {
				if !strings.HasPrefix(s, "T ") || key == "url" {
					return
				}
				found = true
				if strings.ContainsAny(s, "\r\n") {
					t.Fatalf("%s text %q holds a line break from a value", kind, s)
				}
				for _, c := range s {
					if Invisible(c) {
						t.Fatalf("%s text %q holds %U", kind, s, c)
					}
				}
				if kind == KindSlack {
					checkSlackText(t, key, s)
				} else if strings.Contains(s, "://") {
					t.Fatalf("teams text %q holds a live URL", s)
				}
			})
			if !found {
				t.Fatalf("%s: the template's output is missing", kind)
			}
		}
	})
}
