package filter

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// kind says what a node tests.
type kind uint8

const (
	kindAnd       kind = iota // every child matches
	kindOr                    // some child matches
	kindCompare               // selector op value
	kindIn                    // selector = one of several exact strings (a merged || of = terms)
	kindIsTrue                // selector IS TRUE
	kindIsFalse               // selector IS FALSE
	kindIsNull                // selector IS NULL
	kindNotExists             // selector NOT EXISTS
)

// op is a comparison operator.
type op uint8

const (
	opEq op = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

func (o op) String() string {
	switch o {
	case opNe:
		return "!="
	case opLt:
		return "<"
	case opLe:
		return "<="
	case opGt:
		return ">"
	case opGe:
		return ">="
	}
	return "="
}

// step is one part of a selector: an object key or an array index.
type step struct {
	key   string
	index int // valid when isIndex
	isIdx bool
}

// selector is a parsed $.a.b[0] path.
type selector struct {
	steps []step
}

// resolve walks the path from root. It returns nil when any step is missing
// or meets a value of the wrong shape (a key on an array, an index on an
// object, anything on a scalar).
func (s *selector) resolve(root *fastjson.Value) *fastjson.Value {
	v := root
	for i := range s.steps {
		if v == nil {
			return nil
		}
		st := &s.steps[i]
		if st.isIdx {
			if v.Type() != fastjson.TypeArray {
				return nil
			}
			a, _ := v.Array()
			if st.index >= len(a) {
				return nil
			}
			v = a[st.index]
			continue
		}
		if v.Type() != fastjson.TypeObject {
			return nil
		}
		o, _ := v.Object()
		v = o.Get(st.key)
	}
	return v
}

// isName reports whether s can be written as a plain .name step.
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func (s *selector) String() string {
	var b strings.Builder
	b.WriteByte('$')
	for _, st := range s.steps {
		switch {
		case st.isIdx:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(st.index))
			b.WriteByte(']')
		case isName(st.key):
			b.WriteByte('.')
			b.WriteString(st.key)
		default:
			b.WriteString(".[")
			b.WriteString(quote(st.key))
			b.WriteByte(']')
		}
	}
	return b.String()
}

// isEventName reports whether the selector is exactly $.eventName.
func (s *selector) isEventName() bool {
	return len(s.steps) == 1 && !s.steps[0].isIdx && s.steps[0].key == "eventName"
}

// valueKind says what the right-hand side of a comparison is.
type valueKind uint8

const (
	valString valueKind = iota // quoted or bare text, with * at either end as a wildcard
	valNumber                  // a number literal
	valRegex                   // %regex%
)

// value is the right-hand side of a comparison, prepared at compile time.
type value struct {
	kind valueKind

	// text is the string after unescaping (valString, with its wildcards),
	// the number as written (valNumber) or the regular expression (valRegex).
	text string

	// String matching: lit is text without the leading and trailing *.
	lit        string
	litb       []byte // lit, kept as bytes so matching converts nothing
	lead, tail bool   // a leading / trailing * wildcard
	anyValue   bool   // the pattern is * alone: any string, number, boolean or null

	num float64        // valNumber
	re  *regexp.Regexp // valRegex
}

// newString prepares a string pattern. A * at the start or the end is a
// wildcard; a * anywhere else is an ordinary character (AWS: "Ev*ent will
// only match the actual string Ev*ent").
func newString(text string) value {
	v := value{kind: valString, text: text, lit: text}
	if strings.HasPrefix(v.lit, "*") {
		v.lead = true
		v.lit = v.lit[1:]
	}
	if strings.HasSuffix(v.lit, "*") {
		v.tail = true
		v.lit = v.lit[:len(v.lit)-1]
	}
	v.anyValue = v.lead && v.lit == ""
	v.litb = []byte(v.lit)
	return v
}

// exact reports whether the pattern matches one string only.
func (v *value) exact() bool {
	return v.kind == valString && !v.lead && !v.tail
}

// matchText applies a string pattern to text.
func (v *value) matchText(b []byte) bool {
	switch {
	case v.anyValue:
		return true
	case v.lead && v.tail:
		return bytes.Contains(b, v.litb)
	case v.lead:
		return bytes.HasSuffix(b, v.litb)
	case v.tail:
		return bytes.HasPrefix(b, v.litb)
	}
	return string(b) == v.lit
}

func (v *value) String() string {
	switch v.kind {
	case valNumber:
		return v.text
	case valRegex:
		return "%" + v.text + "%"
	}
	return quote(v.text)
}

// quote writes s as a filter-pattern quoted string: only " and \ are escaped.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// node is one element of a compiled filter.
type node struct {
	kind kind
	kids []*node // kindAnd, kindOr

	sel selector // leaves
	op  op       // kindCompare
	val value    // kindCompare

	set  map[string]struct{} // kindIn
	list []string            // kindIn, in source order, for String and EventNames
}

// match evaluates the node against the record root.
func (n *node) match(root *fastjson.Value) bool {
	switch n.kind {
	case kindAnd:
		for _, k := range n.kids {
			if !k.match(root) {
				return false
			}
		}
		return true
	case kindOr:
		for _, k := range n.kids {
			if k.match(root) {
				return true
			}
		}
		return false
	case kindCompare:
		return n.compare(n.sel.resolve(root))
	case kindIn:
		v := n.sel.resolve(root)
		if v == nil {
			return false
		}
		switch v.Type() {
		case fastjson.TypeString:
			b, _ := v.StringBytes()
			_, ok := n.set[string(b)]
			return ok
		case fastjson.TypeNumber:
			var buf [64]byte
			_, ok := n.set[string(v.MarshalTo(buf[:0]))]
			return ok
		}
		return false
	case kindIsTrue:
		v := n.sel.resolve(root)
		return v != nil && v.Type() == fastjson.TypeTrue
	case kindIsFalse:
		v := n.sel.resolve(root)
		return v != nil && v.Type() == fastjson.TypeFalse
	case kindIsNull:
		v := n.sel.resolve(root)
		return v != nil && v.Type() == fastjson.TypeNull
	case kindNotExists:
		return n.sel.resolve(root) == nil
	}
	return false
}

// compare applies one comparison to the selected value. A missing value, an
// array or an object never matches, whatever the operator: AWS applies a
// term only to a value node.
func (n *node) compare(v *fastjson.Value) bool {
	if v == nil {
		return false
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return n.compareText(b)
	case fastjson.TypeNumber:
		if n.val.kind == valNumber {
			f, err := v.Float64()
			if err != nil {
				return false
			}
			return compareNum(n.op, f, n.val.num)
		}
		var buf [64]byte
		return n.compareText(v.MarshalTo(buf[:0]))
	case fastjson.TypeTrue, fastjson.TypeFalse, fastjson.TypeNull:
		// Only = * accepts these; any other term does not apply to them.
		return n.op == opEq && n.val.kind == valString && n.val.anyValue
	}
	return false
}

// compareText applies the comparison to text: a JSON string, or the digits
// of a JSON number compared with a string or regex pattern.
func (n *node) compareText(b []byte) bool {
	var eq bool
	switch n.val.kind {
	case valString:
		eq = n.val.matchText(b)
	case valRegex:
		eq = n.val.re.Match(b)
	case valNumber:
		// A number pattern against a string field compares the text as
		// written: {$.recipientAccountId = 012345678901} matches the
		// CloudTrail string "012345678901". Ordering needs a JSON number.
		if n.op != opEq && n.op != opNe {
			return false
		}
		eq = string(b) == n.val.text
	}
	if n.op == opNe {
		return !eq
	}
	return eq
}

func compareNum(o op, a, b float64) bool {
	switch o {
	case opEq:
		return a == b
	case opNe:
		return a != b
	case opLt:
		return a < b
	case opLe:
		return a <= b
	case opGt:
		return a > b
	case opGe:
		return a >= b
	}
	return false
}

// write appends the node in canonical pattern syntax. paren wraps an ||
// (or a merged set) in parentheses when it is the child of an &&.
func (n *node) write(b *strings.Builder, paren bool) {
	switch n.kind {
	case kindAnd:
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(" && ")
			}
			k.write(b, true)
		}
	case kindOr:
		if paren {
			b.WriteByte('(')
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(" || ")
			}
			k.write(b, false)
		}
		if paren {
			b.WriteByte(')')
		}
	case kindIn:
		if paren {
			b.WriteByte('(')
		}
		sel := n.sel.String()
		for i, s := range n.list {
			if i > 0 {
				b.WriteString(" || ")
			}
			b.WriteString(sel)
			b.WriteString(" = ")
			b.WriteString(quote(s))
		}
		if paren {
			b.WriteByte(')')
		}
	case kindCompare:
		b.WriteString(n.sel.String())
		b.WriteByte(' ')
		b.WriteString(n.op.String())
		b.WriteByte(' ')
		b.WriteString(n.val.String())
	case kindIsTrue:
		b.WriteString(n.sel.String() + " IS TRUE")
	case kindIsFalse:
		b.WriteString(n.sel.String() + " IS FALSE")
	case kindIsNull:
		b.WriteString(n.sel.String() + " IS NULL")
	case kindNotExists:
		b.WriteString(n.sel.String() + " NOT EXISTS")
	}
}

// eventNames returns the exact eventName values the node requires, and
// whether it pins the name at all.
func (n *node) eventNames() (map[string]struct{}, bool) {
	switch n.kind {
	case kindCompare:
		if n.op != opEq || !n.sel.isEventName() {
			return nil, false
		}
		if n.val.exact() || n.val.kind == valNumber {
			return map[string]struct{}{n.val.text: {}}, true
		}
		return nil, false
	case kindIn:
		if !n.sel.isEventName() {
			return nil, false
		}
		m := make(map[string]struct{}, len(n.list))
		for _, s := range n.list {
			m[s] = struct{}{}
		}
		return m, true
	case kindOr:
		union := map[string]struct{}{}
		for _, k := range n.kids {
			m, ok := k.eventNames()
			if !ok {
				return nil, false
			}
			for s := range m {
				union[s] = struct{}{}
			}
		}
		return union, true
	case kindAnd:
		var inter map[string]struct{}
		pinned := false
		for _, k := range n.kids {
			m, ok := k.eventNames()
			if !ok {
				continue
			}
			if !pinned {
				inter, pinned = m, true
				continue
			}
			for s := range inter {
				if _, ok := m[s]; !ok {
					delete(inter, s)
				}
			}
		}
		return inter, pinned
	}
	return nil, false
}
