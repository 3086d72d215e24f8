package rule

import (
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/rules"
)

func TestSummaryDirectMatchesTemplate(t *testing.T) {
	rs, err := Load(Selection{Builtin: rules.FS})
	if err != nil {
		t.Fatal(err)
	}
	extra := []string{
		`{{.Name}} by {{.Principal.Name}} ({{.Principal.Type}}) from {{.SourceIP}}`,
		`{{.Field "requestParameters.userName"}} / {{.Field "responseElements"}} / {{.Field "missing.path"}}`,
		`{{.Principal.ARN}} {{.Principal.RoleName}}/{{.Principal.SessionName}} {{.LoginResult}} {{.ConsoleURL}}`,
		`no actions at all`,
		`{{.Principal}}{{if .ErrorCode}} refused: {{.ErrorCode}}{{else}} ok{{if .Principal.ARN}} as {{.Principal.ARN}}{{end}}{{end}}`,
	}
	for i, src := range extra {
		tm, err := compileSummary("extra", src)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, &Rule{ID: "extra-" + string(rune('a'+i)), Summary: tm, summary: &summaryTemplate{tmpl: tm, parts: direct(tm)}})
	}
	var evs []*event.Event
	for i, raw := range invictusSample(t, 400) {
		ev, err := event.Parse(raw, event.Origin{Index: i})
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	evs = append(evs, event.MustParse(loginEvent), event.MustParse(createEvent), event.MustParse(`{}`))
	directCount := 0
	for _, r := range rs {
		if r.Summary == nil {
			continue
		}
		if r.summary.parts == nil {
			t.Logf("rule %s: summary runs in text/template: %s", r.ID, r.Summary.Root)
			continue
		}
		directCount++
		for _, ev := range evs {
			got, err := r.summary.render(ev)
			var want strings.Builder
			werr := r.Summary.Execute(&want, ev)
			if got != want.String() || (err == nil) != (werr == nil) {
				t.Fatalf("rule %s on %s: direct %q %v; template %q %v", r.ID, ev, got, err, want.String(), werr)
			}
		}
	}
	if directCount < len(extra) {
		t.Errorf("only %d summaries rendered directly", directCount)
	}
}
