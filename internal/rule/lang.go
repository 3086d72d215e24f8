package rule

import (
	"context"

	"github.com/trailwatch/trailwatch/internal/rule/filter"
	"github.com/trailwatch/trailwatch/internal/rule/jq"
	"github.com/trailwatch/trailwatch/internal/rule/pattern"
)

// Language is one way to write a rule's match.
type Language struct {
	// Name is the rule file key: "pattern", "filter", "jq" or "sigma".
	Name string
	// Compile turns the rule's source text into a Matcher.
	Compile func(src string) (Matcher, error)
}

// Languages lists the rule languages in the order rule files name them.
func Languages() []Language {
	return []Language{
		{Name: "pattern", Compile: compilePattern},
		{Name: "filter", Compile: compileFilter},
		{Name: "jq", Compile: compileJQ},
		{Name: "sigma", Compile: compileSigma},
	}
}

func languageNames() []string {
	var names []string
	for _, l := range Languages() {
		names = append(names, l.Name)
	}
	return names
}

type patternMatcher struct{ p *pattern.Pattern }

func compilePattern(src string) (Matcher, error) {
	p, err := pattern.Compile([]byte(src))
	if err != nil {
		return nil, err
	}
	return patternMatcher{p}, nil
}

func (m patternMatcher) Match(_ context.Context, in *Input) (bool, string, error) {
	return m.p.Match(in.Event), "", nil
}

func (m patternMatcher) EventNames() ([]string, bool) { return m.p.EventNames() }

type filterMatcher struct{ f *filter.Filter }

func compileFilter(src string) (Matcher, error) {
	f, err := filter.Compile(src)
	if err != nil {
		return nil, err
	}
	return filterMatcher{f}, nil
}

func (m filterMatcher) Match(_ context.Context, in *Input) (bool, string, error) {
	return m.f.Match(in.Event), "", nil
}

func (m filterMatcher) EventNames() ([]string, bool) { return m.f.EventNames() }

type jqMatcher struct{ q *jq.Query }

func compileJQ(src string) (Matcher, error) {
	q, err := jq.Compile(src)
	if err != nil {
		return nil, err
	}
	return jqMatcher{q}, nil
}

func (m jqMatcher) Match(ctx context.Context, in *Input) (bool, string, error) {
	if r, ann := m.q.Quick(in.Event); r != jq.Undecided {
		return r == jq.Matched, ann, nil
	}
	return m.q.MatchValue(ctx, in.JQ())
}

func (m jqMatcher) EventNames() ([]string, bool) { return m.q.EventNames() }
