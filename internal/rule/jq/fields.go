package jq

import (
	"maps"
	"slices"

	"github.com/itchyny/gojq"
	"github.com/valyala/fastjson"
)

// plan is the part of the record a query can read: the fields it names and,
// below each, either the whole value or again only some of its fields.
// Converting only that part for gojq gives the same results as converting
// the whole record, at a fraction of the cost, because the query never
// looks at an object of the plan as a whole (its keys, its length, its
// text): where it does, the plan takes that object whole.
type plan struct {
	whole bool
	kids  map[string]*plan
}

// readPlan finds the part of the record q can read. ok is false when q may
// read the record as a whole (., .., keys or tostring of it, a variable
// bound to it, select(...) as the final result, a definition): then the
// whole record is converted.
func readPlan(q *gojq.Query) (p *plan, ok bool) {
	w := planWalker{root: &plan{}}
	out := w.query(q, []path{{}})
	w.consume(out) // results are written out whole
	if w.bad {
		return nil, false
	}
	return w.root, true
}

// rootKeys returns the top-level fields of a plan, sorted.
func (p *plan) rootKeys() []string {
	return slices.Sorted(maps.Keys(p.kids))
}

// path is a place in the record, as a list of object keys; the empty path
// is the record itself.
type path []string

type planWalker struct {
	root *plan
	bad  bool
}

// reach adds p to the plan.
func (w *planWalker) reach(p path) *plan {
	n := w.root
	for _, k := range p {
		if n.whole {
			return n
		}
		if n.kids == nil {
			n.kids = map[string]*plan{}
		}
		c := n.kids[k]
		if c == nil {
			c = &plan{}
			n.kids[k] = c
		}
		n = c
	}
	return n
}

// consume marks values used as data (compared, written, passed to a
// function): each record place they may be is converted whole. The record
// itself used as data is converted whole.
func (w *planWalker) consume(vals []path) {
	for _, p := range vals {
		if len(p) == 0 {
			w.bad = true
			return
		}
		n := w.reach(p)
		n.whole, n.kids = true, nil
	}
}

// extend steps from each place in vals into key k.
func (w *planWalker) extend(vals []path, k string) []path {
	out := make([]path, 0, len(vals))
	for _, p := range vals {
		q := append(append(path(nil), p...), k)
		w.reach(q)
		out = append(out, q)
	}
	return out
}

// query walks q, whose input may be any of the record places in, and
// returns the record places its outputs may be (none for derived values).
func (w *planWalker) query(q *gojq.Query, in []path) []path {
	if q == nil || w.bad {
		return nil
	}
	if len(q.FuncDefs) > 0 || len(q.Imports) > 0 || q.Meta != nil {
		w.bad = true
		return nil
	}
	if len(q.Patterns) > 0 {
		// left as $x | right: left's value is bound to variables (used as
		// data), and right reads the same input as left.
		if q.Op != gojq.OpPipe {
			w.bad = true
			return nil
		}
		w.consume(w.query(q.Left, in))
		return w.query(q.Right, in)
	}
	switch q.Op {
	case 0:
		return w.term(q.Term, in)
	case gojq.OpPipe:
		return w.query(q.Right, w.query(q.Left, in))
	case gojq.OpComma, gojq.OpAlt:
		return append(w.query(q.Left, in), w.query(q.Right, in)...)
	case gojq.OpAssign, gojq.OpModify, gojq.OpUpdateAdd, gojq.OpUpdateSub, gojq.OpUpdateMul,
		gojq.OpUpdateDiv, gojq.OpUpdateMod, gojq.OpUpdateAlt:
		w.bad = true
		return nil
	}
	w.consume(w.query(q.Left, in))
	w.consume(w.query(q.Right, in))
	return nil
}

func (w *planWalker) term(t *gojq.Term, in []path) []path {
	if t == nil || w.bad {
		return nil
	}
	var out []path
	switch t.Type {
	case gojq.TermTypeIdentity:
		out = in
	case gojq.TermTypeIndex:
		if name, ok := indexName(t.Index); ok {
			out = w.extend(in, name)
		} else {
			w.consume(in)
			w.index(t.Index, in)
		}
	case gojq.TermTypeFunc:
		out = w.function(t.Func, in)
	case gojq.TermTypeObject:
		for _, kv := range t.Object.KeyVals {
			switch {
			case kv.KeyQuery != nil:
				w.consume(w.query(kv.KeyQuery, in))
			case kv.KeyString != nil:
				w.str(kv.KeyString, in)
			}
			switch {
			case kv.Val != nil:
				w.consume(w.query(kv.Val, in))
			case kv.Key != "" && kv.Key[0] != '$':
				// {eventName} is {eventName: .eventName}
				w.consume(w.extend(in, kv.Key))
			case kv.KeyString != nil:
				w.bad = true
			}
		}
	case gojq.TermTypeArray:
		w.consume(w.query(t.Array.Query, in))
	case gojq.TermTypeString:
		w.str(t.Str, in)
	case gojq.TermTypeFormat:
		if t.Str == nil {
			w.consume(in) // @json and friends format the input itself
		} else {
			w.str(t.Str, in)
		}
	case gojq.TermTypeUnary:
		w.consume(w.term(t.Unary.Term, in))
	case gojq.TermTypeIf:
		w.consume(w.query(t.If.Cond, in))
		out = w.query(t.If.Then, in)
		for _, e := range t.If.Elif {
			w.consume(w.query(e.Cond, in))
			out = append(out, w.query(e.Then, in)...)
		}
		if t.If.Else != nil {
			out = append(out, w.query(t.If.Else, in)...)
		} else {
			out = append(out, in...) // no else: the input passes through
		}
	case gojq.TermTypeTry:
		out = w.query(t.Try.Body, in)
		// The handler's input is the error message.
		out = append(out, w.query(t.Try.Catch, nil)...)
	case gojq.TermTypeLabel:
		out = w.query(t.Label.Body, in)
	case gojq.TermTypeQuery:
		out = w.query(t.Query, in)
	case gojq.TermTypeRecurse:
		w.consume(in)
	case gojq.TermTypeNull, gojq.TermTypeTrue, gojq.TermTypeFalse, gojq.TermTypeNumber, gojq.TermTypeBreak:
	default: // reduce, foreach
		w.bad = true
		return nil
	}
	for _, s := range t.SuffixList {
		switch {
		case s.Index != nil:
			if name, ok := indexName(s.Index); ok {
				out = w.extend(out, name)
				continue
			}
			// .a[expr] or .a[1:2]: the term's value is read whole, and
			// expr reads the term's input.
			w.consume(out)
			w.index(s.Index, in)
			out = nil
		case s.Iter:
			w.consume(out)
			out = nil
		}
		// .a? passes .a through.
	}
	return out
}

// index walks the expressions of .[expr], .[a:b] and ."\(x)".
func (w *planWalker) index(ix *gojq.Index, in []path) {
	if ix == nil {
		return
	}
	w.str(ix.Str, in)
	w.consume(w.query(ix.Start, in))
	w.consume(w.query(ix.End, in))
}

// function walks a call of f on in.
func (w *planWalker) function(f *gojq.Func, in []path) []path {
	switch {
	case len(f.Name) > 0 && f.Name[0] == '$':
		return nil // a variable: not the input
	case f.Name == "select" && len(f.Args) == 1:
		w.consume(w.query(f.Args[0], in))
		return in
	case (f.Name == "not" || f.Name == "empty") && len(f.Args) == 0:
		return nil
	case f.Name == "has" && len(f.Args) == 1:
		if k, ok := readText(f.Args[0]); ok {
			// Whether the key is there is all has reads.
			w.extend(in, k)
			return nil
		}
	}
	// Any other function may read its input whole, and its arguments read
	// the same input.
	w.consume(in)
	for _, a := range f.Args {
		w.consume(w.query(a, in))
	}
	return nil
}

func (w *planWalker) str(s *gojq.String, in []path) {
	if s == nil {
		return
	}
	for _, q := range s.Queries {
		w.consume(w.query(q, in))
	}
}

// vnode is an object of the record converted for gojq as far as the plans
// of the queries run so far need it.
type vnode struct {
	m map[string]any
	// done holds the keys looked up: nil for a value converted whole (or a
	// key the record lacks), a vnode for an object converted partly.
	done map[string]*vnode
}

func newVnode() *vnode { return &vnode{m: map[string]any{}, done: map[string]*vnode{}} }

// ready reports whether n holds everything p needs.
func (n *vnode) ready(p *plan) bool {
	for k, kp := range p.kids {
		sub, ok := n.done[k]
		if !ok {
			return false
		}
		if sub != nil && (kp.whole || !sub.ready(kp)) {
			return false
		}
	}
	return true
}

// fill converts into n what p needs of the object o.
func (n *vnode) fill(p *plan, o *fastjson.Object) {
	for k, kp := range p.kids {
		sub, looked := n.done[k]
		if looked && sub == nil {
			continue // whole already, or not in the record
		}
		x := o.Get(k) // of duplicate keys the first, as convert keeps it
		switch {
		case x == nil:
			n.done[k] = nil
		case kp.whole || x.Type() != fastjson.TypeObject:
			n.m[k] = convert(x)
			n.done[k] = nil
		default:
			if sub == nil {
				sub = newVnode()
				n.m[k], n.done[k] = sub.m, sub
			}
			xo, _ := x.Object()
			sub.fill(kp, xo)
		}
	}
}
