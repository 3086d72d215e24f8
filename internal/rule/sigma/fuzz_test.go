package sigma

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/event"
)

var fuzzEvents = []string{
	ev,
	`{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"}}`,
	`{"eventName":"consolelogin","userIdentity":{"type":"Root"}}`,
	`{"eventName":["StopLogging"],"eventSource":"cloudtrail.amazonaws.com"}`,
	`{"eventName":5,"errorCode":null}`,
	`{"eventName":"StopLogging","eventSource":"cloudtrail.amazonaws.com","errorCode":"AccessDenied"}`,
}

func seedEvents(tb testing.TB) []*event.Event {
	var out []*event.Event
	for _, s := range fuzzEvents {
		e, err := event.Parse([]byte(s), event.Origin{Input: "seed"})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// checkRule matches a compiled rule against the seed events and checks that
// a pinned rule only matches events whose eventName is a text folding to a
// pinned name, which is what lets the rule set's index skip it otherwise.
func checkRule(t *testing.T, r *Rule, evs []*event.Event) {
	names, pinned := r.EventNames()
	for _, e := range evs {
		if !r.Match(e) || !pinned {
			continue
		}
		v := e.Value().Get("eventName")
		b, _ := v.StringBytes()
		ok := false
		for _, n := range names {
			if bytes.Equal(AppendFold(nil, b), AppendFold(nil, []byte(n))) {
				ok = true
			}
		}
		if v == nil || v.Type().String() != "string" || !ok {
			t.Fatalf("rule pinned to %q matched an event named %s", names, v)
		}
	}
}

// FuzzParse: no document makes Parse or Match panic, every refusal is a
// list of *Error with a line inside the document, and pinned event names are
// sound on the seed events.
func FuzzParse(f *testing.F) {
	f.Add(doc("    s:\n        eventName: StopLogging\n    condition: s\n"))
	f.Add(doc("    s:\n        eventName|contains|all: [Stop, Logging]\n        userAgent|re|i: 'aws-cli/[0-9]+'\n    f:\n        - sourceIPAddress|cidr: 10.0.0.0/8\n        - errorCode: null\n    condition: s and not 1 of f*\n"))
	f.Add(doc("    s:\n        eventName: ['Console*', 'a\\*b?']\n        x|exists: true\n        y|gt: 3\n        z|fieldref|endswith: w\n    condition: all of them or (s)\n"))
	f.Add("title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: [{eventName: A}, {eventName: B}], condition: [s, not s]}\n")
	f.Add(doc("    keywords:\n        - evil\n    condition: keywords\n"))
	f.Add("title: [")
	evs := seedEvents(f)
	f.Fuzz(func(t *testing.T, src string) {
		r, err := Parse([]byte(src))
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T %v is not Errors", err, err)
			}
			lines := strings.Count(src, "\n") + strings.Count(src, "\r") + 2
			for _, e := range es {
				if e.Line < 1 || e.Line > lines {
					t.Fatalf("error line %d outside a %d-line document: %v", e.Line, lines, e)
				}
			}
			return
		}
		checkRule(t, r, evs)
	})
}

// FuzzCondition: any condition text over a fixed detection parses or is
// refused without panicking, and compiled conditions stay sound.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{
		"sel_a", "sel_a and not filter", "1 of sel_* and not 1 of filter*", "all of them", "(sel_a or sel_b) and _x",
		"not not sel_a", "sel_a | count() > 5", "1 of", "((((sel_a", "sel_a and", "all of sel_x*", "Sel_a", "sel_a AND sel_b",
	} {
		f.Add(s)
	}
	evs := seedEvents(f)
	const detection = "    sel_a:\n        eventName: StopLogging\n    sel_b:\n        eventName: ConsoleLogin\n    filter:\n        errorCode|exists: true\n    _x:\n        eventSource: cloudtrail.amazonaws.com\n    condition: "
	f.Fuzz(func(t *testing.T, cond string) {
		if strings.ContainsAny(cond, "\n\r'\"#:{}[]&*!|>%@`,?-") && !strings.Contains(cond, "*") {
			return // kept off YAML syntax; the condition language is the target
		}
		src := doc(detection + "'" + strings.ReplaceAll(cond, "'", "''") + "'\n")
		r, err := Parse([]byte(src))
		if err != nil {
			return
		}
		checkRule(t, r, evs)
	})
}

// FuzzGlob compares the glob matcher with a regular expression built from
// the same value.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{{"a*b", "aXb"}, {"*a*a*", "aa"}, {"?b*", "éb"}, {`a\*`, "a*"}, {"a?*?c", "abc"}, {"*", ""}, {"", ""}, {"A*", "abc"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, text string) {
		if !utf8.ValidString(pat) || !utf8.ValidString(text) {
			return // the reference regexp reads valid UTF-8 only
		}
		g := parseGlob(pat, false)
		var re strings.Builder
		re.WriteString(`(?s)^`)
		for _, tk := range g.toks {
			switch tk.kind {
			case tokStar:
				re.WriteString(`.*`)
			case tokOne:
				re.WriteString(`(?:.|[\x80-\xff])`)
			case tokLit:
				re.WriteString(regexp.QuoteMeta(string(tk.lit)))
			}
		}
		re.WriteString(`$`)
		folded := AppendFold(nil, []byte(text))
		want := regexp.MustCompile(re.String()).Match(folded)
		if got := g.match(folded); got != want {
			t.Fatalf("glob %q on %q: %v, regexp %s says %v", pat, text, got, re.String(), want)
		}
		if isASCII([]byte(text)) {
			if got := g.matchASCII([]byte(text)); got != want {
				t.Fatalf("glob %q on ASCII %q without folding: %v, regexp %s says %v", pat, text, got, re.String(), want)
			}
		}
	})
}
