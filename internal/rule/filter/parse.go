package filter

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// SyntaxError is a compile error: what is wrong and the byte offset in the
// pattern where it was found.
type SyntaxError struct {
	// Offset is the zero-based byte offset into the pattern.
	Offset int
	// Msg says what is wrong, naming the offending token.
	Msg string
}

// Error reads "filter: offset 17: expected an operator after $.eventName,
// got "ConsoleLogin"".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("filter: offset %d: %s", e.Offset, e.Msg)
}

// maxDepth bounds parenthesis nesting, so that hostile input cannot exhaust
// the stack.
const maxDepth = 100

// maxIndex bounds array indexes; CloudTrail arrays are far shorter.
const maxIndex = 1 << 20

type parser struct {
	src   string
	pos   int
	depth int
}

func (p *parser) errorf(at int, format string, args ...any) error {
	return &SyntaxError{Offset: at, Msg: fmt.Sprintf(format, args...)}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

// isPunct reports the characters that end a bare word in error messages.
func isPunct(c byte) bool {
	return strings.IndexByte("{}()[]=<>!&|\"%", c) >= 0
}

// token returns a short description of the token at pos for error messages:
// "end of pattern" or the token quoted.
func (p *parser) token(pos int) string {
	s := p.src
	if pos >= len(s) {
		return "end of pattern"
	}
	end := pos + 1
	switch c := s[pos]; {
	case c == '"' || c == '%':
		for end < len(s) && s[end] != c {
			if c == '"' && s[end] == '\\' {
				end++
			}
			end++
		}
		end = min(end+1, len(s))
	case strings.HasPrefix(s[pos:], "&&"), strings.HasPrefix(s[pos:], "||"),
		strings.HasPrefix(s[pos:], "!="), strings.HasPrefix(s[pos:], "<="), strings.HasPrefix(s[pos:], ">="):
		end = pos + 2
	case isPunct(c):
	default:
		for end < len(s) && !isSpace(s[end]) && !isPunct(s[end]) {
			end++
		}
	}
	t := s[pos:end]
	const maxShown = 40
	if len(t) > maxShown {
		t = t[:maxShown] + "..."
	}
	return strconv.Quote(t)
}

// parse compiles the whole pattern.
func (p *parser) parse() (*node, error) {
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf(p.pos, "the pattern is empty; only the JSON form { ... } is supported")
	}
	switch p.src[p.pos] {
	case '{':
	case '[':
		return nil, p.errorf(p.pos, "space-delimited patterns [ ... ] are not supported; only the JSON form { ... } is supported")
	default:
		return nil, p.errorf(p.pos, "term pattern %s is not supported; only the JSON form { ... } is supported", p.token(p.pos))
	}
	open := p.pos
	p.pos++
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf(p.pos, "expected &&, || or \"}\" to close the \"{\" at offset %d, got end of pattern", open)
	}
	if p.src[p.pos] != '}' {
		return nil, p.errorf(p.pos, "expected &&, || or \"}\", got %s", p.token(p.pos))
	}
	p.pos++
	p.skipSpace()
	if !p.eof() {
		return nil, p.errorf(p.pos, "unexpected %s after the closing \"}\"", p.token(p.pos))
	}
	return n, nil
}

// next skips whitespace and reports whether the input continues with s.
func (p *parser) next(s string) bool {
	p.skipSpace()
	return strings.HasPrefix(p.src[p.pos:], s)
}

func (p *parser) parseOr() (*node, error) {
	first, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	kids := []*node{first}
	for p.next("||") {
		p.pos += 2
		n, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	return newOr(kids), nil
}

func (p *parser) parseAnd() (*node, error) {
	first, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	kids := []*node{first}
	for p.next("&&") {
		p.pos += 2
		n, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	return newAnd(kids), nil
}

func (p *parser) parsePrimary() (*node, error) {
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf(p.pos, "expected a selector such as $.eventName or \"(\", got end of pattern")
	}
	switch p.src[p.pos] {
	case '(':
		open := p.pos
		if p.depth >= maxDepth {
			return nil, p.errorf(p.pos, "parentheses are nested more than %d deep", maxDepth)
		}
		p.depth++
		p.pos++
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		p.depth--
		p.skipSpace()
		if p.eof() || p.src[p.pos] != ')' {
			return nil, p.errorf(p.pos, "expected &&, || or \")\" to close the \"(\" at offset %d, got %s", open, p.token(p.pos))
		}
		p.pos++
		return n, nil
	case '$':
		return p.parseTerm()
	}
	return nil, p.errorf(p.pos, "expected a selector such as $.eventName or \"(\", got %s", p.token(p.pos))
}

// word returns the run of ASCII letters at pos, for keywords.
func (p *parser) word() string {
	end := p.pos
	for end < len(p.src) && (p.src[end] >= 'A' && p.src[end] <= 'Z' || p.src[end] >= 'a' && p.src[end] <= 'z') {
		end++
	}
	if end < len(p.src) && !isSpace(p.src[end]) && !isPunct(p.src[end]) {
		return "" // part of a longer bare word
	}
	return p.src[p.pos:end]
}

func (p *parser) parseTerm() (*node, error) {
	selStart := p.pos
	sel, err := p.parseSelector()
	if err != nil {
		return nil, err
	}
	selText := p.src[selStart:p.pos]
	p.skipSpace()
	switch p.word() {
	case "IS":
		p.pos += 2
		p.skipSpace()
		n := &node{sel: sel}
		switch p.word() {
		case "TRUE":
			n.kind = kindIsTrue
		case "FALSE":
			n.kind = kindIsFalse
		case "NULL":
			n.kind = kindIsNull
		default:
			return nil, p.errorf(p.pos, "expected TRUE, FALSE or NULL after IS, got %s", p.token(p.pos))
		}
		p.pos += len(p.word())
		return n, nil
	case "NOT":
		p.pos += 3
		p.skipSpace()
		if p.word() != "EXISTS" {
			return nil, p.errorf(p.pos, "expected EXISTS after NOT, got %s", p.token(p.pos))
		}
		p.pos += len("EXISTS")
		return &node{kind: kindNotExists, sel: sel}, nil
	}
	o, ok := p.parseOp()
	if !ok {
		return nil, p.errorf(p.pos, "expected an operator after %s, got %s", selText, p.token(p.pos))
	}
	val, err := p.parseValue(o)
	if err != nil {
		return nil, err
	}
	return &node{kind: kindCompare, sel: sel, op: o, val: val}, nil
}

func (p *parser) parseOp() (op, bool) {
	s := p.src[p.pos:]
	for _, c := range []struct {
		text string
		op   op
	}{{"!=", opNe}, {"<=", opLe}, {">=", opGe}, {"=", opEq}, {"<", opLt}, {">", opGt}} {
		if strings.HasPrefix(s, c.text) {
			p.pos += len(c.text)
			return c.op, true
		}
	}
	return 0, false
}

func (p *parser) parseSelector() (selector, error) {
	start := p.pos
	p.pos++ // $
	var sel selector
	for !p.eof() {
		c := p.src[p.pos]
		switch {
		case c == '.':
			p.pos++
			if !p.eof() && (p.src[p.pos] == '[') {
				key, err := p.parseQuotedKey(start)
				if err != nil {
					return sel, err
				}
				sel.steps = append(sel.steps, step{key: key})
				continue
			}
			end := p.pos
			for end < len(p.src) && isNameByte(p.src[end]) {
				end++
			}
			if end == p.pos {
				return sel, p.errorf(p.pos, "expected a property name after %q, got %s", p.src[start:p.pos], p.token(p.pos))
			}
			sel.steps = append(sel.steps, step{key: p.src[p.pos:end]})
			p.pos = end
		case c == '[':
			if p.pos+1 < len(p.src) && (p.src[p.pos+1] == '"' || p.src[p.pos+1] == '\'') {
				key, err := p.parseQuotedKey(start)
				if err != nil {
					return sel, err
				}
				sel.steps = append(sel.steps, step{key: key})
				continue
			}
			if len(sel.steps) == 0 {
				return sel, p.errorf(p.pos, "an array index must follow a property name, as in $.users[0]")
			}
			at := p.pos
			p.pos++
			end := p.pos
			for end < len(p.src) && p.src[end] >= '0' && p.src[end] <= '9' {
				end++
			}
			if end == p.pos || end >= len(p.src) || p.src[end] != ']' {
				return sel, p.errorf(at, "expected an array index such as [0] after %q, got %s", p.src[start:at], p.token(p.pos))
			}
			idx, err := strconv.Atoi(p.src[p.pos:end])
			if err != nil || idx > maxIndex {
				return sel, p.errorf(p.pos, "array index %s is larger than %d", p.src[p.pos:end], maxIndex)
			}
			sel.steps = append(sel.steps, step{index: idx, isIdx: true})
			p.pos = end + 1
		default:
			if len(sel.steps) == 0 {
				at := p.pos
				p.skipSpace()
				return sel, p.errorf(at, "expected a property such as $.eventName after \"$\", got %s", p.token(p.pos))
			}
			return sel, nil
		}
	}
	if len(sel.steps) == 0 {
		return sel, p.errorf(p.pos, "expected a property such as $.eventName after \"$\", got end of pattern")
	}
	return sel, nil
}

// parseQuotedKey reads ["name"] or ['name'] at pos, for property names that
// are not letters, digits, _ and - only.
func (p *parser) parseQuotedKey(selStart int) (string, error) {
	at := p.pos
	if p.pos+1 >= len(p.src) || (p.src[p.pos+1] != '"' && p.src[p.pos+1] != '\'') {
		return "", p.errorf(at, "expected a quoted property name such as [\"a.b\"] after %q, got %s", p.src[selStart:at], p.token(p.pos+1))
	}
	p.pos++
	key, err := p.parseQuoted(p.src[p.pos])
	if err != nil {
		return "", err
	}
	if p.eof() || p.src[p.pos] != ']' {
		p.skipSpace()
		return "", p.errorf(p.pos, "expected \"]\" after the quoted property name, got %s", p.token(p.pos))
	}
	p.pos++
	return key, nil
}

// parseQuoted reads a string quoted with q starting at pos. A backslash
// escapes the quote character and itself; before any other character it is
// kept as written.
func (p *parser) parseQuoted(q byte) (string, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == q:
			p.pos++
			return b.String(), nil
		case c == '\\' && p.pos+1 < len(p.src) && (p.src[p.pos+1] == q || p.src[p.pos+1] == '\\'):
			b.WriteByte(p.src[p.pos+1])
			p.pos += 2
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", p.errorf(start, "unterminated quoted string; add the closing %c", q)
}

// isBareByte reports the characters a value may hold without quotes.
func isBareByte(c byte) bool {
	return isNameByte(c) || strings.IndexByte(".*:/+", c) >= 0
}

// isNumber reports whether s is [+-]digits[.digits][(e|E)[+-]digits].
func isNumber(s string) bool {
	i := 0
	digits := func() bool {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if !digits() {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}

func (p *parser) parseValue(o op) (value, error) {
	opEnd := p.pos
	p.skipSpace()
	at := p.pos
	if p.eof() {
		return value{}, p.errorf(at, "expected a value after %s, got end of pattern", o)
	}
	numeric := o != opEq && o != opNe
	switch p.src[p.pos] {
	case '"':
		s, err := p.parseQuoted('"')
		if err != nil {
			return value{}, err
		}
		if numeric {
			return value{}, p.errorf(at, "operator %s needs a number, got %s", o, p.token(at))
		}
		return newString(s), nil
	case '%':
		end := strings.IndexByte(p.src[p.pos+1:], '%')
		if end < 0 {
			return value{}, p.errorf(at, "unterminated %%regex%% value %s", p.token(at))
		}
		expr := p.src[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		if numeric {
			return value{}, p.errorf(at, "operator %s needs a number, got %s", o, p.token(at))
		}
		if expr == "" {
			return value{}, p.errorf(at, "empty %%regex%% value")
		}
		if i := strings.IndexAny(expr, "()"); i >= 0 {
			return value{}, p.errorf(at+1+i, "parentheses are not supported in a %%regex%% value")
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return value{}, p.errorf(at, "invalid %%regex%% value %s: %v", p.token(at), err)
		}
		return value{kind: valRegex, text: expr, re: re}, nil
	}
	if o == opEq && p.pos == opEnd && p.src[p.pos] == '=' {
		return value{}, p.errorf(opEnd-1, "\"==\" is not an operator; use =")
	}
	end := p.pos
	for end < len(p.src) && isBareByte(p.src[end]) {
		end++
	}
	if end == p.pos {
		return value{}, p.errorf(at, "expected a value after %s, got %s", o, p.token(at))
	}
	text := p.src[p.pos:end]
	p.pos = end
	if !p.eof() {
		c := p.src[p.pos]
		if !isSpace(c) && c != ')' && c != '}' && c != '&' && c != '|' {
			return value{}, p.errorf(p.pos, "unexpected %q after the value %s; put values with other characters in double quotes", string(c), text)
		}
	}
	if isNumber(text) {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) {
			return value{}, p.errorf(at, "number %s is out of range", text)
		}
		return value{kind: valNumber, text: text, num: f}, nil
	}
	if numeric {
		return value{}, p.errorf(at, "operator %s needs a number, got %s", o, p.token(at))
	}
	return newString(text), nil
}

// newAnd builds an && node, flattening nested &&.
func newAnd(kids []*node) *node {
	if len(kids) == 1 {
		return kids[0]
	}
	var flat []*node
	for _, k := range kids {
		if k.kind == kindAnd {
			flat = append(flat, k.kids...)
			continue
		}
		flat = append(flat, k)
	}
	return &node{kind: kindAnd, kids: flat}
}

// newOr builds an || node, flattening nested || and merging exact-string =
// terms on the same selector into one set lookup, so that the CIS filters'
// long lists of ($.eventName = X) cost one map probe.
func newOr(kids []*node) *node {
	if len(kids) == 1 {
		return kids[0]
	}
	var flat []*node
	for _, k := range kids {
		if k.kind == kindOr {
			flat = append(flat, k.kids...)
			continue
		}
		flat = append(flat, k)
	}
	var out []*node
	sets := map[string]*node{}
	for _, k := range flat {
		var sel string
		var vals []string
		switch {
		case k.kind == kindCompare && k.op == opEq && k.val.exact():
			sel, vals = k.sel.String(), []string{k.val.text}
		case k.kind == kindIn:
			sel, vals = k.sel.String(), k.list
		default:
			out = append(out, k)
			continue
		}
		in, ok := sets[sel]
		if !ok {
			in = &node{kind: kindIn, sel: k.sel, set: map[string]struct{}{}}
			sets[sel] = in
			out = append(out, in)
		}
		for _, v := range vals {
			if _, dup := in.set[v]; !dup {
				in.set[v] = struct{}{}
				in.list = append(in.list, v)
			}
		}
	}
	// A set of one is an ordinary comparison again.
	for i, k := range out {
		if k.kind == kindIn && len(k.list) == 1 {
			out[i] = &node{kind: kindCompare, sel: k.sel, op: opEq, val: newString(k.list[0])}
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return &node{kind: kindOr, kids: out}
}
