package rule

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/rule/jq"
	"github.com/trailwatch/trailwatch/internal/rule/sigma"
	"github.com/trailwatch/trailwatch/internal/state"
)

// Set is a compiled group of rules that matches an event in one pass. Rules
// whose match pins the event name (every pattern, filter, jq query or Sigma
// rule that requires eventName to be one of a few values) are indexed by
// that name, so an event is only tried against the rules for its name plus
// the rules that do not pin one. A rule that names no event but pins
// another field (a user name, an error code, an event source, a source
// address prefix; see pin) is indexed by that field in the same way. The
// cost per event grows with the number of rules that can match it, not
// with the size of the set.
//
// The index compares texts case-insensitively (sigma.AppendFold), because
// Sigma compares values that way: a Sigma rule for StopLogging matches an
// event named stoplogging, and the index must offer it that event.
// Languages that compare exactly are offered a few events they then do not
// match. An event is never kept from a rule that would match it; a rule
// that would stop with an error on an event it cannot match (a jq query on
// a field of the wrong type) is not run on it, so that error is not
// reported.
//
// A Set is safe for concurrent use.
type Set struct {
	rules []*Rule
	// infos are the rules' alert texts, made once: every alert of a rule
	// shares its tags, references and locale texts, which no one changes.
	infos []event.RuleInfo
	// byName holds, for each pinned event name (folded), the numbers of
	// that name's rules merged with the rules in always, in load order.
	byName map[string][]int32
	// always holds the rules indexed by nothing, tried on every event.
	always []int32
	// fields index the rules that pin no event name by another field.
	fields []*fieldIndex
	// counter counts the matches of rules with a threshold; nil when no
	// rule has one.
	counter *detect.Thresholds
}

// NewSet compiles rules into a Set. Rule ids must be unique.
func NewSet(rules ...*Rule) (*Set, error) {
	if err := Unique(rules); err != nil {
		return nil, err
	}
	s := &Set{rules: slices.Clone(rules), infos: make([]event.RuleInfo, len(rules)), byName: map[string][]int32{}}
	if hasThresholds(rules) {
		s.counter = detect.NewThresholds(state.NewMemory(nil), nil)
	}
	var (
		named = make([][]string, len(rules)) // folded event names of each rule
		pins  = make([][]pin, len(rules))    // of the rules that name no event
		count = map[string]int{}             // rules pinned by each field
	)
	for i, r := range rules {
		if r.matcher == nil {
			return nil, fmt.Errorf("%s: rule %q has no compiled match; load rules with LoadFile, LoadFS or Load", r.Where(), r.ID)
		}
		s.infos[i] = r.Info()
		if names, ok := r.matcher.EventNames(); ok {
			folded := []string{}
			for _, n := range names {
				if f := foldName(n); !slices.Contains(folded, f) {
					folded = append(folded, f)
					s.byName[f] = nil
				}
			}
			named[i] = folded
			continue
		}
		pins[i] = usablePins(r.matcher)
		seen := map[string]bool{}
		for _, p := range pins[i] {
			if k := pathKey(p.path); !seen[k] {
				seen[k] = true
				count[k]++
			}
		}
	}
	// A rule that names no event is indexed by its best pin on a field
	// that enough rules pin; the others are tried on every event.
	always := make([]bool, len(rules))
	for i := range rules {
		if named[i] != nil {
			continue
		}
		p, ok := bestPin(pins[i], func(p pin) bool { return count[pathKey(p.path)] >= minFieldRules })
		if !ok {
			always[i] = true
			s.always = append(s.always, int32(i))
			continue
		}
		s.field(p.path).add(p, int32(i))
	}
	for _, fi := range s.fields {
		fi.build()
	}
	// Build each name's list in load order so alerts come out in the order
	// the rules are written, whatever the index.
	for i := range rules {
		switch {
		case named[i] != nil:
			for _, n := range named[i] {
				s.byName[n] = append(s.byName[n], int32(i))
			}
		case always[i]:
			for n := range s.byName {
				s.byName[n] = append(s.byName[n], int32(i))
			}
		}
	}
	return s, nil
}

// field returns the index of the field at path, made on first use.
func (s *Set) field(path []string) *fieldIndex {
	for _, fi := range s.fields {
		if slices.Equal(fi.path, path) {
			return fi
		}
	}
	fi := &fieldIndex{path: slices.Clone(path)}
	s.fields = append(s.fields, fi)
	return fi
}

// Rules returns the set's rules in load order.
func (s *Set) Rules() []*Rule { return s.rules }

// Len returns the number of rules.
func (s *Set) Len() int { return len(s.rules) }

// foldName is the index key of an event name.
func foldName(n string) string { return string(sigma.AppendFold(nil, []byte(n))) }

// candidates returns the numbers of the rules that can match ev, in load
// order: those for its name (or the unindexed ones) merged with those its
// other indexed fields select. a, b and lists are scratch space.
func (s *Set) candidates(ev *event.Event, a, b []int32, lists [][]int32) []int32 {
	root := ev.Value()
	base := s.always
	var buf [64]byte
	if rs, ok := s.byName[string(sigma.AppendFold(buf[:0], root.GetStringBytes("eventName")))]; ok {
		base = rs
	}
	if len(s.fields) == 0 {
		return base
	}
	lists = lists[:0]
	for _, fi := range s.fields {
		lists = fi.hits(root, lists)
	}
	if len(lists) == 0 {
		return base
	}
	return mergeRules(base, lists, a, b)
}

// Match tries ev against every rule that can match it and calls yield for
// each match, in load order, with the match's annotation. yield returns false
// to stop early. A rule that fails (a jq runtime error, a timeout) does not
// stop the others; the failures are returned joined, each naming the rule and
// the event's origin.
func (s *Set) Match(ctx context.Context, ev *event.Event, yield func(r *Rule, annotation string) bool) error {
	return s.match(ctx, ev, func(o int32, ann string) bool { return yield(s.rules[o], ann) })
}

// match is Match yielding the rule's number.
func (s *Set) match(ctx context.Context, ev *event.Event, yield func(o int32, annotation string) bool) error {
	var (
		a, b  [64]int32
		lists [8][]int32
	)
	rs := s.candidates(ev, a[:0], b[:0], lists[:0])
	if len(rs) == 0 {
		return nil
	}
	var (
		in   *Input // made when a language needs it (jq)
		errs []error
	)
	for _, o := range rs {
		var (
			r   = s.rules[o]
			ok  bool
			ann string
			err error
		)
		// The built-in event languages need only the event; calling them
		// directly keeps the per-event path free of allocations.
		switch m := r.matcher.(type) {
		case patternMatcher:
			ok = m.p.Match(ev)
		case filterMatcher:
			ok = m.f.Match(ev)
		case sigmaMatcher:
			ok = m.r.Match(ev)
		case jqMatcher:
			// Most queries are decided on the parsed event; the others
			// run in gojq on the event's shared conversion.
			if d, dann := m.q.Quick(ev); d != jq.Undecided {
				ok, ann = d == jq.Matched, dann
				break
			}
			if in == nil {
				in = NewInput(ev)
			}
			ok, ann, err = m.q.MatchValue(ctx, in.JQ())
		default:
			if in == nil {
				in = NewInput(ev)
			}
			ok, ann, err = r.matcher.Match(ctx, in)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %q on %s: %w", r.ID, ev.Origin(), err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if ok && !yield(o, ann) {
			break
		}
	}
	return errors.Join(errs...)
}

// Alerts returns an alert for each rule that matches ev. The alerts share one
// clone of ev, made only when something matched, so they may be kept after
// ev's parser moves on. A rule with a threshold alerts only on the match
// that reaches it (see WithStore). Summary templates that fail to render
// leave the summary empty and are reported in the returned error with the
// rule failures; the alerts are returned all the same.
func (s *Set) Alerts(ctx context.Context, ev *event.Event) ([]*event.Alert, error) {
	var alerts []*event.Alert
	err := s.alerts(ctx, ev, true, func(a *event.Alert) bool {
		alerts = append(alerts, a)
		return true
	})
	return alerts, err
}

// Each calls yield with an alert for each rule that matches ev, like Alerts
// but without cloning: the alert's Event is ev itself, valid only as long as
// ev is, so the alert must be used (printed, sent) before yield returns or
// its Event cloned. Streaming consumers such as `trailwatch check` use it to
// avoid a copy of every event that fires.
func (s *Set) Each(ctx context.Context, ev *event.Event, yield func(*event.Alert) bool) error {
	return s.alerts(ctx, ev, false, yield)
}

func (s *Set) alerts(ctx context.Context, ev *event.Event, keep bool, yield func(*event.Alert) bool) error {
	m, err := s.Matches(ctx, ev)
	return errors.Join(err, s.render(ctx, ev, m, keep, yield))
}

// Matched is what the rules of a Set found on one event without counting
// anything: the rules that match it, in the order they are written, and
// their annotations. The zero Matched is no match.
type Matched struct {
	rules []int32
	anns  []string
}

// Len returns the number of rules that matched.
func (m Matched) Len() int { return len(m.rules) }

// Matches is the half of Alerts that keeps no state: it tries ev against
// the rules and returns those that match, with the rule failures joined.
// It is safe to call on many goroutines at once, for different events;
// AlertsOf or EachOf then makes the alerts, in input order, on one
// goroutine, since a rule with a threshold counts its matches in order.
// Alerts(ctx, ev) is AlertsOf(ctx, ev, Matches(ctx, ev)).
func (s *Set) Matches(ctx context.Context, ev *event.Event) (Matched, error) {
	var m Matched
	err := s.match(ctx, ev, func(o int32, ann string) bool {
		m.rules = append(m.rules, o)
		m.anns = append(m.anns, ann)
		return true
	})
	return m, err
}

// AlertsOf returns the alerts of what Matches found on ev, sharing one
// clone of ev as Alerts does; a rule with a threshold counts the match and
// alerts only when it reaches it. m must come from this Set or one made
// from it (WithStore, WithoutThresholds).
func (s *Set) AlertsOf(ctx context.Context, ev *event.Event, m Matched) ([]*event.Alert, error) {
	var alerts []*event.Alert
	err := s.render(ctx, ev, m, true, func(a *event.Alert) bool {
		alerts = append(alerts, a)
		return true
	})
	return alerts, err
}

// EachOf is AlertsOf without the clone, as Each is Alerts without it.
func (s *Set) EachOf(ctx context.Context, ev *event.Event, m Matched, yield func(*event.Alert) bool) error {
	return s.render(ctx, ev, m, false, yield)
}

// render makes the alerts of m: thresholds counted, summaries rendered.
func (s *Set) render(ctx context.Context, ev *event.Event, m Matched, keep bool, yield func(*event.Alert) bool) error {
	var (
		target = ev
		cloned bool
		errs   []error
		text   *renderCtx // what the summaries of ev's alerts share
	)
	for i, o := range m.rules {
		var (
			r     = s.rules[o]
			ann   = m.anns[i]
			local map[string]string
			facts map[string]string
		)
		if r.Threshold != nil && s.counter != nil {
			var (
				ok  bool
				err error
			)
			ann, local, facts, ok, err = s.counted(ctx, r, ev, ann)
			if err != nil {
				errs = append(errs, err)
			}
			if !ok {
				continue
			}
		}
		if keep && !cloned {
			target, cloned = ev.Clone(), true
		}
		if text == nil || text.ev != target {
			text = &renderCtx{ev: target}
		}
		sum, err := r.renderSummary(text)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ev.Origin(), err))
		}
		summaries, err := r.renderSummaries(text)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ev.Origin(), err))
		}
		if !yield(&event.Alert{Rule: s.infos[o], Event: target, Summary: sum, Summaries: summaries, Annotation: ann, Annotations: local, Context: facts}) {
			break
		}
	}
	return errors.Join(errs...)
}
