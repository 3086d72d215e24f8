package jq

import (
	"slices"

	"github.com/itchyny/gojq"
)

// eventNames reads the query's shape for the event names it requires. It is
// conservative: anything it does not recognise leaves the query unpinned, so
// the rule set evaluates it on every event.
func eventNames(q *gojq.Query) ([]string, bool) {
	if names, ok := filterNames(q); ok {
		return names, true
	}
	return condNames(q)
}

// filterNames: q yields nothing unless the event's name is in names.
func filterNames(q *gojq.Query) ([]string, bool) {
	if q == nil || len(q.FuncDefs) > 0 || len(q.Imports) > 0 || q.Meta != nil {
		return nil, false
	}
	switch q.Op {
	case gojq.OpPipe:
		if names, ok := filterNames(q.Left); ok {
			return names, true
		}
		// select(...) passes the event through unchanged, so what follows
		// it still reads the event.
		if isSelect(q.Left) && len(q.Left.Patterns) == 0 {
			return filterNames(q.Right)
		}
		return nil, false
	case 0:
		t := q.Term
		if t == nil || len(t.SuffixList) > 0 {
			return nil, false
		}
		if t.Type == gojq.TermTypeQuery {
			return filterNames(t.Query)
		}
		if isSelect(q) {
			return condNames(t.Func.Args[0])
		}
	}
	return nil, false
}

func isSelect(q *gojq.Query) bool {
	if q == nil || q.Op != 0 || q.Term == nil || len(q.FuncDefs) > 0 {
		return false
	}
	t := q.Term
	return t.Type == gojq.TermTypeFunc && len(t.SuffixList) == 0 &&
		t.Func.Name == "select" && len(t.Func.Args) == 1
}

// condNames: q yields only false, null or nothing unless the event's name is
// in names.
func condNames(q *gojq.Query) ([]string, bool) {
	if q == nil || len(q.FuncDefs) > 0 || len(q.Imports) > 0 || q.Meta != nil {
		return nil, false
	}
	switch q.Op {
	case gojq.OpEq:
		if isEventName(q.Left) {
			if s, ok := literal(q.Right); ok {
				return []string{s}, true
			}
		}
		if isEventName(q.Right) {
			if s, ok := literal(q.Left); ok {
				return []string{s}, true
			}
		}
	case gojq.OpAnd:
		l, lok := condNames(q.Left)
		r, rok := condNames(q.Right)
		switch {
		case lok && rok:
			return intersect(l, r), true
		case lok:
			return l, true
		case rok:
			return r, true
		}
	case gojq.OpOr:
		l, lok := condNames(q.Left)
		r, rok := condNames(q.Right)
		if lok && rok {
			return union(l, r), true
		}
	case 0:
		if t := q.Term; t != nil && t.Type == gojq.TermTypeQuery && len(t.SuffixList) == 0 {
			return condNames(t.Query)
		}
	}
	return nil, false
}

// isEventName reports whether q is exactly .eventName (or ."eventName").
func isEventName(q *gojq.Query) bool {
	if q == nil || q.Op != 0 || q.Term == nil {
		return false
	}
	t := q.Term
	if t.Type != gojq.TermTypeIndex || len(t.SuffixList) > 0 || t.Index == nil {
		return false
	}
	ix := t.Index
	if ix.Start != nil || ix.End != nil || ix.IsSlice {
		return false
	}
	if ix.Name == "eventName" {
		return true
	}
	return ix.Str != nil && ix.Str.Queries == nil && ix.Str.Str == "eventName"
}

// literal returns the text of a plain string literal.
func literal(q *gojq.Query) (string, bool) {
	if q == nil || q.Op != 0 || q.Term == nil {
		return "", false
	}
	t := q.Term
	if t.Type != gojq.TermTypeString || len(t.SuffixList) > 0 || t.Str == nil || t.Str.Queries != nil {
		return "", false
	}
	return t.Str.Str, true
}

func intersect(a, b []string) []string {
	var out []string
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
