package jq

import (
	"github.com/itchyny/gojq"
	"github.com/valyala/fastjson"
)

// native is a query of the most common rule shapes, evaluated on the event's
// parsed tree without gojq:
//
//	.f == "x" and .g.h == false                  (match, no annotation)
//	select(.f == "x" and ...) | .a.b             (annotated with .a.b)
//	select(...) | select(...) | .a.b
//
// Where the result is not text, true, false or null, or reading the path
// would be a jq error, the query runs in gojq instead, so results and errors
// are exactly gojq's.
type native struct {
	guards []guard
	path   []string // nil: the result is the condition itself
}

// result is what native evaluation decided.
type result int

const (
	noMatch result = iota
	match
	fallback // run gojq
)

// eval evaluates the query on root; for match, ann is the annotation.
func (n *native) eval(root *fastjson.Value) (r result, ann string) {
	for _, g := range n.guards {
		if !g.holds(root) {
			return noMatch, ""
		}
	}
	if n.path == nil {
		return match, ""
	}
	v := root
	for _, k := range n.path {
		switch v.Type() {
		case fastjson.TypeObject:
			v = v.Get(k)
			if v == nil {
				return noMatch, "" // a missing field is null
			}
		case fastjson.TypeNull:
			return noMatch, "" // null.k is null
		default:
			return fallback, "" // jq reports an error here
		}
	}
	switch v.Type() {
	case fastjson.TypeNull, fastjson.TypeFalse:
		return noMatch, ""
	case fastjson.TypeTrue:
		return match, ""
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return match, string(b)
	}
	return fallback, ""
}

// nativeOf recognises the shapes native handles; nil when q is another.
func nativeOf(q *gojq.Query) *native {
	if g, ok := exactCond(q); ok {
		return &native{guards: g}
	}
	n := &native{}
	if !n.pipe(q) || n.path == nil {
		return nil
	}
	return n
}

// pipe reads select(C) | select(C) | ... | .path.
func (n *native) pipe(q *gojq.Query) bool {
	if q == nil || len(q.FuncDefs) > 0 || len(q.Imports) > 0 || q.Meta != nil || len(q.Patterns) > 0 {
		return false
	}
	if q.Op == gojq.OpPipe {
		return n.pipe(q.Left) && n.pipe(q.Right)
	}
	if n.path != nil {
		return false // something after the path
	}
	if isSelect(q) {
		g, ok := exactCond(q.Term.Func.Args[0])
		n.guards = append(n.guards, g...)
		return ok
	}
	if p, ok := fieldPath(q); ok {
		n.path = p
		return true
	}
	return false
}

// exactCond reads a condition made only of "path == literal" joined by and;
// its value is true exactly when every guard holds, and false otherwise.
func exactCond(q *gojq.Query) ([]guard, bool) {
	if q == nil || len(q.FuncDefs) > 0 || len(q.Imports) > 0 || q.Meta != nil || len(q.Patterns) > 0 {
		return nil, false
	}
	switch q.Op {
	case gojq.OpEq:
		if g, ok := equality(q.Left, q.Right); ok {
			return []guard{g}, true
		}
		if g, ok := equality(q.Right, q.Left); ok {
			return []guard{g}, true
		}
	case gojq.OpAnd:
		l, lok := exactCond(q.Left)
		r, rok := exactCond(q.Right)
		return append(l, r...), lok && rok
	case 0:
		if t := q.Term; t != nil && t.Type == gojq.TermTypeQuery && len(t.SuffixList) == 0 {
			return exactCond(t.Query)
		}
	}
	return nil, false
}
