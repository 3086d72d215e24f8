package render

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
)

func TestBadTemplatesFailAtConstruction(t *testing.T) {
	for _, c := range []struct {
		templates map[string]string
		want      string
	}{
		{map[string]string{"slack.title": "{{.Title"}, `template "slack.title" does not parse: template: slack.title:1: unclosed action`},
		{map[string]string{"title": "ok\n{{ nosuchfunc .Title }}"}, `template "title" does not parse: template: title:2: function "nosuchfunc" not defined`},
		{map[string]string{"email.html": "<a href=\"{{.Title}}\">{{end}}</a>"}, `template "email.html" does not parse: template: email.html:1: unexpected {{end}}`},
		{map[string]string{"footer": "x"}, `template "footer": unknown field "footer" (want title, text, subject, body or html, optionally prefixed by a kind such as slack.title)`},
		{map[string]string{"pager.title": "x"}, `template "pager.title": unknown receiver kind "pager" (want one of slack, slackbot, teams, webhook, sns, email, stdout)`},
		{map[string]string{"slack.html": "x"}, `template "slack.html": a slack receiver has no html field (html is used by email)`},
	} {
		_, err := New(Options{Templates: c.templates})
		if err == nil {
			t.Errorf("New(%v) succeeded", c.templates)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%v) error:\n%v\nwant it to contain:\n%s", c.templates, err, c.want)
		}
	}
	_, err := New(Options{Locale: "fr", MaxAlerts: -1})
	if err == nil || !strings.Contains(err.Error(), `unknown locale "fr" (want en or ja)`) || !strings.Contains(err.Error(), "max alerts is -1") {
		t.Errorf("New with a bad locale and max alerts: %v", err)
	}
}

func TestTemplateFunctions(t *testing.T) {
	r, err := New(Options{
		Location: time.UTC,
		Templates: map[string]string{
			"email.subject": `{{with index .Alerts 0}}{{.Time | tz "Asia/Tokyo" | date "15:04 MST"}} {{.Principal | upper}} {{.AccountName | default "no alias"}} {{.Tags | join "+"}} {{.UserAgent | truncate 20}}{{end}}`,
			"email.body":    `{{with index .Alerts 0}}{{json .Summary}} {{escapeSlack .UserAgent}} {{escapeHTML .UserAgent}} {{escapeMarkdown "*x*"}} {{lower .EventName}} {{line "a\nb"}}{{end}}`,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	g := hostileGroup(t, hostileEvent(t, nil))
	p, err := r.Render(KindEmail, "ops", g)
	if err != nil {
		t.Fatal(err)
	}
	wantSubject := "02:35 JST *BOLD* `TICK` <B>X</B> @CHANNEL [A](HTTP://EVIL.EXAMPLE) <@U024BE7LH> no alias cis-4.6 <!channe…(truncated)"
	if p.Subject != wantSubject {
		t.Errorf("subject:\n got %q\nwant %q", p.Subject, wantSubject)
	}
	wantBody := `"Console sign-in Failure for *bold* ` + "`tick`" + ` \u003cb\u003ex\u003c/b\u003e @channel [a](http://evil.example) \u003c@U024BE7LH\u003e via \u003c!channel\u003e \u003chttp://evil.example|click\u003e" ` +
		`&lt;!channel&gt; &lt;http://evil.example|click&gt; &lt;!channel&gt; &lt;http://evil.example|click&gt; \*x\* consolelogin a\nb`
	if p.Text != wantBody {
		t.Errorf("body:\n got %q\nwant %q", p.Text, wantBody)
	}

	bad, err := New(Options{Templates: map[string]string{"title": `{{.Time | tz "Mars/Olympus"}}`}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Render(KindSlack, "ops", g)
	if err == nil || !strings.Contains(err.Error(), `render slack for receiver "ops": template title failed`) || !strings.Contains(err.Error(), `unknown time zone "Mars/Olympus"`) {
		t.Errorf("failing template error: %v", err)
	}
}

// TestMarkupTemplatesSeeEscapedValues shows the contract for "text"
// templates: values are escaped for the target as they are printed; .Raw,
// which held the originals, is the same message, and an explicit escape
// function's output is not escaped twice.
func TestMarkupTemplatesSeeEscapedValues(t *testing.T) {
	r, err := New(Options{Mentions: &Mentions{}, Templates: map[string]string{
		"text":       `*UA*: {{(index .Alerts 0).UserAgent}}`,
		"teams.text": `**UA**: {{(index .Alerts 0).UserAgent}} / {{escapeMarkdown (index .Raw.Alerts 0).PrincipalType}}`,
		"title":      `{{(index .Alerts 0).Principal}} signed in`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	g := hostileGroup(t, hostileEvent(t, nil))
	p, err := r.Render(KindSlack, "ops", g)
	if err != nil {
		t.Fatal(err)
	}
	var m slackMessage
	if err := json.Unmarshal(p.Body, &m); err != nil {
		t.Fatal(err)
	}
	if got, want := m.Blocks[1].Text.Text, "*UA*: &lt;!channel&gt; &lt;http://evil.example|click&gt;"; got != want {
		t.Errorf("slack text %q, want %q", got, want)
	}
	// A plain-text title is escaped after the template runs.
	if got := m.Blocks[0].Text.Text; strings.Contains(got, "<") || !strings.Contains(got, "&lt;b&gt;x&lt;/b&gt;") {
		t.Errorf("slack header %q is not escaped", got)
	}
	p, err = r.Render(KindTeams, "ops", g)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	walkStrings(decode(t, p.Body), "", func(key, s string) {
		if strings.HasPrefix(s, "**UA**") {
			found = true
			if want := `**UA**: \<!channel\> \<http\[:\]//evil.example|click\> / IAMUser`; s != want {
				t.Errorf("teams text %q, want %q", s, want)
			}
		}
	})
	if !found {
		t.Errorf("teams text template output missing:\n%s", p.Body)
	}
}

func TestMentions(t *testing.T) {
	ev := loadEvent(t, "create-access-key.json")
	failed := loadEvent(t, "iam-user-login-failure-no-mfa.json")
	def, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	custom, err := New(Options{Mentions: &Mentions{BySeverity: map[event.Severity]string{event.SeverityLow: "<!subteam^S0123|secops>"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r    *Renderer
		sev  event.Severity
		ev   *event.Event
		want string
	}{
		{def, event.SeverityInfo, ev, ""},
		{def, event.SeverityMedium, ev, ""},
		{def, event.SeverityHigh, ev, "<!here>"},
		{def, event.SeverityCritical, ev, "<!channel>"},
		{def, event.SeverityLow, failed, "<!here>"},
		{custom, event.SeverityLow, ev, "<!subteam^S0123|secops>"},
		{custom, event.SeverityCritical, failed, ""},
	} {
		g := &Group{Count: 1, Alerts: []*event.Alert{{Rule: event.RuleInfo{ID: "r", Severity: c.sev}, Event: c.ev}}}
		p, err := c.r.Render(KindSlack, "ops", g)
		if err != nil {
			t.Fatal(err)
		}
		var m slackMessage
		if err := json.Unmarshal(p.Body, &m); err != nil {
			t.Fatal(err)
		}
		got := ""
		if strings.HasPrefix(m.Text, "<") {
			got, _, _ = strings.Cut(m.Text, " ")
		}
		if got != c.want {
			t.Errorf("severity %s on %s: mention %q, want %q", c.sev, c.ev.Name(), got, c.want)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := &Group{Count: 1, Alerts: []*event.Alert{{Rule: ruleAccessKey, Event: loadEvent(t, "create-access-key.json")}}}
	if _, err := r.Render("pager", "ops", g); !errors.Is(err, ErrUnknownKind) ||
		err.Error() != `render for receiver "ops": unknown receiver kind "pager" (want one of slack, slackbot, teams, webhook, sns, email, stdout)` {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := r.Render(KindSlack, "ops", &Group{Key: "k"}); !errors.Is(err, ErrEmptyGroup) {
		t.Errorf("empty group: %v", err)
	}
	if _, err := r.Render(KindSlack, "ops", &Group{Key: "k", Alerts: []*event.Alert{{}}}); err == nil ||
		err.Error() != `render for receiver "ops": alert 0 of group "k" has no event` {
		t.Errorf("alert without event: %v", err)
	}
}

func TestSetSlackThread(t *testing.T) {
	r, err := New(Options{SlackChannels: map[string]string{"ops": "C0SECURITY"}})
	if err != nil {
		t.Fatal(err)
	}
	g := &Group{Count: 2, Repeat: true, Alerts: []*event.Alert{{Rule: ruleAccessKey, Event: loadEvent(t, "create-access-key.json")}}}
	p, err := r.Render(KindSlackBot, "ops", g)
	if err != nil {
		t.Fatal(err)
	}
	b, err := SetSlackThread(p.Body, "", "1700000000.000100")
	if err != nil {
		t.Fatal(err)
	}
	var m slackMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Channel != "C0SECURITY" || m.ThreadTS != "1700000000.000100" || len(m.Blocks) == 0 {
		t.Errorf("channel %q thread %q blocks %d", m.Channel, m.ThreadTS, len(m.Blocks))
	}
	if !strings.Contains(m.Blocks[0].Text.Text, "(still firing)") {
		t.Errorf("repeat header %q", m.Blocks[0].Text.Text)
	}
	if _, err := SetSlackThread([]byte("[]"), "C1", ""); err == nil {
		t.Error("SetSlackThread accepted a non-object")
	}
}

func TestSNSSubjectIsASCII(t *testing.T) {
	r, err := New(Options{Locale: "ja"})
	if err != nil {
		t.Fatal(err)
	}
	g := &Group{Count: 3, Alerts: []*event.Alert{{Rule: ruleRootLogin, Event: loadEvent(t, "root-console-login.json")}}}
	p, err := r.Render(KindSNS, "ops", g)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[critical] root-console-login (x3) - 111122223333"; p.Subject != want {
		t.Errorf("subject %q, want %q", p.Subject, want)
	}
	want := map[string]string{"severity": "critical", "rule": "root-console-login", "account": "111122223333", "event_name": "ConsoleLogin"}
	for k, v := range want {
		if p.Attributes[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, p.Attributes[k], v)
		}
	}
	if got := snsSubject(strings.Repeat("a", 150), nil); len(got) != SNSMaxSubject || !strings.HasSuffix(got, "...") {
		t.Errorf("long subject cut to %q", got)
	}
}

// TestConcurrentRender renders from many goroutines at once; run with -race.
func TestConcurrentRender(t *testing.T) {
	r, err := New(Options{Templates: map[string]string{"title": `{{(index .Alerts 0).Time | tz "Asia/Tokyo" | date "15:04"}} {{.Title}}`}})
	if err != nil {
		t.Fatal(err)
	}
	g := goldenCases()[3].group(t)
	done := make(chan error)
	for i := 0; i < 8; i++ {
		go func() {
			var err error
			for _, kind := range Kinds() {
				if _, e := r.Render(kind, "ops", g); e != nil && err == nil {
					err = e
				}
			}
			done <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
