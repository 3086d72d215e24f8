package render

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// fixedNow is the clock every golden uses.
var fixedNow = time.Date(2026, 11, 23, 1, 15, 0, 0, time.UTC)

func loadEvent(t testing.TB, name string) *event.Event {
	t.Helper()
	path := filepath.Join("testdata", "events", name)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := event.Parse(raw, event.Origin{Input: path})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func loadEvents(t testing.TB, name string) []*event.Event {
	t.Helper()
	path := filepath.Join("testdata", "events", name)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*event.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for i := 0; sc.Scan(); i++ {
		ev, err := event.Parse(sc.Bytes(), event.Origin{Input: path, Index: i})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Rules as the built-in packs describe them; the test only needs what an
// alert carries.
var (
	ruleRootLogin = event.RuleInfo{
		ID: "root-console-login", Title: "Root user signed in to the console", Severity: event.SeverityCritical,
		Description: "The root user can do anything in the account. Confirm the sign-in was expected.",
		Tags:        []string{"cis-1.7", "mitre-T1078.004"},
	}
	ruleLoginFailure = event.RuleInfo{
		ID: "console-login-failure", Title: "Console sign-in failed", Severity: event.SeverityMedium,
		Tags: []string{"cis-4.6"},
	}
	ruleAccessKey = event.RuleInfo{
		ID: "iam-access-key-created", Title: "IAM access key created", Severity: event.SeverityMedium,
		Tags: []string{"mitre-T1098.001"},
	}
	ruleUnauthorized = event.RuleInfo{
		ID: "unauthorized-api-call", Title: "Unauthorized API calls", Severity: event.SeverityHigh,
		Tags: []string{"cis-4.1"},
	}
)

type goldenCase struct {
	name  string
	group func(t testing.TB) *Group
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{"root-console-login", func(t testing.TB) *Group {
			ev := loadEvent(t, "root-console-login.json")
			return &Group{Key: "ops/rule=root-console-login", Receiver: "ops", Count: 1, Alerts: []*event.Alert{{
				Rule: ruleRootLogin, Event: ev,
				Summary: "Root console sign-in Success from 192.0.2.0",
			}}}
		}},
		{"iam-login-failure", func(t testing.TB) *Group {
			ev := loadEvent(t, "iam-user-login-failure-no-mfa.json")
			return &Group{Key: "ops/rule=console-login-failure", Receiver: "ops", Count: 1, Alerts: []*event.Alert{{
				Rule: ruleLoginFailure, Event: ev,
				Summary: "Console sign-in Failure for JaneDoe from 192.0.2.100 without MFA",
				Context: map[string]string{"location": "Tokyo, JP (AS2516)", "first_seen": "true"},
			}}}
		}},
		{"create-access-key", func(t testing.TB) *Group {
			ev := loadEvent(t, "create-access-key.json")
			return &Group{Key: "ops/rule=iam-access-key-created", Receiver: "ops", Count: 1, Alerts: []*event.Alert{{
				Rule: ruleAccessKey, Event: ev,
				Summary: "bert-jan created an access key for stratus-red-team-backdoor-u-user",
			}}}
		}},
		{"burst", func(t testing.TB) *Group {
			evs := loadEvents(t, "get-password-data-denied.jsonl")
			g := &Group{
				Key: "ops/rule=unauthorized-api-call/principal=stratus-red-team-ec2-get-password-data-role", Receiver: "ops",
				Count:  300,
				Labels: map[string]string{"rule": "unauthorized-api-call", "principal": "stratus-red-team-ec2-get-password-data-role"},
			}
			for i, ev := range evs {
				a := &event.Alert{Rule: ruleUnauthorized, Event: ev,
					Summary: "GetPasswordData denied (Client.UnauthorizedOperation) for " + ev.Principal().Name}
				if i == 0 {
					a.Annotation = "300 failures in 5m0s"
				}
				g.Alerts = append(g.Alerts, a)
			}
			return g
		}},
		{"folded", foldedRootLogin},
	}
}

// foldedRootLogin is what the pipeline sends for a root sign-in that three
// rules and a detector fired on: one alert with the others folded in, each
// rule carrying Japanese text as the built-in packs do.
func foldedRootLogin(t testing.TB) *Group {
	ev := loadEvent(t, "root-console-login.json")
	ja := func(title, desc string) map[string]event.LocalText {
		return map[string]event.LocalText{"ja": {Title: title, Description: desc}}
	}
	primary := ruleRootLogin
	primary.Locales = ja("ルートユーザーがコンソールにサインイン", "ルートユーザーは何でもできます。予定されたサインインか確認してください。")
	a := &event.Alert{
		Rule: primary, Event: ev,
		Summary:   "Root console sign-in Success from 192.0.2.0",
		Summaries: map[string]string{"ja": "192.0.2.0 からルートユーザーがサインイン (MFA: No)"},
		Context:   map[string]string{"network": "192.0.2.0/24", "location": "Tokyo, JP", "as_org": "Example Net"},
		Also: []*event.Alert{
			{Rule: event.RuleInfo{ID: "root-activity", Title: "Root user activity", Severity: event.SeverityHigh,
				Tags: []string{"cis-1.7"}, Locales: ja("ルートユーザーの操作", "")}, Event: ev,
				Summary: "Root ran ConsoleLogin", Summaries: map[string]string{"ja": "ルートユーザーが ConsoleLogin を実行"}},
			{Rule: event.RuleInfo{ID: "signin-new-network", Title: "Sign-in from a new network", Severity: event.SeverityMedium,
				Locales: ja("初めてのネットワークからのサインイン", "")}, Event: ev},
			{Rule: event.RuleInfo{ID: "cis-cloudwatch-1", Title: "CIS CloudWatch.1: root user usage", Severity: event.SeverityLow,
				Tags: []string{"cis-cloudwatch-1"}, Locales: ja("CIS CloudWatch.1: ルートユーザーの使用", "")}, Event: ev},
		},
	}
	return &Group{Key: "ops/rule=root-console-login", Receiver: "ops", Count: 1, Alerts: []*event.Alert{a}}
}

func newTestRenderer(t testing.TB, locale string) *Renderer {
	t.Helper()
	o := Options{
		Locale:        locale,
		Location:      time.UTC,
		AccountNames:  map[string]string{"111122223333": "prod", "123837392027": "sandbox"},
		SlackChannels: map[string]string{"ops": "C0SECURITY"},
		Now:           func() time.Time { return fixedNow },
	}
	if locale == "ja" {
		tokyo, err := time.LoadLocation("Asia/Tokyo")
		if err != nil {
			t.Fatal(err)
		}
		o.Location = tokyo
	}
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// goldenFiles turns a payload into the files stored for it.
func goldenFiles(t *testing.T, kind string, p *Payload) map[string][]byte {
	t.Helper()
	indent := func(b []byte) []byte {
		var buf bytes.Buffer
		if err := json.Indent(&buf, b, "", "  "); err != nil {
			t.Fatalf("%s body is not JSON: %v\n%s", kind, err, b)
		}
		buf.WriteByte('\n')
		return buf.Bytes()
	}
	switch kind {
	case KindSlack, KindSlackBot, KindTeams, KindWebhook:
		return map[string][]byte{"json": indent(p.Body)}
	case KindSNS:
		b, err := json.Marshal(struct {
			Subject    string            `json:"subject"`
			Attributes map[string]string `json:"attributes"`
			Message    json.RawMessage   `json:"message"`
		}{p.Subject, p.Attributes, p.Body})
		if err != nil {
			t.Fatal(err)
		}
		return map[string][]byte{"json": indent(b), "txt": []byte(p.Text)}
	case KindEmail:
		return map[string][]byte{"txt": []byte("Subject: " + p.Subject + "\n\n" + p.Text), "html": []byte(p.HTML)}
	case KindStdout:
		if !json.Valid(p.Body) || bytes.Count(p.Body, []byte("\n")) != 1 || !bytes.HasSuffix(p.Body, []byte("\n")) {
			t.Fatalf("stdout body is not one JSON line:\n%s", p.Body)
		}
		return map[string][]byte{"json": p.Body, "txt": []byte(p.Text)}
	}
	t.Fatalf("no golden form for kind %q", kind)
	return nil
}

func TestGolden(t *testing.T) {
	for _, locale := range []string{"en", "ja"} {
		r := newTestRenderer(t, locale)
		for _, c := range goldenCases() {
			for _, kind := range Kinds() {
				t.Run(c.name+"/"+kind+"/"+locale, func(t *testing.T) {
					p, err := r.Render(kind, "ops", c.group(t))
					if err != nil {
						t.Fatal(err)
					}
					if p.Kind != kind || p.Receiver != "ops" {
						t.Errorf("payload names kind %q receiver %q", p.Kind, p.Receiver)
					}
					for ext, got := range goldenFiles(t, kind, p) {
						checkGolden(t, filepath.Join("testdata", "golden", c.name+"."+kind+"."+locale+"."+ext), got)
					}
				})
			}
		}
	}
}

// checkGolden compares got with the golden file at path, or with -update
// writes it there.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/render -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", path, got)
	}
}

// TestGoldenJSON checks that every stored JSON golden parses, so a hand edit
// cannot leave a broken example behind.
func TestGoldenJSON(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 4*6*2 {
		t.Fatalf("found %d JSON goldens, want at least %d", len(paths), 4*6*2)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(b) {
			t.Errorf("%s is not valid JSON", p)
		}
		if strings.Contains(p, ".sns.") {
			var m struct {
				Message struct{ Default, Email string }
			}
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if !json.Valid([]byte(m.Message.Default)) {
				t.Errorf("%s: the SNS default message is not JSON", p)
			}
		}
	}
}

// A rule's text in the receiver's locale replaces its English title,
// description and summary; a rule without it keeps the English.
func TestRuleTextInLocale(t *testing.T) {
	ev := event.MustParse(`{"eventName":"ConsoleLogin","eventTime":"2026-11-23T01:15:00Z","recipientAccountId":"111122223333","userIdentity":{"type":"Root"},"sourceIPAddress":"198.51.100.7"}`)
	a := &event.Alert{
		Rule: event.RuleInfo{ID: "root-console-login", Title: "Root user signed in", Severity: event.SeverityCritical,
			Locales: map[string]event.LocalText{"ja": {Title: "ルートユーザーがサインインしました"}}},
		Event:     ev,
		Summary:   "Root signed in from 198.51.100.7",
		Summaries: map[string]string{"ja": "198.51.100.7 からルートユーザーがサインインしました"},
	}
	for _, tc := range []struct{ locale, title, summary string }{
		{"ja", "ルートユーザーがサインインしました", "198.51.100.7 からルートユーザーがサインインしました"},
		{"en", "Root user signed in", "Root signed in from 198.51.100.7"},
	} {
		p, err := newTestRenderer(t, tc.locale).Render("slack", "ops", &Group{Key: "k", Receiver: "ops", Alerts: []*event.Alert{a}, Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		body := string(p.Body)
		if !strings.Contains(body, tc.title) || !strings.Contains(body, tc.summary) {
			t.Errorf("%s message lacks %q or %q:\n%s", tc.locale, tc.title, tc.summary, body)
		}
	}
}
