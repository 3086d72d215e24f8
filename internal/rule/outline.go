package rule

import (
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// An outline says where the parts of a rule file lie, read from its lines
// without parsing its YAML: the top-level keys, and the test list of each
// rule. Parsing is most of what loading a pack costs, and most runs need
// only part of a pack: check and the Lambda function never run the rules'
// tests, choosing the default packs needs only their pack settings, and the
// detectors only their own keys. The loader then parses a copy of the file
// in which the lines it does not need are empty: the same parser on the
// same lines, so every node keeps its line number, on a fraction of the
// text.
//
// Lines alone cannot outline every YAML file. The parser accepts quoted
// text whose continuation lines sit further left than YAML allows, so a
// line that looks like a key may be inside a string. Only the built-in
// packs are outlined, a test checks that what their outlines give equals
// a whole parse, and every partial parse is checked to have found its keys
// where the outline put them, or the whole file is parsed instead.
type outline struct {
	text string
	// start holds the byte offset at which each line starts, then len(text).
	start []int
	// top lists the top-level keys in file order.
	top []section
}

// section is a key and the lines of its value. Lines count from 0 here;
// messages and parsed nodes count from 1.
type section struct {
	key string
	// line is the key's line; the value's lines are from..to (to
	// excluded), which do not include the key's own line.
	line, from, to int
	// block reports that the key's value starts on the line below it.
	block bool
}

// outlineOf outlines a rule file laid out in plain block style: top-level
// keys at the start of their lines (with no quote on the key's line, and
// an inline value only when it ends there), everything else indented below
// them, no tabs, carriage returns or document markers. It reports false for
// any other file.
func outlineOf(data []byte) (*outline, bool) {
	text := string(data)
	if strings.IndexByte(text, '\t') >= 0 || strings.IndexByte(text, '\r') >= 0 || strings.HasPrefix(text, "\xef\xbb\xbf") {
		return nil, false
	}
	o := &outline{text: text, start: make([]int, 0, strings.Count(text, "\n")+2)}
	for i := 0; i < len(text); {
		o.start = append(o.start, i)
		if j := strings.IndexByte(text[i:], '\n'); j >= 0 {
			i += j + 1
		} else {
			i = len(text)
		}
	}
	o.start = append(o.start, len(text))
	n := o.lines()
	for i := range n {
		if len(o.top) > 0 && text[o.start[i]] == ' ' {
			continue // part of the value above
		}
		indent, rest := o.line(i)
		if rest == "" || rest[0] == '#' {
			continue
		}
		if indent > 0 {
			// The top-level mapping does not start at the left margin.
			return nil, false
		}
		key, block, ok := topKey(rest)
		if !ok || o.find(key) != nil {
			return nil, false
		}
		if len(o.top) > 0 {
			o.top[len(o.top)-1].to = i
		}
		o.top = append(o.top, section{key: key, line: i, from: i + 1, to: n, block: block})
	}
	return o, true
}

// topKey reads a top-level key line: a plain key, a colon, and either
// nothing (block reports the value is on the lines below) or a value that
// ends on this line. ok is false for anything else, such as quoted text,
// which may go on over the next lines.
func topKey(s string) (key string, block, ok bool) {
	i := 0
	for i < len(s) && isKeyByte(s[i], i == 0) {
		i++
	}
	if i == 0 || i == len(s) || s[i] != ':' {
		return "", false, false
	}
	key, rest := s[:i], s[i+1:]
	if rest != "" && rest[0] != ' ' {
		return "", false, false
	}
	rest = strings.TrimSpace(rest)
	if rest == "" || rest[0] == '#' {
		return key, true, true
	}
	if strings.ContainsAny(rest, `"'`) || strings.ContainsAny(rest[:1], "|>&*!%@`?-:,") {
		return "", false, false
	}
	if rest[0] == '{' || rest[0] == '[' {
		depth := 0
		for _, c := range []byte(rest) {
			switch c {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
		}
		if depth != 0 {
			return "", false, false
		}
	}
	return key, false, true
}

func isKeyByte(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		return true
	case c >= '0' && c <= '9', c == '-':
		return !first
	}
	return false
}

// tests finds the tests key of each rule whose value is written on the
// lines below it, in the rules section, a list of mappings written one key
// per line:
//
//	rules:
//	  - id: ...
//	    tests:
//	      - name: ...
//
// It returns nothing as soon as the section is laid out otherwise.
func (o *outline) tests() []section {
	rs := o.find("rules")
	if rs == nil || !rs.block {
		return nil
	}
	var out []section
	dash, keys := -1, -1 // the indentation of the rules' dashes and keys
	for i := rs.from; i < rs.to; i++ {
		indent, rest := o.line(i)
		if rest == "" || rest[0] == '#' {
			continue
		}
		if dash < 0 || indent == dash {
			if !strings.HasPrefix(rest, "- ") {
				return nil
			}
			k := indent + 1 + len(rest[1:]) - len(strings.TrimLeft(rest[1:], " "))
			if dash >= 0 && k != keys {
				return nil
			}
			dash, keys = indent, k
			continue
		}
		if indent < keys {
			return nil
		}
		if indent > keys || !isTestsKey(rest) {
			continue
		}
		last := -1
		j := i + 1
		for ; j < rs.to; j++ {
			indent, rest := o.line(j)
			if rest == "" || rest[0] == '#' {
				continue
			}
			if indent <= keys {
				break
			}
			last = j
		}
		if last >= 0 {
			out = append(out, section{key: "tests", line: i, from: i + 1, to: last + 1})
		}
		i = j - 1
	}
	return out
}

// isTestsKey reports whether a line (without its indentation) is the key
// tests with its value on the lines below.
func isTestsKey(s string) bool {
	rest, ok := strings.CutPrefix(s, "tests:")
	if !ok {
		return false
	}
	rest = strings.TrimSpace(rest)
	return rest == "" || rest[0] == '#'
}

func (o *outline) lines() int { return len(o.start) - 1 }

// line returns line i's indentation and the rest of it, without its end;
// the rest of a line of spaces is "".
func (o *outline) line(i int) (int, string) {
	s := strings.TrimSuffix(o.text[o.start[i]:o.start[i+1]], "\n")
	t := strings.TrimLeft(s, " ")
	return len(s) - len(t), t
}

// find returns the top-level key named key, or nil.
func (o *outline) find(key string) *section {
	for i := range o.top {
		if o.top[i].key == key {
			return &o.top[i]
		}
	}
	return nil
}

// without returns the file with the value lines of drop emptied. It
// reports false when an emptied line may define an anchor: the kept lines
// could name it.
func (o *outline) without(drop []section) ([]byte, bool) {
	out := make([]byte, 0, len(o.text))
	next := 0
	for _, s := range drop {
		gone := o.text[o.start[s.from]:o.start[s.to]]
		if mayAnchor(gone) {
			return nil, false
		}
		out = append(out, o.text[o.start[next]:o.start[s.from]]...)
		for range strings.Count(gone, "\n") {
			out = append(out, '\n')
		}
		next = s.to
	}
	return append(out, o.text[o.start[next]:]...), true
}

// only returns the file with every line emptied but those of the named
// top-level keys (key lines and values), and the sections kept.
func (o *outline) only(keys ...string) ([]byte, []section, bool) {
	var drop, kept []section
	from := 0
	for _, s := range o.top {
		for _, k := range keys {
			if s.key != k {
				continue
			}
			if from < s.line {
				drop = append(drop, section{from: from, to: s.line})
			}
			kept = append(kept, s)
			from = s.to
		}
	}
	if from < o.lines() {
		drop = append(drop, section{from: from, to: o.lines()})
	}
	b, ok := o.without(drop)
	return b, kept, ok
}

// mayAnchor reports whether b may define a YAML anchor (&name): an
// ampersand at the start of a value, followed by a name. It errs on the
// side of yes; an ampersand inside text (&&, a=1&b=2) is not one.
func mayAnchor(b string) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '&' {
			continue
		}
		if i > 0 && !strings.ContainsRune(" \n[{,-:?", rune(b[i-1])) {
			continue
		}
		if i+1 < len(b) && !strings.ContainsRune(" \n&[]{},", rune(b[i+1])) {
			return true
		}
	}
	return false
}

// parseOnly parses the named top-level keys of the file alone (only). ok is
// false when it cannot, or when the parse does not find exactly those keys
// where the outline put them.
func (o *outline) parseOnly(keys ...string) (*ast.File, bool) {
	view, kept, ok := o.only(keys...)
	if !ok {
		return nil, false
	}
	f, err := parser.ParseBytes(view, 0)
	if err != nil || len(f.Docs) != 1 {
		return nil, false
	}
	top, ok := f.Docs[0].Body.(*ast.MappingNode)
	if !ok || len(top.Values) != len(kept) {
		return nil, false
	}
	for i, kv := range top.Values {
		if k, _ := keyText(kv.Key); k != kept[i].key || line(kv.Key) != kept[i].line+1 {
			return nil, false
		}
	}
	return f, true
}
