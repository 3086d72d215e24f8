package rule

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
)

const setRules = `rules:
  - id: console-login
    title: Console login
    severity: low
    summary: '{{.Principal.Name}} signed in from {{.SourceIP}} ({{.Field "additionalEventData.MFAUsed"}} MFA){{.Field "nope"}}'
    pattern: {eventName: [ConsoleLogin]}
  - id: root-anything
    title: Root activity
    severity: high
    summary: 'root {{.Name}} in {{.Region}}'
    filter: '{ $.userIdentity.type = Root }'
  - id: login-arn
    title: Login ARN
    severity: info
    jq: 'select(.eventName == "ConsoleLogin") | .userIdentity.arn'
  - id: create-user
    title: User created
    severity: medium
    summary: 'user {{.Field "requestParameters.userName"}} created by {{.Principal.Name}}'
    filter: '{ $.eventName = CreateUser }'
  - id: jq-object
    title: Object annotation
    severity: info
    jq: 'select(.eventName == "CreateUser") | {user: .requestParameters.userName}'
  - id: jq-fails
    title: Failing jq
    severity: info
    jq: 'select(.eventName == "CreateUser") | .requestParameters.userName + 1'
`

const (
	loginEvent  = `{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","eventType":"AwsConsoleSignIn","sourceIPAddress":"192.0.2.110","awsRegion":"us-east-2","userIdentity":{"type":"IAMUser","userName":"JohnDoe","arn":"arn:aws:iam::111122223333:user/JohnDoe"},"additionalEventData":{"MFAUsed":"No"},"eventID":"e-login"}`
	createEvent = `{"eventName":"CreateUser","eventSource":"iam.amazonaws.com","sourceIPAddress":"198.51.100.7","awsRegion":"us-east-1","userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root"},"requestParameters":{"userName":"backdoor"},"eventID":"e-create"}`
	otherEvent  = `{"eventName":"ListBuckets","userIdentity":{"type":"Root"},"awsRegion":"eu-west-1"}`
)

func mustSet(t testing.TB, src string) *Set {
	t.Helper()
	rules, err := unique(loadFS(fstest.MapFS{"test.yaml": {Data: []byte(src)}}, ".", "rules"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSet(rules...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSetIndex(t *testing.T) {
	s := mustSet(t, setRules)
	cand := func(raw string) string {
		var ids []string
		for _, o := range s.candidates(event.MustParse(raw), nil, nil, nil) {
			ids = append(ids, s.rules[o].ID)
		}
		return strings.Join(ids, ",")
	}
	// A rule pinned to ConsoleLogin never sees CreateUser and the reverse;
	// the unpinned root rule sees every event.
	if got := cand(loginEvent); got != "console-login,root-anything,login-arn" {
		t.Errorf("ConsoleLogin candidates = %s", got)
	}
	if got := cand(createEvent); got != "root-anything,create-user,jq-object,jq-fails" {
		t.Errorf("CreateUser candidates = %s", got)
	}
	if got := cand(otherEvent); got != "root-anything" {
		t.Errorf("ListBuckets candidates = %s", got)
	}
	if got := cand(`{"userIdentity":{"type":"Root"}}`); got != "root-anything" {
		t.Errorf("nameless event candidates = %s", got)
	}
}

func TestSetAlerts(t *testing.T) {
	s := mustSet(t, setRules)
	ctx := context.Background()
	var p event.Parser
	ev, err := p.Parse([]byte(loginEvent), event.Origin{Input: "test.json", Index: 3})
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := s.Alerts(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	got := describe(alerts)
	want := "console-login|low|JohnDoe signed in from 192.0.2.110 (No MFA)|\n" +
		"login-arn|info||arn:aws:iam::111122223333:user/JohnDoe\n"
	if got != want {
		t.Errorf("alerts:\n%s\nwant:\n%s", got, want)
	}
	// The alerts share one clone that survives the parser's next record.
	if alerts[0].Event != alerts[1].Event || alerts[0].Event == ev {
		t.Error("alerts do not share one clone of the event")
	}
	if _, err := p.Parse([]byte(otherEvent), event.Origin{}); err != nil {
		t.Fatal(err)
	}
	if alerts[0].Event.ID() != "e-login" || alerts[0].Event.Origin().Index != 3 {
		t.Errorf("kept event changed: %s", alerts[0].Event)
	}
}

func TestSetReportsRuleErrors(t *testing.T) {
	s := mustSet(t, setRules)
	ev, err := event.Parse([]byte(createEvent), event.Origin{Input: "log.json.gz", Index: 7})
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := s.Alerts(context.Background(), ev)
	// The failing jq rule is reported and the others still fire.
	wantErr := `rule "jq-fails" on log.json.gz record 7: jq: runtime error: cannot add: string ("backdoor") and number (1)`
	if err == nil || err.Error() != wantErr {
		t.Errorf("error = %v; want %s", err, wantErr)
	}
	got := describe(alerts)
	want := "root-anything|high|root CreateUser in us-east-1|\n" +
		"create-user|medium|user backdoor created by root|\n" +
		"jq-object|info||{\"user\":\"backdoor\"}\n"
	if got != want {
		t.Errorf("alerts:\n%s\nwant:\n%s", got, want)
	}
}

func TestSetMatchStops(t *testing.T) {
	s := mustSet(t, setRules)
	n := 0
	err := s.Match(context.Background(), event.MustParse(loginEvent), func(*Rule, string) bool { n++; return false })
	if err != nil || n != 1 {
		t.Errorf("Match called yield %d times, err %v; want once", n, err)
	}
}

func TestSetNoMatchNoClone(t *testing.T) {
	s := mustSet(t, setRules)
	alerts, err := s.Alerts(context.Background(), event.MustParse(`{"eventName":"GetObject"}`))
	if err != nil || alerts != nil {
		t.Errorf("Alerts = %v, %v; want none", alerts, err)
	}
}

func TestNewSetRejects(t *testing.T) {
	rules, err := LoadFile("testdata/signin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewSet(append(rules, rules[0])...)
	want := `testdata/signin.yaml:4: rule "root-console-login": duplicate id; it is already defined at testdata/signin.yaml:4`
	if err == nil || err.Error() != want {
		t.Errorf("NewSet duplicate: %v", err)
	}
	_, err = NewSet(&Rule{ID: "hand-made", File: "x.yaml", Line: 1})
	if err == nil || !strings.Contains(err.Error(), `rule "hand-made" has no compiled match`) {
		t.Errorf("NewSet without matcher: %v", err)
	}
}

func TestSetContextCancelled(t *testing.T) {
	s := mustSet(t, `rules:
  - id: slow
    title: Slow
    severity: info
    jq: 'def f: f; f'
  - id: slow-too
    title: Slow too
    severity: info
    jq: 'def f: f; f'
`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Match(ctx, event.MustParse(loginEvent), func(*Rule, string) bool { return true })
	if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "slow-too") {
		t.Errorf("error = %v; want one cancellation error", err)
	}
}

func describe(alerts []*event.Alert) string {
	var b strings.Builder
	for _, a := range alerts {
		fmt.Fprintf(&b, "%s|%s|%s|%s\n", a.Rule.ID, a.Rule.Severity, a.Summary, a.Annotation)
	}
	return b.String()
}

func FuzzLoad(f *testing.F) {
	f.Add(setRules)
	f.Add(good)
	f.Add("rules:\n  - id: x\n    tests: [{name: a, alert: true, event: {a: 1}}]\n")
	f.Add("rules: [")
	f.Add("")
	f.Add(secretsPack)
	f.Add("pack: {default: false}\n" + good)
	f.Add(good + "    threshold: {count: 20, window: 10m, by: [principal, requestParameters.x]}\n")
	f.Fuzz(func(t *testing.T, src string) {
		_ = packDefault([]byte(src))
		rules, err := parse([]byte(src), "fuzz.yaml", func(rel string) (string, func() ([]byte, error), error) {
			return rel, func() ([]byte, error) { return nil, errors.New("no files") }, nil
		})
		if err != nil {
			return
		}
		s, err := NewSet(rules...)
		if err != nil {
			return // duplicate ids within the file
		}
		for _, r := range rules {
			if r.ID == "" || r.Title == "" || r.matcher == nil {
				t.Fatalf("rule loaded without id, title or match: %+v", r)
			}
			if r.Threshold != nil && len(r.Threshold.Check()) > 0 {
				t.Fatalf("rule loaded with an invalid threshold %+v: %v", r.Threshold, r.Threshold.Check())
			}
		}
		_, _ = s.Alerts(context.Background(), event.MustParse(loginEvent))
	})
}

// invictusSample returns up to n raw records of the Invictus logs.
func invictusSample(t *testing.T, n int) [][]byte {
	t.Helper()
	recs := ingesttest.InvictusRecords(t)
	return recs[:min(n, len(recs))]
}
