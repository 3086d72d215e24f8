package rule

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/rule/sigma"
	"github.com/trailwatch/trailwatch/internal/state"
)

// Set is a compiled group of rules that matches an event in one pass. Rules
// whose match pins the event name (every pattern, filter, jq query or Sigma
// rule that requires eventName to be one of a few values) are indexed by
// that name, so an event is only tried against the rules for its name plus
// the rules that do not pin one. The cost per event grows with the number of
// rules that can match it, not with the size of the set.
//
// The index compares names case-insensitively (sigma.AppendFold), because
// Sigma compares values that way: a Sigma rule for StopLogging matches an
// event named stoplogging, and the index must offer it that event. Languages
// that compare exactly are offered a few events they then do not match.
//
// A Set is safe for concurrent use.
type Set struct {
	rules []*Rule
	// byName holds, for each pinned event name (folded), that name's rules
	// merged with the unpinned ones, in load order.
	byName   map[string][]*Rule
	unpinned []*Rule
	// counter counts the matches of rules with a threshold; nil when no
	// rule has one.
	counter *detect.Thresholds
}

// NewSet compiles rules into a Set. Rule ids must be unique.
func NewSet(rules ...*Rule) (*Set, error) {
	if err := Unique(rules); err != nil {
		return nil, err
	}
	s := &Set{rules: slices.Clone(rules), byName: map[string][]*Rule{}}
	if hasThresholds(rules) {
		s.counter = detect.NewThresholds(state.NewMemory(nil), nil)
	}
	pinned := map[*Rule]bool{}
	for _, r := range rules {
		if r.matcher == nil {
			return nil, fmt.Errorf("%s: rule %q has no compiled match; load rules with LoadFile, LoadFS or Load", r.Where(), r.ID)
		}
		names, ok := r.matcher.EventNames()
		if !ok {
			continue
		}
		pinned[r] = true
		for _, n := range names {
			s.byName[foldName(n)] = nil
		}
	}
	// Build each name's list in load order so alerts come out in the order
	// the rules are written, whatever the index.
	for _, r := range rules {
		if !pinned[r] {
			s.unpinned = append(s.unpinned, r)
			for n := range s.byName {
				s.byName[n] = append(s.byName[n], r)
			}
			continue
		}
		names, _ := r.matcher.EventNames()
		for i := range names {
			names[i] = foldName(names[i])
		}
		for i, n := range names {
			if dup := containsBefore(names, i); dup {
				continue
			}
			s.byName[n] = append(s.byName[n], r)
		}
	}
	return s, nil
}

func containsBefore(names []string, i int) bool {
	for _, n := range names[:i] {
		if n == names[i] {
			return true
		}
	}
	return false
}

// Rules returns the set's rules in load order.
func (s *Set) Rules() []*Rule { return s.rules }

// Len returns the number of rules.
func (s *Set) Len() int { return len(s.rules) }

// foldName is the index key of an event name.
func foldName(n string) string { return string(sigma.AppendFold(nil, []byte(n))) }

// candidates returns the rules that can match an event named name.
func (s *Set) candidates(ev *event.Event) []*Rule {
	name := ev.Value().GetStringBytes("eventName")
	var buf [64]byte
	if rs, ok := s.byName[string(sigma.AppendFold(buf[:0], name))]; ok {
		return rs
	}
	return s.unpinned
}

// Match tries ev against every rule that can match it and calls yield for
// each match, in load order, with the match's annotation. yield returns false
// to stop early. A rule that fails (a jq runtime error, a timeout) does not
// stop the others; the failures are returned joined, each naming the rule and
// the event's origin.
func (s *Set) Match(ctx context.Context, ev *event.Event, yield func(r *Rule, annotation string) bool) error {
	rs := s.candidates(ev)
	if len(rs) == 0 {
		return nil
	}
	var (
		in   *Input // made when a language needs it (jq)
		errs []error
	)
	for _, r := range rs {
		var (
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
		if ok && !yield(r, ann) {
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
	var (
		target = ev
		cloned bool
		errs   []error
	)
	err := s.Match(ctx, ev, func(r *Rule, ann string) bool {
		var (
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
				return true
			}
		}
		if keep && !cloned {
			target, cloned = ev.Clone(), true
		}
		sum, err := r.RenderSummary(target)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ev.Origin(), err))
		}
		summaries, err := r.RenderSummaries(target)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ev.Origin(), err))
		}
		return yield(&event.Alert{Rule: r.Info(), Event: target, Summary: sum, Summaries: summaries, Annotation: ann, Annotations: local, Context: facts})
	})
	if err != nil {
		errs = append([]error{err}, errs...)
	}
	return errors.Join(errs...)
}
