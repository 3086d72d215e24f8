package jq

import (
	"slices"

	"github.com/itchyny/gojq"
)

// rootKeys finds the top-level fields of the event a query can read. It
// succeeds only when the query never reads the event object as a whole (no
// `.` as a value, no `..`, no keys or tostring on it, no select(...) as the
// final result): then converting only those fields for gojq gives the same
// results as converting the whole event, at a fraction of the cost. ok is
// false when the query may read the whole object.
func rootKeys(q *gojq.Query) (keys []string, ok bool) {
	w := keyWalker{}
	if out := w.query(q, true); out || w.bad {
		return nil, false
	}
	slices.Sort(w.keys)
	return slices.Compact(w.keys), true
}

type keyWalker struct {
	keys []string
	bad  bool
}

// query walks q whose input may be the event object (root). It returns
// whether q's output may be the event object itself.
func (w *keyWalker) query(q *gojq.Query, root bool) bool {
	if q == nil || !root || w.bad {
		// Nothing reached from a non-root input can read the event object:
		// variables bound to it are refused below where they are bound.
		return false
	}
	if len(q.FuncDefs) > 0 || len(q.Imports) > 0 || q.Meta != nil {
		w.bad = true
		return false
	}
	if len(q.Patterns) > 0 {
		// left as $x | right: left's value is bound to variables, and
		// right reads the same input as left.
		if q.Op != gojq.OpPipe {
			w.bad = true
			return false
		}
		w.consume(w.query(q.Left, root))
		return w.query(q.Right, root)
	}
	switch q.Op {
	case 0:
		return w.term(q.Term, root)
	case gojq.OpPipe:
		return w.query(q.Right, w.query(q.Left, root))
	case gojq.OpComma, gojq.OpAlt:
		l := w.query(q.Left, root)
		r := w.query(q.Right, root)
		return l || r
	case gojq.OpAssign, gojq.OpModify, gojq.OpUpdateAdd, gojq.OpUpdateSub, gojq.OpUpdateMul,
		gojq.OpUpdateDiv, gojq.OpUpdateMod, gojq.OpUpdateAlt:
		w.bad = true
		return false
	default:
		w.consume(w.query(q.Left, root))
		w.consume(w.query(q.Right, root))
		return false
	}
}

// consume marks a place where a value is used as data: the event object
// must not arrive there.
func (w *keyWalker) consume(isRoot bool) {
	if isRoot {
		w.bad = true
	}
}

func (w *keyWalker) term(t *gojq.Term, root bool) bool {
	if t == nil || w.bad {
		return false
	}
	out := false
	switch t.Type {
	case gojq.TermTypeIdentity:
		out = true
	case gojq.TermTypeIndex:
		name, ok := indexName(t.Index)
		if !ok {
			w.bad = true
			return false
		}
		w.keys = append(w.keys, name)
	case gojq.TermTypeFunc:
		switch f := t.Func; {
		case len(f.Name) > 0 && f.Name[0] == '$':
			// a variable: not the input
		case f.Name == "select" && len(f.Args) == 1:
			w.consume(w.query(f.Args[0], root))
			out = true
		case (f.Name == "not" || f.Name == "empty") && len(f.Args) == 0:
		default:
			w.bad = true
			return false
		}
	case gojq.TermTypeObject:
		for _, kv := range t.Object.KeyVals {
			switch {
			case kv.KeyQuery != nil:
				w.consume(w.query(kv.KeyQuery, root))
			case kv.KeyString != nil:
				w.str(kv.KeyString, root)
			}
			if kv.Val != nil {
				w.consume(w.query(kv.Val, root))
			} else if kv.Key != "" && kv.Key[0] != '$' {
				// {eventName} is {eventName: .eventName}
				w.keys = append(w.keys, kv.Key)
			} else if kv.KeyString != nil {
				w.bad = true
			}
		}
	case gojq.TermTypeArray:
		w.consume(w.query(t.Array.Query, root))
	case gojq.TermTypeString:
		w.str(t.Str, root)
	case gojq.TermTypeFormat:
		if t.Str == nil {
			w.bad = true // @json and friends format the input itself
			return false
		}
		w.str(t.Str, root)
	case gojq.TermTypeUnary:
		w.consume(w.term(t.Unary.Term, root))
	case gojq.TermTypeIf:
		w.consume(w.query(t.If.Cond, root))
		out = w.query(t.If.Then, root)
		for _, e := range t.If.Elif {
			w.consume(w.query(e.Cond, root))
			out = w.query(e.Then, root) || out
		}
		if t.If.Else != nil {
			out = w.query(t.If.Else, root) || out
		} else {
			out = true // no else: the input passes through
		}
	case gojq.TermTypeTry:
		out = w.query(t.Try.Body, root)
	case gojq.TermTypeLabel:
		out = w.query(t.Label.Body, root)
	case gojq.TermTypeQuery:
		out = w.query(t.Query, root)
	case gojq.TermTypeNull, gojq.TermTypeTrue, gojq.TermTypeFalse, gojq.TermTypeNumber, gojq.TermTypeBreak:
	default: // .., reduce, foreach
		w.bad = true
		return false
	}
	for _, s := range t.SuffixList {
		if out {
			// a suffix applied to the event object itself
			w.bad = true
			return false
		}
		if s.Index != nil {
			// .a[expr]: expr reads the term's input
			w.consume(w.query(s.Index.Start, root))
			w.consume(w.query(s.Index.End, root))
		}
	}
	return out
}

func (w *keyWalker) str(s *gojq.String, root bool) {
	if s == nil {
		return
	}
	for _, q := range s.Queries {
		w.consume(w.query(q, root))
	}
}
