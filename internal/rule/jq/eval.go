package jq

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/itchyny/gojq"
	"github.com/valyala/fastjson"
)

// outs is the set of outputs a condition may give on one record: true,
// false, an error, or several of them when part of the condition is
// opaque. Only a condition whose set is exactly {true} or {false} is
// decided without gojq, so the engine never hides an error gojq would
// report.
type outs uint8

const (
	oTrue outs = 1 << iota
	oFalse
	oErr
	oAny = oTrue | oFalse | oErr
)

// view is a value read from the record as the engine compares it.
type view struct {
	kind kind
	s    []byte          // kString: the text
	v    *fastjson.Value // the record's value, nil for a literal or a changed text
}

// lookup reads the value at path as jq's .a.b.c does: a missing key or a
// null on the way gives null (nil); ok is false where jq stops with an
// error (indexing a string, a number, a boolean or an array).
func lookup(root *fastjson.Value, path []string) (v *fastjson.Value, ok bool) {
	v = root
	for _, k := range path {
		if v == nil {
			return nil, true
		}
		switch v.Type() {
		case fastjson.TypeObject:
			v = v.Get(k)
		case fastjson.TypeNull:
			return nil, true
		default:
			return nil, false
		}
	}
	return v, true
}

func viewOf(v *fastjson.Value) view {
	if v == nil {
		return view{kind: kNull}
	}
	switch v.Type() {
	case fastjson.TypeNull:
		return view{kind: kNull}
	case fastjson.TypeFalse:
		return view{kind: kFalse}
	case fastjson.TypeTrue:
		return view{kind: kTrue}
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return view{kind: kString, s: b, v: v}
	}
	return view{kind: kOther, v: v}
}

func (l *literal) view() view {
	if l.kind == kString {
		return view{kind: kString, s: []byte(l.s)}
	}
	return view{kind: l.kind}
}

// read evaluates v on root; ok is false where jq reports an error. Texts
// changed by a string function are written into scratch (made when nil).
func (v *value) read(root *fastjson.Value, scratch []byte) (out view, ok bool) {
	x, ok := lookup(root, v.path)
	if !ok {
		// gojq's first output is the error, even before an alternative.
		return view{}, false
	}
	out = viewOf(x)
	if v.alt != nil && (out.kind == kNull || out.kind == kFalse) {
		out = v.alt.view()
	}
	for i, fn := range v.fns {
		if out.kind != kString {
			return view{}, false // ascii_downcase of a non-string is an error
		}
		if i == 0 {
			if scratch == nil {
				scratch = make([]byte, 0, len(out.s)+8)
			}
			scratch = asciiCase(scratch[:0], out.s, fn)
		} else {
			// The text is valid UTF-8 after the first function: change it
			// in place.
			caseInPlace(scratch, fn)
		}
		out = view{kind: kString, s: scratch}
	}
	return out, true
}

// asciiCase appends s with its ASCII letters changed as gojq's
// ascii_downcase and ascii_upcase change them (strings.Map): bytes that
// are not valid UTF-8 become U+FFFD.
func asciiCase(dst, s []byte, fn strFn) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, changeCase(c, fn))
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

func caseInPlace(s []byte, fn strFn) {
	for i, c := range s {
		s[i] = changeCase(c, fn)
	}
}

func changeCase(c byte, fn strFn) byte {
	switch {
	case fn == fnDowncase && 'A' <= c && c <= 'Z':
		return c + ('a' - 'A')
	case fn == fnUpcase && 'a' <= c && c <= 'z':
		return c - ('a' - 'A')
	}
	return c
}

// same reports whether a value equals a literal as jq's == compares them.
func same(x view, l *literal) bool {
	if x.kind != l.kind {
		return false
	}
	return l.kind != kString || string(x.s) == l.s
}

// truth gives the one output of a test.
func truth(b bool) outs {
	if b {
		return oTrue
	}
	return oFalse
}

// eval returns the outputs c may give on root.
func (c *cond) eval(root *fastjson.Value) outs {
	switch c.op {
	case cOpaque:
		return oAny
	case cConst:
		return truth(c.b)
	case cAnd, cOr:
		// jq runs the right side only for a left output that does not
		// already decide: true for and, false for or.
		l := c.kids[0].eval(root)
		pass, stop := oTrue, oFalse
		if c.op == cOr {
			pass, stop = oFalse, oTrue
		}
		out := l & (stop | oErr)
		if l&pass != 0 {
			out |= c.kids[1].eval(root)
		}
		return out
	case cNot:
		k := c.kids[0].eval(root)
		out := k & oErr
		if k&oTrue != 0 {
			out |= oFalse
		}
		if k&oFalse != 0 {
			out |= oTrue
		}
		return out
	}
	if c.op == cRegex {
		// A regular expression keeps the text it matches beyond the
		// call: read it without the stack buffer below.
		x, ok := c.val.read(root, nil)
		if !ok || x.kind != kString {
			return oErr // test of a non-string is an error
		}
		return truth(c.re.Match(x.s))
	}
	var scratch [128]byte
	x, ok := c.val.read(root, scratch[:0])
	if !ok {
		return oErr
	}
	return c.test(x)
}

// test applies a test other than a regular expression to its value.
func (c *cond) test(x view) outs {
	switch c.op {
	case cTruthy:
		return truth(x.kind != kNull && x.kind != kFalse)
	case cEq, cNe:
		return truth(same(x, &c.lits[0]) == (c.op == cEq))
	case cIn:
		for i := range c.lits {
			if same(x, &c.lits[i]) {
				return oTrue
			}
		}
		return oFalse
	case cHas:
		switch {
		case x.kind == kNull:
			return oFalse // null | has("k") is false
		case x.kind == kOther && x.v.Type() == fastjson.TypeObject:
			o, _ := x.v.Object()
			return truth(o.Get(c.s) != nil)
		}
		return oErr
	}
	if x.kind != kString {
		return oErr // startswith, endswith, contains, test of a non-string
	}
	switch c.op {
	case cPrefix:
		return truth(bytes.HasPrefix(x.s, []byte(c.s)))
	case cSuffix:
		return truth(bytes.HasSuffix(x.s, []byte(c.s)))
	case cContains:
		return truth(bytes.Contains(x.s, []byte(c.s)))
	}
	return oAny
}

// result is what the engine decided.
type result uint8

const (
	undecided result = iota // run gojq
	match
	noMatch
)

// decide evaluates the program on root.
func (p *program) decide(root *fastjson.Value) (result, string) {
	for _, c := range p.stages {
		switch c.eval(root) {
		case oTrue:
		case oFalse:
			return noMatch, ""
		default:
			return undecided, ""
		}
	}
	switch p.result {
	case rRecord:
		return match, ""
	case rCond:
		switch p.cond.eval(root) {
		case oTrue:
			return match, ""
		case oFalse:
			return noMatch, ""
		}
	case rLiteral:
		switch p.lit.kind {
		case kString:
			return match, p.lit.s
		case kTrue:
			return match, ""
		}
		return noMatch, ""
	case rValue:
		var scratch [128]byte
		x, ok := p.val.read(root, scratch[:0])
		if !ok {
			return undecided, ""
		}
		switch x.kind {
		case kNull, kFalse:
			return noMatch, ""
		case kTrue:
			return match, ""
		case kString:
			return match, string(x.s)
		}
		// A number, an object or an array: annotated with its JSON as
		// gojq writes the converted value. A value found inside the
		// record is never the whole record.
		b, err := gojq.Marshal(convert(x.v))
		if err != nil {
			return undecided, ""
		}
		return match, string(b)
	case rString:
		var (
			b       strings.Builder
			scratch [128]byte
		)
		for _, part := range p.parts {
			if part.val == nil {
				b.WriteString(part.text)
				continue
			}
			x, ok := part.val.read(root, scratch[:0])
			if !ok {
				return undecided, ""
			}
			switch x.kind {
			case kString:
				b.Write(x.s)
			case kNull:
				b.WriteString("null")
			case kTrue:
				b.WriteString("true")
			case kFalse:
				b.WriteString("false")
			default:
				// tostring writes anything else as JSON.
				j, err := gojq.Marshal(convert(x.v))
				if err != nil {
					return undecided, ""
				}
				b.Write(j)
			}
		}
		return match, b.String()
	}
	return undecided, ""
}

// rejects reports whether a condition of the program is certainly false
// on root, so that the query yields nothing and raises no error.
func (p *program) rejects(root *fastjson.Value) bool {
	for _, c := range p.stages {
		switch c.eval(root) {
		case oTrue:
		case oFalse:
			return true
		default:
			return false
		}
	}
	return p.result == rCond && p.cond.eval(root) == oFalse
}

// compileRegexp compiles a test(re; flags) expression as gojq does, so that
// the engine's matches are gojq's.
func compileRegexp(re, flags string) (*regexp.Regexp, error) {
	if strings.ContainsFunc(flags, func(r rune) bool { return r != 'g' && r != 'i' && r != 'm' }) {
		return nil, fmt.Errorf("unsupported regular expression flag: %q", flags)
	}
	if strings.ContainsRune(flags, 'i') {
		re = "(?i)" + re
	}
	if strings.ContainsRune(flags, 'm') {
		re = "(?s)" + re
	}
	return regexp.Compile(re)
}
