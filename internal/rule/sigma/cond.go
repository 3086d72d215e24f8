package sigma

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/trailwatch/trailwatch/internal/yamlnode"
)

// maxDepth bounds the nesting of a condition (parentheses and not).
const maxDepth = 64

// maxCondition bounds the length of one condition.
const maxCondition = 64 << 10

// condition compiles the detection's condition: a text, or a list of texts
// any one of which may hold.
func (p *docParser) condition(n ast.Node, sels map[string]*selection, names []string) *node {
	n = yamlnode.Unwrap(n)
	line := nodeLine(n)
	var srcs []string
	switch v := n.(type) {
	case *ast.SequenceNode:
		if len(v.Values) == 0 {
			p.errorf(line, "condition is an empty list")
			return nil
		}
		for _, item := range v.Values {
			s, ok := scalarText(item)
			if !ok {
				p.errorf(nodeLine(item), "condition must be text or a list of texts, found %s in the list", yamlnode.Kind(item))
				return nil
			}
			srcs = append(srcs, s)
		}
	default:
		s, ok := scalarText(n)
		if !ok {
			p.errorf(line, "condition must be text or a list of texts, found %s", yamlnode.Kind(n))
			return nil
		}
		srcs = []string{s}
	}
	var kids []*node
	for _, src := range srcs {
		cp := &condParser{src: src, sels: sels, names: names}
		root, err := cp.parse()
		if err != nil {
			p.errorf(line, "condition %q: %s", src, err)
			return nil
		}
		kids = append(kids, root)
	}
	if len(kids) == 1 {
		return kids[0]
	}
	return &node{op: nodeOr, kids: kids}
}

// condParser is a recursive-descent parser for one condition. Precedence,
// from loosest: or, and, not, "1 of"/"all of", parentheses.
type condParser struct {
	src   string
	toks  []string
	pos   int
	depth int
	sels  map[string]*selection
	names []string // search identifiers in document order
}

func (cp *condParser) parse() (*node, error) {
	if len(cp.src) > maxCondition {
		return nil, fmt.Errorf("longer than %d bytes", maxCondition)
	}
	toks, err := lex(cp.src)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty condition")
	}
	cp.toks = toks
	n, err := cp.or()
	if err != nil {
		return nil, err
	}
	if cp.pos < len(cp.toks) {
		return nil, fmt.Errorf("unexpected %q after a complete expression", cp.toks[cp.pos])
	}
	return n, nil
}

// lex splits a condition into words and parentheses. A pipe starts an
// aggregation expression, which the specification replaced with correlation
// rules.
func lex(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, s[i:i+1])
			i++
		case c == '|':
			return nil, fmt.Errorf("aggregation expressions (| count() ...) are not supported; Sigma correlation rules replaced them")
		case isIdentByte(c):
			j := i
			for j < len(s) && isIdentByte(s[j]) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q at offset %d", c, i)
		}
	}
	return toks, nil
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == '*' || c >= 0x80
}

func (cp *condParser) peek() string {
	if cp.pos < len(cp.toks) {
		return cp.toks[cp.pos]
	}
	return ""
}

func isWord(tok, word string) bool { return strings.EqualFold(tok, word) }

func (cp *condParser) or() (*node, error) {
	left, err := cp.and()
	if err != nil {
		return nil, err
	}
	kids := []*node{left}
	for isWord(cp.peek(), "or") {
		cp.pos++
		right, err := cp.and()
		if err != nil {
			return nil, err
		}
		kids = append(kids, right)
	}
	if len(kids) == 1 {
		return left, nil
	}
	return &node{op: nodeOr, kids: kids}, nil
}

func (cp *condParser) and() (*node, error) {
	left, err := cp.not()
	if err != nil {
		return nil, err
	}
	kids := []*node{left}
	for isWord(cp.peek(), "and") {
		cp.pos++
		right, err := cp.not()
		if err != nil {
			return nil, err
		}
		kids = append(kids, right)
	}
	if len(kids) == 1 {
		return left, nil
	}
	return &node{op: nodeAnd, kids: kids}, nil
}

func (cp *condParser) not() (*node, error) {
	if !isWord(cp.peek(), "not") {
		return cp.primary()
	}
	cp.pos++
	if cp.depth++; cp.depth > maxDepth {
		return nil, fmt.Errorf("nested more than %d deep", maxDepth)
	}
	defer func() { cp.depth-- }()
	kid, err := cp.not()
	if err != nil {
		return nil, err
	}
	return &node{op: nodeNot, kids: []*node{kid}}, nil
}

func (cp *condParser) primary() (*node, error) {
	tok := cp.peek()
	switch {
	case tok == "":
		return nil, fmt.Errorf("unexpected end; a search identifier, not, 1 of, all of or ( is missing")
	case tok == "(":
		cp.pos++
		if cp.depth++; cp.depth > maxDepth {
			return nil, fmt.Errorf("nested more than %d deep", maxDepth)
		}
		n, err := cp.or()
		cp.depth--
		if err != nil {
			return nil, err
		}
		if cp.peek() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		cp.pos++
		return n, nil
	case tok == ")":
		return nil, fmt.Errorf("unexpected )")
	case isWord(tok, "and"), isWord(tok, "or"), isWord(tok, "of"), isWord(tok, "them"):
		return nil, fmt.Errorf("unexpected %q where a search identifier is expected", tok)
	case isWord(tok, "near"):
		return nil, fmt.Errorf("near is not supported (it belonged to the aggregation expressions that correlation rules replaced)")
	}
	if cp.pos+1 < len(cp.toks) && isWord(cp.toks[cp.pos+1], "of") {
		return cp.quantifier(tok)
	}
	cp.pos++
	if strings.Contains(tok, "*") {
		return nil, fmt.Errorf("%q: wildcards in search identifiers are only allowed after 1 of or all of", tok)
	}
	s, ok := cp.sels[tok]
	if !ok {
		return nil, fmt.Errorf("unknown search identifier %q; the detection defines %s", tok, quoteList(cp.names))
	}
	return &node{op: nodeSel, sel: s}, nil
}

// quantifier reads "1 of X" or "all of X", X being them or an identifier
// pattern with * wildcards.
func (cp *condParser) quantifier(q string) (*node, error) {
	var op nodeOp
	switch {
	case q == "1":
		op = nodeOr
	case isWord(q, "all"):
		op = nodeAnd
	default:
		return nil, fmt.Errorf("%q of: only 1 of and all of are defined", q)
	}
	cp.pos += 2 // q and "of"
	target := cp.peek()
	if target == "" || target == "(" || target == ")" {
		return nil, fmt.Errorf("%s of needs them or a search identifier pattern", q)
	}
	cp.pos++
	var picked []*node
	if isWord(target, "them") {
		// "them" is every search identifier not starting with an underscore.
		for _, n := range cp.names {
			if !strings.HasPrefix(n, "_") {
				picked = append(picked, &node{op: nodeSel, sel: cp.sels[n]})
			}
		}
		if len(picked) == 0 {
			return nil, fmt.Errorf("%s of them: the detection has no search identifier that does not start with _", q)
		}
	} else {
		for _, n := range cp.names {
			// path.Match treats only *, ?, [ and \ specially; identifiers
			// hold none but *, which is the wildcard here.
			if ok, _ := path.Match(target, n); ok {
				picked = append(picked, &node{op: nodeSel, sel: cp.sels[n]})
			}
		}
		if len(picked) == 0 {
			return nil, fmt.Errorf("%s of %s: no search identifier matches; the detection defines %s", q, target, quoteList(cp.names))
		}
	}
	if len(picked) == 1 {
		return picked[0], nil
	}
	return &node{op: op, kids: picked}, nil
}

func quoteList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// pins returns the eventName values outside which the condition can never
// hold, as written, when every way of satisfying it requires eventName to
// equal one of a few literal values; ok is false otherwise.
func (n *node) pins() (names []string, ok bool) {
	switch n.op {
	case nodeSel:
		return n.sel.pins()
	case nodeAnd:
		for _, k := range n.kids {
			if names, ok := k.pins(); ok {
				return names, true
			}
		}
	case nodeOr:
		var all []string
		for _, k := range n.kids {
			names, ok := k.pins()
			if !ok {
				return nil, false
			}
			all = appendUnique(all, names...)
		}
		return all, true
	}
	return nil, false
}

func (s *selection) pins() ([]string, bool) {
	var all []string
	for _, alt := range s.alts {
		var (
			names []string
			ok    bool
		)
		for _, fc := range alt {
			if names, ok = fc.pins(); ok {
				break
			}
		}
		if !ok {
			return nil, false
		}
		all = appendUnique(all, names...)
	}
	return all, true
}

// pins: a condition on eventName whose values are all literal texts (no
// wildcard, no null, no other modifier than all and cased).
func (fc *fieldCond) pins() ([]string, bool) {
	if !fc.path.isEventName() {
		return nil, false
	}
	var names []string
	for i := range fc.values {
		v := &fc.values[i]
		if v.kind != vGlob {
			return nil, false
		}
		lit, ok := v.glob.literal()
		if !ok {
			return nil, false
		}
		names = appendUnique(names, lit)
	}
	return names, true
}

// appendUnique appends the names not already in list, comparing folded.
func appendUnique(list []string, names ...string) []string {
	for _, n := range names {
		if !slices.ContainsFunc(list, func(m string) bool { return string(foldString(m)) == string(foldString(n)) }) {
			list = append(list, n)
		}
	}
	return list
}
