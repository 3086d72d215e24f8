package rule

import (
	"context"
	"errors"
	"fmt"
	"text/template"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/rule/jq"
)

// Rule is one compiled detection rule.
type Rule struct {
	// ID is the rule's kebab-case id, unique across every loaded rule.
	ID          string
	Title       string
	Severity    event.Severity
	Description string
	// Tags are free labels (CIS controls, MITRE techniques) routes can match.
	Tags []string
	// Refs point at where the rule comes from or what it implements.
	Refs []string
	// Summary is the compiled summary template (dot is *event.Event), or nil.
	Summary *template.Template
	// Pack is the name of the file the rule came from, without extension.
	Pack string
	// File and Line say where the rule is written.
	File string
	Line int
	// Language names the match language: "pattern", "filter" or "jq".
	Language string
	// Source is the match text as compiled (a pattern mapping as JSON).
	Source string
	// Tests are the rule's own test cases.
	Tests []Test
	// Locales holds the rule's text in other languages, keyed by locale
	// ("ja"); the fields above are the English text.
	Locales map[string]*Local
	// Threshold, when set, makes the rule alert only when its matches for
	// one key reach a count within a window; nil alerts on every match.
	Threshold *detect.ThresholdSpec

	matcher Matcher
	summary *summaryTemplate
}

// Where returns "file:line" for messages about the rule.
func (r *Rule) Where() string { return fmt.Sprintf("%s:%d", r.File, r.Line) }

// Local is a rule's text in one locale. Empty fields fall back to the
// English text.
type Local struct {
	Title       string
	Description string
	// Summary is the compiled summary template in this locale, or nil.
	Summary *template.Template

	summary *summaryTemplate
}

// Locales lists the locales a rule may carry text in besides English.
var Locales = []string{"ja"}

// Info returns what an alert carries of the rule.
func (r *Rule) Info() event.RuleInfo {
	info := event.RuleInfo{
		ID:          r.ID,
		Title:       r.Title,
		Severity:    r.Severity,
		Description: r.Description,
		Tags:        r.Tags,
		Refs:        r.Refs,
	}
	if len(r.Locales) > 0 {
		info.Locales = make(map[string]event.LocalText, len(r.Locales))
		for loc, l := range r.Locales {
			info.Locales[loc] = event.LocalText{Title: l.Title, Description: l.Description}
		}
	}
	return info
}

// Matcher returns the rule's compiled match.
func (r *Rule) Matcher() Matcher { return r.matcher }

// Match reports whether the rule matches ev, with the match's annotation.
func (r *Rule) Match(ctx context.Context, ev *event.Event) (matched bool, annotation string, err error) {
	in := NewInput(ev)
	return r.matcher.Match(ctx, in)
}

// RenderSummary executes the summary template on ev. A rule without a
// template renders "".
func (r *Rule) RenderSummary(ev *event.Event) (string, error) {
	return r.renderSummary(&renderCtx{ev: ev})
}

func (r *Rule) renderSummary(et *renderCtx) (string, error) {
	if r.Summary == nil {
		return "", nil
	}
	st := r.summary
	if st == nil || st.tmpl != r.Summary {
		st = &summaryTemplate{tmpl: r.Summary} // set by hand: run it as it is
	}
	s, err := st.renderIn(et)
	if err != nil {
		return "", fmt.Errorf("rule %q: summary: %w", r.ID, err)
	}
	return s, nil
}

// RenderSummaries renders the rule's summary in every locale it carries one
// for, keyed by locale; nil when it carries none.
func (r *Rule) RenderSummaries(ev *event.Event) (map[string]string, error) {
	return r.renderSummaries(&renderCtx{ev: ev})
}

func (r *Rule) renderSummaries(et *renderCtx) (map[string]string, error) {
	var (
		out  map[string]string
		errs []error
	)
	for loc, l := range r.Locales {
		if l.Summary == nil {
			continue
		}
		st := l.summary
		if st == nil || st.tmpl != l.Summary {
			st = &summaryTemplate{tmpl: l.Summary}
		}
		s, err := st.renderIn(et)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %q: summary (%s): %w", r.ID, loc, err))
			continue
		}
		if out == nil {
			out = make(map[string]string, len(r.Locales))
		}
		out[loc] = s
	}
	return out, errors.Join(errs...)
}

// Test is one of a rule's test cases: an event and whether the rule should
// fire on it.
type Test struct {
	Name string
	// Alert is the expected outcome.
	Alert bool
	// Event is the inline event as JSON, when the test gives one.
	Event []byte
	// File is the event file as written in the rule file, when the test
	// names one; it is read relative to the rule file.
	File string
	// Line is where the test is written in the rule file.
	Line int

	open func() ([]byte, error) // reads File
	path string                 // File resolved, for messages
}

// Matcher is a compiled match in one of the rule languages.
type Matcher interface {
	// Match reports whether in's event matches. A jq rule's non-boolean
	// result is the annotation; the other languages annotate nothing.
	Match(ctx context.Context, in *Input) (matched bool, annotation string, err error)
	// EventNames returns the eventName values outside which the match can
	// never succeed; ok is false when the match does not pin the name.
	EventNames() (names []string, ok bool)
}

// Input is one event on its way through the matchers. Views of the event
// that a language builds (jq's decoded value) are made once and shared by
// every rule of that language.
type Input struct {
	Event *event.Event

	jq *jq.Value
}

// NewInput wraps ev for matching.
func NewInput(ev *event.Event) *Input { return &Input{Event: ev} }

// JQ returns the event's conversion for jq, shared by every jq rule that
// runs on it; fields are converted as the queries need them.
func (in *Input) JQ() *jq.Value {
	if in.jq == nil {
		in.jq = jq.NewValue(in.Event)
	}
	return in.jq
}
