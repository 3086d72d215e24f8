package fold

import (
	"encoding/json"
	"regexp"
	"strings"
)

// Fields returns how many fields of an event a rule's match requires to
// hold a value, the measure of how specific the rule is. language and
// source are rule.Rule's Language and Source.
//
//   - An event pattern counts its leaves whose every alternative asks for a
//     value (a literal, prefix, suffix, wildcard, equals-ignore-case,
//     numeric, cidr, or exists: true); a leaf that also accepts
//     anything-but or exists: false counts nothing. Of the branches of a
//     "$or", the one naming the fewest fields counts.
//   - A filter pattern counts its distinct selectors compared with =, <,
//     <=, >, >= or IS; != and NOT EXISTS count nothing. Terms joined by &&
//     add up; of terms joined by ||, the branch naming the fewest counts.
//   - A jq query counts the distinct paths (.a.b) compared with ==.
//
// A source that cannot be read counts 0: the measure only breaks ties.
func Fields(language, source string) int {
	switch language {
	case "pattern":
		var v any
		if err := json.Unmarshal([]byte(source), &v); err != nil {
			return 0
		}
		return patternFields(v, 0)
	case "filter":
		return filterFields(source)
	case "jq":
		return jqFields(source)
	}
	return 0
}

// maxDepth bounds recursion over a source; compiled rules are far
// shallower.
const maxDepth = 64

// patternFields counts the positive leaves of a pattern object.
func patternFields(v any, depth int) int {
	obj, ok := v.(map[string]any)
	if !ok || depth > maxDepth {
		return 0
	}
	n := 0
	for k, child := range obj {
		switch c := child.(type) {
		case []any:
			if k == "$or" {
				n += orFields(c, depth)
				continue
			}
			if positiveLeaf(c) {
				n++
			}
		case map[string]any:
			n += patternFields(c, depth+1)
		}
	}
	return n
}

func orFields(branches []any, depth int) int {
	least := -1
	for _, b := range branches {
		if n := patternFields(b, depth+1); least < 0 || n < least {
			least = n
		}
	}
	return max(least, 0)
}

// positiveLeaf reports whether every alternative of a leaf asks for a
// value.
func positiveLeaf(alts []any) bool {
	if len(alts) == 0 {
		return false
	}
	for _, a := range alts {
		m, ok := a.(map[string]any)
		if !ok {
			continue // a literal
		}
		for op, arg := range m {
			switch op {
			case "anything-but":
				return false
			case "exists":
				if b, ok := arg.(bool); !ok || !b {
					return false
				}
			}
		}
	}
	return true
}

// filterFields counts the positive selectors of a CloudWatch Logs filter
// pattern in its JSON form ({ ... }); other forms count 0.
func filterFields(src string) int {
	s := strings.TrimSpace(src)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return 0
	}
	p := &filterLexer{toks: lexFilter(s[1 : len(s)-1])}
	set := p.or(0)
	if p.i != len(p.toks) {
		return 0 // not understood: no measure rather than a wrong one
	}
	return len(set)
}

// filterLexer walks the tokens of a filter pattern's body.
type filterLexer struct {
	toks []string
	i    int
}

func (p *filterLexer) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

// or returns the selectors of the branch naming the fewest.
func (p *filterLexer) or(depth int) map[string]bool {
	least := p.and(depth)
	for p.peek() == "||" {
		p.i++
		if s := p.and(depth); len(s) < len(least) {
			least = s
		}
	}
	return least
}

// and returns the union of the selectors of its terms.
func (p *filterLexer) and(depth int) map[string]bool {
	set := p.term(depth)
	for p.peek() == "&&" {
		p.i++
		for k := range p.term(depth) {
			set[k] = true
		}
	}
	return set
}

func (p *filterLexer) term(depth int) map[string]bool {
	set := map[string]bool{}
	t := p.peek()
	switch {
	case t == "(" && depth < maxDepth:
		p.i++
		set = p.or(depth + 1)
		if p.peek() == ")" {
			p.i++
		}
	case strings.HasPrefix(t, "$"):
		p.i++
		switch op := p.peek(); op {
		case "=", "<", "<=", ">", ">=":
			p.i += 2 // operator and value
			set[t] = true
		case "!=":
			p.i += 2
		case "IS":
			p.i += 2 // IS TRUE, IS FALSE, IS NULL
			set[t] = true
		case "NOT":
			p.i += 2 // NOT EXISTS
		}
	default:
		p.i = len(p.toks) + 1 // unknown: stop, and report the pattern unread
	}
	return set
}

// lexFilter splits a filter pattern's body into selectors, operators,
// values (quoted ones kept whole), parentheses, && and ||.
func lexFilter(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, s[i:i+1])
			i++
		case strings.HasPrefix(s[i:], "&&") || strings.HasPrefix(s[i:], "||") ||
			strings.HasPrefix(s[i:], "!=") || strings.HasPrefix(s[i:], "<=") || strings.HasPrefix(s[i:], ">="):
			toks = append(toks, s[i:i+2])
			i += 2
		case c == '=' || c == '<' || c == '>':
			toks = append(toks, s[i:i+1])
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(s))
			toks = append(toks, s[i:j])
			i = j
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()=<>!\"", rune(s[j])) &&
				!strings.HasPrefix(s[j:], "&&") && !strings.HasPrefix(s[j:], "||") {
				j++
			}
			if j == i {
				j++ // a lone '!' or other stray byte
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}

// jqCompared finds paths compared with == in a jq query, on either side.
var jqCompared = regexp.MustCompile(`(\.[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*==|==\s*(\.[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)`)

func jqFields(src string) int {
	seen := map[string]bool{}
	for _, m := range jqCompared.FindAllStringSubmatch(src, -1) {
		p := m[1]
		if p == "" {
			p = m[2]
		}
		seen[p] = true
	}
	return len(seen)
}
