package sigma

import (
	"bytes"
	"slices"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/valyala/fastjson"
)

// Match reports whether the rule's detection matches the event.
func (r *Rule) Match(ev *event.Event) bool { return r.MatchValue(ev.Value()) }

// MatchValue is Match on a parsed CloudTrail record.
func (r *Rule) MatchValue(rec *fastjson.Value) bool {
	if r == nil || r.cond == nil || rec == nil || rec.Type() != fastjson.TypeObject {
		return false
	}
	if r.pinned && !r.nameIn(rec) {
		return false
	}
	return r.cond.eval(rec)
}

// nameIn reports whether the record's eventName is a text that folds to one
// of the pinned names. The condition requires it anyway; checking it first
// is quicker, and makes the rule agree exactly with an index that looks
// rules up by the folded eventName text (an array or a number in eventName
// is never looked up, so it never matches a pinned rule either).
func (r *Rule) nameIn(rec *fastjson.Value) bool {
	v := rec.Get("eventName")
	if v == nil || v.Type() != fastjson.TypeString {
		return false
	}
	b, _ := v.StringBytes()
	for _, n := range r.names {
		if string(b) == n {
			return true
		}
	}
	var buf [64]byte
	f := AppendFold(buf[:0], b)
	for _, n := range r.folded {
		if bytes.Equal(f, n) {
			return true
		}
	}
	return false
}

// EventNames returns the eventName values outside which the rule can never
// match, as written in the rule and sorted, with ok true: every way of satisfying the
// condition requires eventName to equal one of them (case-insensitively,
// unless |cased). ok is false when the condition does not pin the name. An
// index of rules by event name must compare folded names (AppendFold).
func (r *Rule) EventNames() (names []string, ok bool) {
	if !r.pinned {
		return nil, false
	}
	names = slices.Clone(r.names)
	slices.Sort(names)
	return names, true
}
