package jq

import (
	"regexp"

	"github.com/itchyny/gojq"
)

// The common rule shapes are read from the parsed query into a small
// program the engine evaluates on the event's parsed tree, without gojq and
// without converting the event:
//
//	select(C) | select(C) | ... | R
//	C
//
// where each C is a condition made of comparisons with literals (==, !=),
// startswith, endswith, contains, test, IN, has, not, and and or over values
// read from the record (.a.b, .a.b // "text", .a | ascii_downcase), and R is
// nothing (the record), a value, a condition, or a string with \(value)
// interpolations. A condition the engine does not know is kept as opaque: it
// may be anything, so the engine decides only where the known parts settle
// the answer (a false test joined by and, a true one joined by or) and
// leaves the rest to gojq. See eval.go for the evaluation, whose every
// outcome is the one gojq gives on the converted event.

// value is a value the engine reads from the record: the field at path,
// with alt in its place when it is missing, null or false (.a.b // "x"),
// then each of fns applied.
type value struct {
	path []string
	alt  *literal
	fns  []strFn
}

// pure reports whether v is the field at its path, as read.
func (v *value) pure() bool { return v.alt == nil && len(v.fns) == 0 }

// strFn is a string function applied to a value.
type strFn uint8

const (
	fnDowncase strFn = iota + 1 // ascii_downcase
	fnUpcase                    // ascii_upcase
)

// literal is a constant of the query: a string, true, false or null.
type literal struct {
	kind kind
	s    string
}

// kind is the type of a value as the engine sees it.
type kind uint8

const (
	kNull kind = iota
	kFalse
	kTrue
	kString
	kOther // a number, an object or an array
)

// cond is a condition: a query whose one output is true or false, or an
// error.
type cond struct {
	op   condOp
	kids []*cond   // cAnd, cOr (two), cNot (one)
	val  *value    // the value tested
	lits []literal // cEq, cNe (one), cIn (any number)
	s    string    // cPrefix, cSuffix, cContains: the text; cHas: the key
	re   *regexp.Regexp
	b    bool // cConst
}

type condOp uint8

const (
	cOpaque   condOp = iota // not understood: any outputs, errors included
	cConst                  // true or false
	cAnd                    // jq's and: the right side runs only when the left is true
	cOr                     // jq's or
	cNot                    // C | not
	cTruthy                 // a value read as a condition (select(.a))
	cEq                     // value == literal
	cNe                     // value != literal
	cIn                     // value | IN(literal, ...)
	cPrefix                 // value | startswith("x")
	cSuffix                 // value | endswith("x")
	cContains               // value | contains("x")
	cRegex                  // value | test("re"; "flags")
	cHas                    // value | has("k")
)

// boolean reports whether every output of c is true or false (or an
// error), so that c's value can be a rule's result.
func (c *cond) boolean() bool {
	switch c.op {
	case cOpaque, cTruthy:
		return false
	}
	return true
}

// program is a query in the shape the engine evaluates.
type program struct {
	// stages are the select(...) conditions the record passes through, in
	// order.
	stages []*cond
	// result is what the query yields for a record that passes them.
	result resultKind
	cond   *cond     // rCond
	val    *value    // rValue
	parts  []strPart // rString
	lit    literal   // rLiteral
}

type resultKind uint8

const (
	rOpaque  resultKind = iota // something else: gojq decides a record that passes the stages
	rRecord                    // the record itself
	rCond                      // a condition's value
	rValue                     // a value read from the record
	rString                    // a string with interpolations
	rLiteral                   // a constant
)

// strPart is a piece of an interpolated string: text, or a value written
// as jq's tostring writes it.
type strPart struct {
	text string
	val  *value
}

// compileProgram reads q. It returns nil when nothing of q is in a shape
// the engine knows, or when q defines functions or imports modules (a
// definition may give select or startswith another meaning).
func compileProgram(q *gojq.Query) *program {
	if !plainQuery(q) {
		return nil
	}
	stages := pipeStages(q)
	p := &program{}
	i := 0
	for ; i < len(stages); i++ {
		c, ok := selectCond(stages[i])
		if !ok {
			break
		}
		p.stages = append(p.stages, c)
	}
	if rest := stages[i:]; len(rest) == 0 {
		p.result = rRecord
	} else {
		p.readResult(rest)
	}
	if len(p.stages) == 0 && p.result == rOpaque {
		return nil
	}
	return p
}

// readResult reads the stages after the selects as the query's result.
func (p *program) readResult(rest []*gojq.Query) {
	in := &value{}
	for _, st := range rest[:len(rest)-1] {
		v, ok := readValue(st, in)
		if !ok {
			return
		}
		in = v
	}
	last := rest[len(rest)-1]
	if v, ok := readValue(last, in); ok {
		p.result, p.val = rValue, v
		if len(v.path) == 0 && v.pure() {
			p.result, p.val = rRecord, nil // select(...) | .
		}
		return
	}
	if lit, ok := readLiteral(last); ok {
		p.result, p.lit = rLiteral, lit
		return
	}
	if parts, ok := readString(last, in); ok {
		p.result, p.parts = rString, parts
		return
	}
	if c := readCond(last, in); c.boolean() {
		p.result, p.cond = rCond, c
	}
}

// plainQuery reports whether q and everything in it define no function,
// import no module and carry no metadata.
func plainQuery(q *gojq.Query) bool {
	ok := true
	walkQueries(q, func(q *gojq.Query) {
		if len(q.FuncDefs) > 0 || len(q.Imports) > 0 || q.Meta != nil {
			ok = false
		}
	})
	return ok
}

// walkQueries calls f on q and on every query inside it.
func walkQueries(q *gojq.Query, f func(*gojq.Query)) {
	if q == nil {
		return
	}
	f(q)
	for _, d := range q.FuncDefs {
		walkQueries(d.Body, f)
	}
	walkQueries(q.Left, f)
	walkQueries(q.Right, f)
	walkTerm(q.Term, f)
}

func walkTerm(t *gojq.Term, f func(*gojq.Query)) {
	if t == nil {
		return
	}
	walkIndex(t.Index, f)
	if t.Func != nil {
		for _, a := range t.Func.Args {
			walkQueries(a, f)
		}
	}
	if t.Object != nil {
		for _, kv := range t.Object.KeyVals {
			walkString(kv.KeyString, f)
			walkQueries(kv.KeyQuery, f)
			walkQueries(kv.Val, f)
		}
	}
	if t.Array != nil {
		walkQueries(t.Array.Query, f)
	}
	if t.Unary != nil {
		walkTerm(t.Unary.Term, f)
	}
	walkString(t.Str, f)
	if t.If != nil {
		walkQueries(t.If.Cond, f)
		walkQueries(t.If.Then, f)
		for _, e := range t.If.Elif {
			walkQueries(e.Cond, f)
			walkQueries(e.Then, f)
		}
		walkQueries(t.If.Else, f)
	}
	if t.Try != nil {
		walkQueries(t.Try.Body, f)
		walkQueries(t.Try.Catch, f)
	}
	if t.Reduce != nil {
		walkQueries(t.Reduce.Query, f)
		walkQueries(t.Reduce.Start, f)
		walkQueries(t.Reduce.Update, f)
	}
	if t.Foreach != nil {
		walkQueries(t.Foreach.Query, f)
		walkQueries(t.Foreach.Start, f)
		walkQueries(t.Foreach.Update, f)
		walkQueries(t.Foreach.Extract, f)
	}
	if t.Label != nil {
		walkQueries(t.Label.Body, f)
	}
	walkQueries(t.Query, f)
	for _, s := range t.SuffixList {
		walkIndex(s.Index, f)
	}
}

func walkIndex(ix *gojq.Index, f func(*gojq.Query)) {
	if ix == nil {
		return
	}
	walkString(ix.Str, f)
	walkQueries(ix.Start, f)
	walkQueries(ix.End, f)
}

func walkString(s *gojq.String, f func(*gojq.Query)) {
	if s == nil {
		return
	}
	for _, q := range s.Queries {
		walkQueries(q, f)
	}
}

// pipeStages flattens a | b | c into its stages. A pipe is associative,
// so (a | b) | c is the same three stages; a pipe that binds variables
// (a as $x | b) is one stage.
func pipeStages(q *gojq.Query) []*gojq.Query {
	if q.Op == gojq.OpPipe && len(q.Patterns) == 0 {
		return append(pipeStages(q.Left), pipeStages(q.Right)...)
	}
	if t := q.Term; q.Op == 0 && len(q.Patterns) == 0 && t != nil && t.Type == gojq.TermTypeQuery && len(t.SuffixList) == 0 && t.Query.Op == gojq.OpPipe {
		return pipeStages(t.Query)
	}
	return []*gojq.Query{q}
}

// selectCond reads select(C).
func selectCond(q *gojq.Query) (*cond, bool) {
	t := plainTerm(q)
	if t == nil || t.Type != gojq.TermTypeFunc || t.Func.Name != "select" || len(t.Func.Args) != 1 {
		return nil, false
	}
	return readCond(t.Func.Args[0], &value{}), true
}

// plainTerm returns q's term when q is one term with no suffix and no
// variable binding.
func plainTerm(q *gojq.Query) *gojq.Term {
	if q == nil || q.Op != 0 || len(q.Patterns) > 0 || q.Term == nil || len(q.Term.SuffixList) > 0 {
		return nil
	}
	return q.Term
}

// readValue reads q as a value, with in as its input.
func readValue(q *gojq.Query, in *value) (*value, bool) {
	if q == nil || len(q.Patterns) > 0 {
		return nil, false
	}
	switch q.Op {
	case gojq.OpPipe:
		l, ok := readValue(q.Left, in)
		if !ok {
			return nil, false
		}
		return readValue(q.Right, l)
	case gojq.OpAlt:
		// x // "text": the text replaces a missing, null or false x (an
		// error reading x is still gojq's first output).
		l, ok := readValue(q.Left, in)
		if !ok || l.alt != nil || len(l.fns) > 0 || len(l.path) == 0 {
			return nil, false
		}
		lit, ok := readLiteral(q.Right)
		if !ok {
			return nil, false
		}
		return &value{path: l.path, alt: &lit}, true
	case 0:
	default:
		return nil, false
	}
	t := q.Term
	if t == nil {
		return nil, false // the empty query
	}
	switch t.Type {
	case gojq.TermTypeIdentity:
		if len(t.SuffixList) > 0 {
			return nil, false
		}
		return in, true
	case gojq.TermTypeIndex:
		if !in.pure() {
			return nil, false // .a // "x" | .b: indexing text, an error
		}
		path, ok := fieldPath(q)
		if !ok {
			return nil, false
		}
		return &value{path: append(append([]string(nil), in.path...), path...)}, true
	case gojq.TermTypeQuery:
		if len(t.SuffixList) > 0 {
			return nil, false
		}
		return readValue(t.Query, in)
	case gojq.TermTypeFunc:
		if len(t.SuffixList) > 0 || len(t.Func.Args) > 0 {
			return nil, false
		}
		var fn strFn
		switch t.Func.Name {
		case "ascii_downcase":
			fn = fnDowncase
		case "ascii_upcase":
			fn = fnUpcase
		default:
			return nil, false
		}
		out := &value{path: in.path, alt: in.alt, fns: append(append([]strFn(nil), in.fns...), fn)}
		return out, true
	}
	return nil, false
}

// readLiteral reads a string, true, false or null constant.
func readLiteral(q *gojq.Query) (literal, bool) {
	t := plainTerm(q)
	if t == nil {
		return literal{}, false
	}
	switch t.Type {
	case gojq.TermTypeString:
		if t.Str == nil || t.Str.Queries != nil {
			return literal{}, false
		}
		return literal{kind: kString, s: t.Str.Str}, true
	case gojq.TermTypeTrue:
		return literal{kind: kTrue}, true
	case gojq.TermTypeFalse:
		return literal{kind: kFalse}, true
	case gojq.TermTypeNull:
		return literal{kind: kNull}, true
	case gojq.TermTypeQuery:
		return readLiteral(t.Query)
	}
	return literal{}, false
}

// readText reads a string constant.
func readText(q *gojq.Query) (string, bool) {
	lit, ok := readLiteral(q)
	return lit.s, ok && lit.kind == kString
}

// readString reads "text \(value) text".
func readString(q *gojq.Query, in *value) ([]strPart, bool) {
	t := plainTerm(q)
	if t == nil || t.Type != gojq.TermTypeString || t.Str == nil || t.Str.Queries == nil {
		return nil, false
	}
	var parts []strPart
	for _, e := range t.Str.Queries {
		if e.Term != nil && e.Term.Type == gojq.TermTypeString && e.Term.Str != nil && e.Term.Str.Queries == nil && e.Op == 0 {
			parts = append(parts, strPart{text: e.Term.Str.Str})
			continue
		}
		v, ok := readValue(e, in)
		if !ok || (len(v.path) == 0 && v.pure()) {
			return nil, false
		}
		parts = append(parts, strPart{val: v})
	}
	return parts, true
}

// readCond reads q as a condition on in. What it does not understand it
// keeps as an opaque condition.
func readCond(q *gojq.Query, in *value) *cond {
	opaque := &cond{op: cOpaque}
	if q == nil || len(q.Patterns) > 0 {
		return opaque
	}
	switch q.Op {
	case gojq.OpAnd, gojq.OpOr:
		op := cAnd
		if q.Op == gojq.OpOr {
			op = cOr
		}
		return &cond{op: op, kids: []*cond{readCond(q.Left, in), readCond(q.Right, in)}}
	case gojq.OpEq, gojq.OpNe:
		op := cEq
		if q.Op == gojq.OpNe {
			op = cNe
		}
		if v, ok := readValue(q.Left, in); ok {
			if lit, ok := readLiteral(q.Right); ok {
				return &cond{op: op, val: v, lits: []literal{lit}}
			}
		}
		if v, ok := readValue(q.Right, in); ok {
			if lit, ok := readLiteral(q.Left); ok {
				return &cond{op: op, val: v, lits: []literal{lit}}
			}
		}
		return opaque
	case gojq.OpPipe:
		if v, ok := readValue(q.Left, in); ok {
			return readCond(q.Right, v)
		}
		// (C) | not
		if t := plainTerm(q.Right); t != nil && t.Type == gojq.TermTypeFunc && t.Func.Name == "not" && len(t.Func.Args) == 0 {
			if c := readCond(q.Left, in); c.boolean() {
				return &cond{op: cNot, kids: []*cond{c}}
			}
		}
		return opaque
	case 0:
	default:
		return opaque
	}
	t := q.Term
	if t == nil {
		return opaque
	}
	switch t.Type {
	case gojq.TermTypeTrue, gojq.TermTypeFalse:
		if len(t.SuffixList) > 0 {
			return opaque
		}
		return &cond{op: cConst, b: t.Type == gojq.TermTypeTrue}
	case gojq.TermTypeQuery:
		if len(t.SuffixList) > 0 {
			return opaque
		}
		return readCond(t.Query, in)
	case gojq.TermTypeIndex, gojq.TermTypeIdentity:
		if v, ok := readValue(q, in); ok {
			return &cond{op: cTruthy, val: v}
		}
		return opaque
	case gojq.TermTypeFunc:
		if len(t.SuffixList) > 0 {
			return opaque
		}
		return readFunc(t.Func, in)
	}
	return opaque
}

// readFunc reads a function call applied to in as a condition.
func readFunc(f *gojq.Func, in *value) *cond {
	opaque := &cond{op: cOpaque}
	switch len(f.Args) {
	case 0:
		switch f.Name {
		case "not":
			return &cond{op: cNot, kids: []*cond{{op: cTruthy, val: in}}}
		case "ascii_downcase", "ascii_upcase":
			fn := fnDowncase
			if f.Name == "ascii_upcase" {
				fn = fnUpcase
			}
			v := &value{path: in.path, alt: in.alt, fns: append(append([]strFn(nil), in.fns...), fn)}
			return &cond{op: cTruthy, val: v}
		}
	case 1:
		arg := f.Args[0]
		switch f.Name {
		case "startswith", "endswith", "contains", "has":
			s, ok := readText(arg)
			if !ok {
				return opaque
			}
			op := cHas
			switch f.Name {
			case "startswith":
				op = cPrefix
			case "endswith":
				op = cSuffix
			case "contains":
				op = cContains
			}
			return &cond{op: op, val: in, s: s}
		case "test":
			re, ok := readText(arg)
			if !ok {
				return opaque
			}
			m, err := compileRegexp(re, "")
			if err != nil {
				return opaque
			}
			return &cond{op: cRegex, val: in, re: m}
		case "IN":
			lits, ok := readLiterals(arg)
			if !ok {
				return opaque
			}
			return &cond{op: cIn, val: in, lits: lits}
		}
	case 2:
		switch f.Name {
		case "test":
			re, ok := readText(f.Args[0])
			if !ok {
				return opaque
			}
			flags, ok := readLiteral(f.Args[1])
			if !ok || (flags.kind != kString && flags.kind != kNull) {
				return opaque
			}
			m, err := compileRegexp(re, flags.s)
			if err != nil {
				return opaque
			}
			return &cond{op: cRegex, val: in, re: m}
		case "IN":
			// IN(src; s): some output of src equals some output of s.
			v, ok := readValue(f.Args[0], in)
			if !ok {
				return opaque
			}
			lits, ok := readLiterals(f.Args[1])
			if !ok {
				return opaque
			}
			return &cond{op: cIn, val: v, lits: lits}
		}
	}
	return opaque
}

// readLiterals reads "a", "b", ... (a comma list of constants).
func readLiterals(q *gojq.Query) ([]literal, bool) {
	if q != nil && q.Op == gojq.OpComma && len(q.Patterns) == 0 {
		l, ok := readLiterals(q.Left)
		if !ok {
			return nil, false
		}
		r, ok := readLiterals(q.Right)
		return append(l, r...), ok
	}
	if t := plainTerm(q); t != nil && t.Type == gojq.TermTypeQuery {
		return readLiterals(t.Query)
	}
	lit, ok := readLiteral(q)
	if !ok {
		return nil, false
	}
	return []literal{lit}, true
}

// fieldPath reads .a.b.c (or ."a"."b") as a path of object keys.
func fieldPath(q *gojq.Query) ([]string, bool) {
	if q == nil || q.Op != 0 || len(q.Patterns) > 0 || q.Term == nil || q.Term.Type != gojq.TermTypeIndex {
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

// indexName reads .name or ."name".
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
