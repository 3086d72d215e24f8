package jq

import (
	"bytes"

	"github.com/itchyny/gojq"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/valyala/fastjson"
)

// guard is a condition a query cannot match without: the value at path
// equals a literal. Guards are checked on the event's parsed tree, so an
// event they rule out is never converted for gojq.
type guard struct {
	path []string
	kind fastjson.Type // TypeString, TypeTrue, TypeFalse or TypeNull
	str  []byte
}

// holds reports whether the guard's condition is true of v.
func (g guard) holds(root *fastjson.Value) bool {
	v := root.Get(g.path...)
	if g.kind == fastjson.TypeNull {
		return v == nil || v.Type() == fastjson.TypeNull
	}
	if v == nil || v.Type() != g.kind {
		return false
	}
	if g.kind != fastjson.TypeString {
		return true
	}
	b, _ := v.StringBytes()
	return bytes.Equal(b, g.str)
}

// Rejects reports whether ev certainly does not match: the query requires
// a field to equal a literal (select(.userIdentity.type == "Root" and ...),
// .readOnly == false and ...) and ev's field does not. Match checks this
// first; an event the guards rule out is reported as no match without
// running the query, even where jq would have stopped with an error.
func (q *Query) Rejects(ev *event.Event) bool {
	if len(q.guards) == 0 {
		return false
	}
	root := ev.Value()
	for _, g := range q.guards {
		if !g.holds(root) {
			return true
		}
	}
	return false
}

// guardsOf finds the query's guards. Like eventNames it is conservative:
// a shape it does not know adds no guard.
func guardsOf(q *gojq.Query) []guard {
	return append(filterGuards(q), condGuards(q)...)
}

// filterGuards: q yields nothing unless every guard holds.
func filterGuards(q *gojq.Query) []guard {
	if q == nil || len(q.FuncDefs) > 0 || len(q.Imports) > 0 || q.Meta != nil {
		return nil
	}
	switch q.Op {
	case gojq.OpPipe:
		g := filterGuards(q.Left)
		if isSelect(q.Left) && len(q.Left.Patterns) == 0 {
			g = append(g, filterGuards(q.Right)...)
		}
		return g
	case 0:
		t := q.Term
		if t == nil || len(t.SuffixList) > 0 {
			return nil
		}
		if t.Type == gojq.TermTypeQuery {
			return filterGuards(t.Query)
		}
		if isSelect(q) {
			return condGuards(t.Func.Args[0])
		}
	}
	return nil
}

// condGuards: q yields only false, null or nothing unless every guard holds.
func condGuards(q *gojq.Query) []guard {
	if q == nil || len(q.FuncDefs) > 0 || len(q.Imports) > 0 || q.Meta != nil {
		return nil
	}
	switch q.Op {
	case gojq.OpEq:
		if g, ok := equality(q.Left, q.Right); ok {
			return []guard{g}
		}
		if g, ok := equality(q.Right, q.Left); ok {
			return []guard{g}
		}
	case gojq.OpAnd:
		return append(condGuards(q.Left), condGuards(q.Right)...)
	case 0:
		if t := q.Term; t != nil && t.Type == gojq.TermTypeQuery && len(t.SuffixList) == 0 {
			return condGuards(t.Query)
		}
	}
	return nil
}

// equality reads "path == literal".
func equality(p, lit *gojq.Query) (guard, bool) {
	path, ok := fieldPath(p)
	if !ok || lit == nil || lit.Op != 0 || lit.Term == nil || len(lit.Term.SuffixList) > 0 {
		return guard{}, false
	}
	g := guard{path: path}
	switch t := lit.Term; t.Type {
	case gojq.TermTypeString:
		if t.Str == nil || t.Str.Queries != nil {
			return guard{}, false
		}
		g.kind, g.str = fastjson.TypeString, []byte(t.Str.Str)
	case gojq.TermTypeTrue:
		g.kind = fastjson.TypeTrue
	case gojq.TermTypeFalse:
		g.kind = fastjson.TypeFalse
	case gojq.TermTypeNull:
		g.kind = fastjson.TypeNull
	default:
		return guard{}, false
	}
	return g, true
}

// fieldPath reads .a.b.c (or ."a"."b") as a path of object keys.
func fieldPath(q *gojq.Query) ([]string, bool) {
	if q == nil || q.Op != 0 || q.Term == nil || q.Term.Type != gojq.TermTypeIndex {
		return nil, false
	}
	first, ok := indexName(q.Term.Index)
	if !ok {
		return nil, false
	}
	path := []string{first}
	for _, s := range q.Term.SuffixList {
		if s.Iter || s.Optional {
			return nil, false
		}
		name, ok := indexName(s.Index)
		if !ok {
			return nil, false
		}
		path = append(path, name)
	}
	return path, true
}

func indexName(ix *gojq.Index) (string, bool) {
	if ix == nil || ix.Start != nil || ix.End != nil || ix.IsSlice {
		return "", false
	}
	if ix.Name != "" {
		return ix.Name, true
	}
	if ix.Str != nil && ix.Str.Queries == nil {
		return ix.Str.Str, true
	}
	return "", false
}
