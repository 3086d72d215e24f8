package sigma

import (
	"bytes"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// valueKind says how one value of a field condition is matched.
type valueKind uint8

const (
	vGlob    valueKind = iota // text with wildcards (contains, startswith, endswith are globs)
	vNumber                   // a number written in the rule: equal as a number, or as its text
	vNull                     // null: the field is missing or null
	vExists                   // |exists: the field is (or is not) present
	vRegex                    // |re
	vCIDR                     // |cidr
	vCompare                  // |gt, |gte, |lt, |lte
	vRef                      // |fieldref: compared with another field of the event
)

// cmpOp is a numeric comparison.
type cmpOp uint8

const (
	opGT cmpOp = iota
	opGTE
	opLT
	opLTE
)

// refMode is how a field reference is compared.
type refMode uint8

const (
	refEqual refMode = iota
	refContains
	refPrefix
	refSuffix
)

// value is one compiled value of a field condition.
type value struct {
	kind   valueKind
	cased  bool
	glob   glob
	num    float64
	op     cmpOp
	re     *regexp.Regexp
	prefix netip.Prefix
	exists bool
	ref    fieldPath
	mode   refMode
}

// fieldCond is one "field|modifiers: values" entry of a selection.
type fieldCond struct {
	path fieldPath
	// all is the |all modifier: every value must hold, not one.
	all    bool
	values []value
	// fold reports whether some value compares folded text, so that a
	// field's text is folded once for all of them; foldAlways that one of
	// them is not a plain word, for which ASCII text is compared unfolded.
	fold, foldAlways bool
}

// selection is a search identifier: a map (every field condition holds) or a
// list of maps (one of them holds).
type selection struct {
	name string
	line int
	alts [][]*fieldCond
}

// nodeOp is a condition operator.
type nodeOp uint8

const (
	nodeSel nodeOp = iota
	nodeAnd
	nodeOr
	nodeNot
)

// node is the compiled condition.
type node struct {
	op   nodeOp
	sel  *selection
	kids []*node
}

func (n *node) eval(root *fastjson.Value) bool {
	switch n.op {
	case nodeSel:
		return n.sel.match(root)
	case nodeAnd:
		for _, k := range n.kids {
			if !k.eval(root) {
				return false
			}
		}
		return true
	case nodeOr:
		for _, k := range n.kids {
			if k.eval(root) {
				return true
			}
		}
		return false
	case nodeNot:
		return !n.kids[0].eval(root)
	}
	return false
}

func (s *selection) match(root *fastjson.Value) bool {
	for _, alt := range s.alts {
		ok := true
		for _, fc := range alt {
			if !fc.match(root) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// match evaluates the field condition on the record.
func (fc *fieldCond) match(root *fastjson.Value) bool {
	if fc.all {
		for i := range fc.values {
			if !fc.holds(root, &fc.values[i]) {
				return false
			}
		}
		return true
	}
	for i := range fc.values {
		v := &fc.values[i]
		switch v.kind {
		case vNull, vExists:
			if fc.holds(root, v) {
				return true
			}
		}
	}
	// The values matched against the field's text: read (and fold) each
	// text once and try them all.
	return fc.visit(root, root, 0, nil)
}

// holds reports whether one value holds for the field.
func (fc *fieldCond) holds(root *fastjson.Value, v *value) bool {
	switch v.kind {
	case vNull:
		return !fc.path.nonNull(root, 0)
	case vExists:
		return fc.path.present(root, 0) == v.exists
	}
	return fc.visit(root, root, 0, v)
}

// visit walks the field's path from cur at depth i and tests the values it
// leads to: one value (only) or, when only is nil, every text value of the
// condition. Arrays are looked through at every step; at the end of the
// path an object or array matches when any value inside it does.
func (fc *fieldCond) visit(root, cur *fastjson.Value, i int, only *value) bool {
	p := &fc.path
	if i < len(p.keys) {
		switch cur.Type() {
		case fastjson.TypeObject:
			o, _ := cur.Object()
			for j, k := range p.keys[i] {
				if c := o.Get(k); c != nil && fc.visit(root, c, i+j+1, only) {
					return true
				}
			}
		case fastjson.TypeArray:
			a, _ := cur.Array()
			for _, e := range a {
				if fc.visit(root, e, i, only) {
					return true
				}
			}
		}
		return false
	}
	return fc.leaves(root, cur, only)
}

// leaves tests every scalar in v (v itself, or the values inside an object
// or array).
func (fc *fieldCond) leaves(root, v *fastjson.Value, only *value) bool {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		found := false
		o.Visit(func(_ []byte, c *fastjson.Value) {
			if !found && fc.leaves(root, c, only) {
				found = true
			}
		})
		return found
	case fastjson.TypeArray:
		a, _ := v.Array()
		for _, e := range a {
			if fc.leaves(root, e, only) {
				return true
			}
		}
		return false
	case fastjson.TypeNull:
		return false
	}
	var (
		text   = jsonText(v)
		ftext  []byte
		folded [128]byte
	)
	// Fold the text once, when a value needs folded text: ASCII text is
	// compared with the folded values directly (the common case), other
	// text and ? wildcards and field references need a folded copy.
	if only != nil {
		if !only.cased && needsFold(only.kind) && (only.foldAlways() || !isASCII(text)) {
			ftext = AppendFold(folded[:0], text)
		}
		return only.test(root, v, text, ftext)
	}
	if fc.foldAlways || (fc.fold && !isASCII(text)) {
		ftext = AppendFold(folded[:0], text)
	}
	for i := range fc.values {
		val := &fc.values[i]
		if val.kind == vNull || val.kind == vExists {
			continue
		}
		if val.test(root, v, text, ftext) {
			return true
		}
	}
	return false
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// equalFoldASCII compares text with a folded literal when text is ASCII
// (decided is false otherwise).
func equalFoldASCII(text, folded []byte) (eq, decided bool) {
	eq = len(text) == len(folded)
	for i, b := range text {
		if b >= utf8.RuneSelf {
			return false, false
		}
		if eq {
			if 'a' <= b && b <= 'z' {
				b -= 'a' - 'A'
			}
			eq = b == folded[i]
		}
	}
	return eq, true
}

// foldAlways reports whether the value needs folded text even when the
// text is ASCII: ? wildcards and field references.
func (val *value) foldAlways() bool {
	return val.kind == vRef || ((val.kind == vGlob || val.kind == vNumber) && !val.glob.starOnly)
}

// needsFold reports whether a value kind compares folded text when it is
// case-insensitive.
func needsFold(k valueKind) bool { return k == vGlob || k == vNumber || k == vRef }

// jsonText returns the text of a JSON scalar: a string's characters, a
// number as written, true or false.
func jsonText(v *fastjson.Value) []byte {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return b
	case fastjson.TypeNumber:
		return numberText(v)
	case fastjson.TypeTrue:
		return trueText
	case fastjson.TypeFalse:
		return falseText
	}
	return nil
}

var trueText, falseText = []byte("true"), []byte("false")

// numberText returns a number's text as written. It allocates, which only
// numbers compared as text pay.
func numberText(v *fastjson.Value) []byte { return v.MarshalTo(nil) }

// test matches one scalar v whose text is text; ftext is the text folded,
// which leaves provides whenever this value needs it.
func (val *value) test(root, v *fastjson.Value, text, ftext []byte) bool {
	if ftext == nil && !val.cased && (val.kind == vGlob || (val.kind == vNumber && v.Type() == fastjson.TypeString)) {
		// ASCII text: compare with the folded value without folding a
		// copy (leaves folds the text whenever this cannot decide).
		return val.glob.matchASCII(text)
	}
	cmp := text
	if !val.cased && needsFold(val.kind) {
		cmp = ftext
	}
	switch val.kind {
	case vGlob:
		return val.glob.match(cmp)
	case vNumber:
		if v.Type() == fastjson.TypeNumber {
			f, ok := parseNumber(text)
			return ok && f == val.num
		}
		return v.Type() == fastjson.TypeString && val.glob.match(cmp)
	case vRegex:
		return matchRegexp(val.re, v)
	case vCIDR:
		if v.Type() != fastjson.TypeString {
			return false
		}
		a, ok := parseAddr(text)
		return ok && val.prefix.Contains(a.Unmap())
	case vCompare:
		f, ok := parseNumber(text)
		if !ok || (v.Type() != fastjson.TypeNumber && v.Type() != fastjson.TypeString) {
			return false
		}
		switch val.op {
		case opGT:
			return f > val.num
		case opGTE:
			return f >= val.num
		case opLT:
			return f < val.num
		case opLTE:
			return f <= val.num
		}
	case vRef:
		return val.refMatch(root, root, 0, cmp)
	}
	return false
}

// refMatch walks the referenced field's path and compares each of its
// scalars with a, the referring field's (folded) text.
func (val *value) refMatch(root, cur *fastjson.Value, i int, a []byte) bool {
	p := &val.ref
	if i < len(p.keys) {
		switch cur.Type() {
		case fastjson.TypeObject:
			o, _ := cur.Object()
			for j, k := range p.keys[i] {
				if c := o.Get(k); c != nil && val.refMatch(root, c, i+j+1, a) {
					return true
				}
			}
		case fastjson.TypeArray:
			arr, _ := cur.Array()
			for _, e := range arr {
				if val.refMatch(root, e, i, a) {
					return true
				}
			}
		}
		return false
	}
	return val.refLeaves(cur, a)
}

func (val *value) refLeaves(v *fastjson.Value, a []byte) bool {
	switch v.Type() {
	case fastjson.TypeObject, fastjson.TypeNull:
		// A field is compared with a value, not with an object.
		return false
	case fastjson.TypeArray:
		arr, _ := v.Array()
		for _, e := range arr {
			if val.refLeaves(e, a) {
				return true
			}
		}
		return false
	}
	var folded [128]byte
	b := jsonText(v)
	if !val.cased {
		b = AppendFold(folded[:0], b)
	}
	switch val.mode {
	case refContains:
		return bytes.Contains(a, b)
	case refPrefix:
		return bytes.HasPrefix(a, b)
	case refSuffix:
		return bytes.HasSuffix(a, b)
	}
	return bytes.Equal(a, b)
}

// matchRegexp matches a regular expression against a scalar's text. It
// reads the text itself: the regexp package keeps its input, which would
// otherwise move every caller's buffer to the heap.
func matchRegexp(re *regexp.Regexp, v *fastjson.Value) bool {
	if v.Type() == fastjson.TypeString {
		b, _ := v.StringBytes()
		return re.Match(b)
	}
	return re.MatchString(v.String())
}

// parseAddr parses an IP address. IPv4 text is read in place, without the
// copy that netip.ParseAddr's string argument would cost.
func parseAddr(b []byte) (netip.Addr, bool) {
	var (
		a4     [4]byte
		n, dot int
		digits int
	)
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && n == 0 {
				return parseAddrSlow(b) // leading zero: let netip decide
			}
			n = n*10 + int(c-'0')
			digits++
			if n > 255 || digits > 3 {
				return netip.Addr{}, false
			}
		case c == '.' && digits > 0 && dot < 3:
			a4[dot] = byte(n)
			dot++
			n, digits = 0, 0
		case c == ':' || c == '%' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'):
			return parseAddrSlow(b)
		default:
			return netip.Addr{}, false
		}
	}
	if dot != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	a4[3] = byte(n)
	return netip.AddrFrom4(a4), true
}

func parseAddrSlow(b []byte) (netip.Addr, bool) {
	a, err := netip.ParseAddr(string(b))
	return a, err == nil
}

// parseNumber reads a number written as text ("42", "1.5e3"); infinities
// and NaN are not numbers.
func parseNumber(b []byte) (float64, bool) {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}
