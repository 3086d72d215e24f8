package pattern

import (
	"bytes"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

func hasSuffix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[len(b)-len(s):]) == s
}

// runesEqualFold reports whether two runes are equal under Unicode simple
// case folding, as strings.EqualFold compares them.
func runesEqualFold(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

// foldPrefixLen returns how many bytes of b match s under case folding, and
// whether all of s matched.
func foldPrefixLen(b []byte, s string) (int, bool) {
	n := 0
	for s != "" {
		if n == len(b) {
			return n, false
		}
		sr, ss := utf8.DecodeRuneInString(s)
		br, bs := utf8.DecodeRune(b[n:])
		if !runesEqualFold(sr, br) {
			return n, false
		}
		s = s[ss:]
		n += bs
	}
	return n, true
}

func hasPrefixFold(b []byte, s string) bool {
	_, ok := foldPrefixLen(b, s)
	return ok
}

func equalFold(b []byte, s string) bool {
	n, ok := foldPrefixLen(b, s)
	return ok && n == len(b)
}

func hasSuffixFold(b []byte, s string) bool {
	for s != "" {
		if len(b) == 0 {
			return false
		}
		sr, ss := utf8.DecodeLastRuneInString(s)
		br, bs := utf8.DecodeLastRune(b)
		if !runesEqualFold(sr, br) {
			return false
		}
		s = s[:len(s)-ss]
		b = b[:len(b)-bs]
	}
	return true
}

// wildcard is a compiled wildcard string: literal parts separated by '*',
// each of which matches any run of characters, including none.
type wildcard struct {
	parts [][]byte // len(parts) == number of '*' + 1
}

// compileWildcard parses a wildcard string: '*' matches any run of
// characters, "\*" a literal asterisk and "\\" a literal backslash. It
// refuses what EventBridge refuses: consecutive wildcards and any other
// backslash.
func compileWildcard(s string) (wildcard, error) {
	var parts [][]byte
	var cur []byte
	lastStar := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*':
			if lastStar {
				return wildcard{}, errors.New("consecutive wildcard characters are not allowed")
			}
			parts = append(parts, cur)
			cur = nil
			lastStar = true
			continue
		case '\\':
			if i+1 == len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return wildcard{}, errors.New(`a backslash may only escape "*" or "\"`)
			}
			i++
			cur = append(cur, s[i])
		default:
			cur = append(cur, c)
		}
		lastStar = false
	}
	parts = append(parts, cur)
	return wildcard{parts: parts}, nil
}

// match reports whether the whole of b matches the wildcard.
func (w *wildcard) match(b []byte) bool {
	if len(w.parts) == 1 {
		return bytes.Equal(b, w.parts[0])
	}
	first, last := w.parts[0], w.parts[len(w.parts)-1]
	if !bytes.HasPrefix(b, first) {
		return false
	}
	b = b[len(first):]
	if !bytes.HasSuffix(b, last) {
		return false
	}
	b = b[:len(b)-len(last)]
	// The leftmost match of each middle part leaves the most room for the
	// next one, so no backtracking is needed.
	for _, p := range w.parts[1 : len(w.parts)-1] {
		i := bytes.Index(b, p)
		if i < 0 {
			return false
		}
		b = b[i+len(p):]
	}
	return true
}

// String returns the wildcard in pattern syntax, for tests and messages.
func (w *wildcard) String() string {
	var sb strings.Builder
	for i, p := range w.parts {
		if i > 0 {
			sb.WriteByte('*')
		}
		for _, c := range p {
			if c == '*' || c == '\\' {
				sb.WriteByte('\\')
			}
			sb.WriteByte(c)
		}
	}
	return sb.String()
}
