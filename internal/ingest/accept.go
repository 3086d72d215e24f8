package ingest

import "bytes"

// parserAccepts reports whether event.Parser's JSON parser (fastjson)
// accepts b, without building a tree and in time linear in len(b) whatever
// b holds. It follows that parser's grammar exactly, leniencies included
// (control characters and any escape inside strings, NaN and Inf, numbers
// such as "01" or "-"), so that checking a record first never changes
// whether it is read: a careful read and a trusting one agree on every
// record, and which records are checked first (those after a failure, see
// decoder.parse) cannot change what a read yields. FuzzParserAccepts holds
// it to the parser.
//
// The parser itself is not called on a record that may fail because its
// error message grows with every level of nesting: a record nested hundreds
// deep costs it milliseconds to refuse.
func parserAccepts(b []byte) bool {
	var a acceptor
	rest, ok := a.value(skipParserWS(b), 0)
	return ok && len(skipParserWS(rest)) == 0
}

// parserMaxDepth is the parser's nesting limit (fastjson.MaxDepth): the
// top-level value is at depth 1.
const parserMaxDepth = 300

// acceptor walks JSON text the way the parser does. It holds no state; the
// methods return the rest of the text after what they accepted.
type acceptor struct{}

// skipParserWS skips the white space the parser skips: space, tab, line
// feed and carriage return.
func skipParserWS(b []byte) []byte {
	for i, c := range b {
		if c != ' ' && c != '\n' && c != '\t' && c != '\r' {
			return b[i:]
		}
	}
	return b[len(b):]
}

func (a acceptor) value(b []byte, depth int) ([]byte, bool) {
	if len(b) == 0 {
		return b, false
	}
	depth++
	if depth > parserMaxDepth {
		return b, false
	}
	switch b[0] {
	case '{':
		return a.object(b[1:], depth)
	case '[':
		return a.array(b[1:], depth)
	case '"':
		return rawString(b[1:])
	case 't':
		return literal(b, "true")
	case 'f':
		return literal(b, "false")
	case 'n':
		if rest, ok := literal(b, "null"); ok {
			return rest, true
		}
		if len(b) >= 3 && bytes.EqualFold(b[:3], []byte("nan")) {
			return b[3:], true
		}
		return b, false
	}
	return rawNumber(b)
}

func literal(b []byte, lit string) ([]byte, bool) {
	if len(b) < len(lit) || string(b[:len(lit)]) != lit {
		return b, false
	}
	return b[len(lit):], true
}

func (a acceptor) array(b []byte, depth int) ([]byte, bool) {
	b = skipParserWS(b)
	if len(b) == 0 {
		return b, false
	}
	if b[0] == ']' {
		return b[1:], true
	}
	for {
		var ok bool
		if b, ok = a.value(skipParserWS(b), depth); !ok {
			return b, false
		}
		b = skipParserWS(b)
		if len(b) == 0 {
			return b, false
		}
		switch b[0] {
		case ',':
			b = b[1:]
		case ']':
			return b[1:], true
		default:
			return b, false
		}
	}
}

func (a acceptor) object(b []byte, depth int) ([]byte, bool) {
	b = skipParserWS(b)
	if len(b) == 0 {
		return b, false
	}
	if b[0] == '}' {
		return b[1:], true
	}
	for {
		var ok bool
		b = skipParserWS(b)
		if len(b) == 0 || b[0] != '"' {
			return b, false
		}
		if b, ok = rawString(b[1:]); !ok {
			return b, false
		}
		b = skipParserWS(b)
		if len(b) == 0 || b[0] != ':' {
			return b, false
		}
		if b, ok = a.value(skipParserWS(b[1:]), depth); !ok {
			return b, false
		}
		b = skipParserWS(b)
		if len(b) == 0 {
			return b, false
		}
		switch b[0] {
		case ',':
			b = b[1:]
		case '}':
			return b[1:], true
		default:
			return b, false
		}
	}
}

// rawString accepts the rest of a string whose opening quote is consumed:
// up to the first quote not escaped by an odd run of backslashes. The
// parser checks nothing else inside a string (object keys included).
func rawString(b []byte) ([]byte, bool) {
	start := 0
	for {
		n := bytes.IndexByte(b[start:], '"')
		if n < 0 {
			return b[len(b):], false
		}
		n += start
		run := 0
		for k := n - 1; k >= start && b[k] == '\\'; k-- {
			run++
		}
		if run%2 == 0 {
			return b[n+1:], true
		}
		start = n + 1
	}
}

// rawNumber accepts a number the parser's way: the longest run of digits,
// '.', '-', '+', 'e' and 'E', which must not be empty unless "inf" or "nan"
// (any case) follows at the start or after one sign.
func rawNumber(b []byte) ([]byte, bool) {
	for i, c := range b {
		if c >= '0' && c <= '9' || c == '.' || c == '-' || c == 'e' || c == 'E' || c == '+' {
			continue
		}
		if i == 0 || i == 1 && (b[0] == '-' || b[0] == '+') {
			if len(b[i:]) >= 3 && (bytes.EqualFold(b[i:i+3], []byte("inf")) || bytes.EqualFold(b[i:i+3], []byte("nan"))) {
				return b[i+3:], true
			}
			return b, false
		}
		return b[i:], true
	}
	return b[len(b):], true
}
