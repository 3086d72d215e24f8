package rule

import (
	"context"
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/valyala/fastjson"
)

// TestResult is the outcome of one rule test.
type TestResult struct {
	Rule *Rule
	Test *Test
	// Fired reports whether the rule fired on the test's event.
	Fired bool
	// Annotation is the annotation of the match, if it fired.
	Annotation string
	// Err is set when the test could not run or the rule failed on the
	// event (an unreadable file, an event that is not JSON, a jq error).
	Err error
}

// Passed reports whether the rule did what the test expects.
func (t TestResult) Passed() bool { return t.Err == nil && t.Fired == t.Test.Alert }

// Where returns "file:line" of the test.
func (t TestResult) Where() string { return fmt.Sprintf("%s:%d", t.Rule.File, t.Test.Line) }

// Failure says why the test failed, as one sentence naming the rule file
// line, rule and test; "" when it passed.
func (t TestResult) Failure() string {
	if t.Passed() {
		return ""
	}
	prefix := fmt.Sprintf("%s: rule %q test %q: ", t.Where(), t.Rule.ID, t.Test.Name)
	switch {
	case t.Err != nil:
		return prefix + t.Err.Error()
	case t.Test.Alert:
		return prefix + "expected an alert, got none"
	case t.Annotation != "":
		return prefix + fmt.Sprintf("expected no alert, got one (annotation %q)", t.Annotation)
	default:
		return prefix + "expected no alert, got one"
	}
}

// RunTests runs every test of every rule, in order, and returns one result
// per test. Each test's event is matched both by the rule alone and through a
// Set holding the rule, so a rule whose event-name index would hide a match
// fails its test.
func RunTests(ctx context.Context, rules []*Rule) []TestResult {
	var out []TestResult
	for _, r := range rules {
		set, setErr := NewSet(r)
		for i := range r.Tests {
			t := &r.Tests[i]
			res := TestResult{Rule: r, Test: t}
			if setErr != nil {
				res.Err = setErr
				out = append(out, res)
				continue
			}
			ev, err := t.load()
			if err != nil {
				res.Err = err
				out = append(out, res)
				continue
			}
			fired, ann, err := r.Match(ctx, ev)
			if err != nil {
				res.Err = err
				out = append(out, res)
				continue
			}
			res.Fired, res.Annotation = fired, ann
			var indexed bool
			if err := set.Match(ctx, ev, func(*Rule, string) bool { indexed = true; return true }); err != nil {
				res.Err = err
			} else if indexed != fired {
				names, _ := r.matcher.EventNames()
				res.Err = fmt.Errorf("the rule fired=%v on its own but fired=%v through the event-name index (pinned to %s); the %s language reports the wrong event names", fired, indexed, quoteList(names), r.Language)
			}
			out = append(out, res)
		}
	}
	return out
}

// load returns the test's event.
func (t *Test) load() (*event.Event, error) {
	raw, name := t.Event, "inline event"
	if t.open != nil {
		b, err := t.open()
		if err != nil {
			return nil, fmt.Errorf("cannot read event file: %w", err)
		}
		raw, name = b, t.path
	}
	if raw == nil {
		return nil, fmt.Errorf("test has no event")
	}
	return testEvent(raw, name)
}

// testEvent reads a test event: one CloudTrail record, a log file holding
// exactly one record, or an EventBridge event whose detail is the record.
func testEvent(raw []byte, name string) (*event.Event, error) {
	v, err := fastjson.ParseBytes(raw)
	if err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %w", name, err)
	}
	if v.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("%s is not a JSON object", name)
	}
	if recs := v.Get("Records"); recs != nil && recs.Type() == fastjson.TypeArray {
		a, _ := recs.Array()
		if len(a) != 1 {
			return nil, fmt.Errorf("%s holds %d records; a test event file holds one event", name, len(a))
		}
		v = a[0]
	} else if d := v.Get("detail"); d != nil && d.Type() == fastjson.TypeObject && v.Get("detail-type") != nil {
		v = d
	}
	return event.Parse(v.MarshalTo(nil), event.Origin{Input: name})
}
