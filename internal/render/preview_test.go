package render

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
)

// TestPreviewGolden pins the readable previews of the folded, burst and
// failed sign-in messages for every kind and both locales
// (testdata/preview/<case>.<kind>.<locale>.txt; refresh with -update).
func TestPreviewGolden(t *testing.T) {
	cases := map[string]bool{"folded": true, "burst": true, "iam-login-failure": true}
	for _, locale := range []string{"en", "ja"} {
		r := newTestRenderer(t, locale)
		for _, c := range goldenCases() {
			if !cases[c.name] {
				continue
			}
			for _, kind := range Kinds() {
				t.Run(c.name+"/"+kind+"/"+locale, func(t *testing.T) {
					p, err := r.Render(kind, "ops", c.group(t))
					if err != nil {
						t.Fatal(err)
					}
					got, err := Preview(p)
					if err != nil {
						t.Fatal(err)
					}
					checkGolden(t, filepath.Join("testdata", "preview", c.name+"."+kind+"."+locale+".txt"), []byte(got))
				})
			}
		}
	}
}

// TestPreviewSlack checks what the Slack preview reads back from a body:
// the mention named once, the colour named, fields side by side, links
// shown by their label, and attacker text shown as text, never taken for a
// mention or a link.
func TestPreviewSlack(t *testing.T) {
	ev := loadEvent(t, "iam-user-login-failure-no-mfa.json")
	raw := strings.Replace(string(ev.Raw()), `"userAgent": "`, `"userAgent": "<!channel> *pwn* &amp; <https://evil.example|click> `, 1)
	ev, err := event.Parse([]byte(raw), event.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	g := &Group{Key: "k", Receiver: "ops", Count: 1, Alerts: []*event.Alert{{
		Rule: ruleLoginFailure, Event: ev, Summary: "Failed sign-in for JaneDoe",
	}}}
	p, err := newTestRenderer(t, "en").Render(KindSlack, "ops", g)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Preview(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Slack message, colour amber (#DAA038), mentions @here\n",
		"notification: @here [MEDIUM] Console sign-in failed - JaneDoe - 111122223333 (prod)\n",
		"[MEDIUM] Console sign-in failed\n====",
		"@here Failed sign-in for JaneDoe\n",
		"┃ Event                                 AWS account\n┃ ConsoleLogin (signin.amazonaws.com)   111122223333 (prod)\n",
		"User agent\n┃ <!channel> pwn &amp; <https://evil.example|click> Mozilla",
		"[ Open in CloudTrail console ] https://us-east-2.console.aws.amazon.com/",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("preview lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "mentions @here @channel") {
		t.Errorf("the user agent's <!channel> was taken for a mention:\n%s", got)
	}
}

func TestSlackDisplay(t *testing.T) {
	for in, want := range map[string]string{
		"<!here> hi":                          "@here hi",
		"<!subteam^S0123|oncall> and <@U02>":  "@oncall and @U02",
		"<!subteam^S0123>":                    "@S0123",
		"<https://x.example/a|12:00 JST> · x": "12:00 JST · x",
		"*Label*\nvalue *not bold":            "Label\nvalue *not bold",
		"&lt;!channel&gt; &amp;":              "<!channel> &",
		"*a* *b*":                             "a b",
	} {
		if got := slackDisplay(in); got != want {
			t.Errorf("slackDisplay(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPreviewUnknownKind(t *testing.T) {
	if _, err := Preview(&Payload{Kind: "fax"}); err == nil {
		t.Fatal("no error for an unknown kind")
	}
	if _, err := Preview(&Payload{Kind: KindSlack, Receiver: "ops", Body: []byte("{")}); err == nil ||
		!strings.Contains(err.Error(), `receiver "ops"`) {
		t.Fatalf("error %v", err)
	}
}

// FuzzPreview reads arbitrary bodies back as every kind: a preview may
// fail on a body that is not what its kind makes, but never panics.
func FuzzPreview(f *testing.F) {
	r, err := New(Options{Locale: "ja"})
	if err != nil {
		f.Fatal(err)
	}
	ev := event.MustParse(`{"eventName":"ConsoleLogin","userIdentity":{"type":"Root"},"userAgent":"<!channel> *x*"}`)
	for _, kind := range Kinds() {
		p, err := r.Render(kind, "ops", &Group{Key: "k", Count: 2, Alerts: []*event.Alert{{Rule: ruleRootLogin, Event: ev}}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(kind, p.Body, p.Text)
	}
	f.Add(KindSlack, []byte(`{"blocks":[{"type":"context","elements":[{"text":{"text":1}}]}],"attachments":[{"blocks":[{"type":"section","fields":[null]}]}]}`), "")
	f.Fuzz(func(t *testing.T, kind string, body []byte, text string) {
		_, _ = Preview(&Payload{Kind: kind, Body: body, Text: text, Subject: text, HTML: text})
		_ = slackDisplay(text)
		_ = markdownDisplay(text)
	})
}
