package sigma

import (
	"bytes"
	"unicode/utf8"
)

// tokKind is one element of a Sigma string value.
type tokKind uint8

const (
	tokLit  tokKind = iota // literal text
	tokStar                // * : any run of characters, also none
	tokOne                 // ? : exactly one character
)

type token struct {
	kind tokKind
	lit  []byte
}

// glob is a compiled Sigma string value: literal text with the wildcards *
// and ?, matched against the whole field value. When it is case-insensitive
// its literals are folded (AppendFold) and it is matched against folded text.
type glob struct {
	// toks is the value as tokens, consecutive stars merged.
	toks []token
	// starOnly reports that the value has no ?: it is then matched with
	// substring searches, in linear time.
	starOnly bool
	// pieces are the literals of a star-only value in order; anchoredStart
	// and anchoredEnd say whether the value begins or ends with a literal.
	pieces                     [][]byte
	anchoredStart, anchoredEnd bool
	// plain is the value's text, unescaped and not folded, when it has no
	// wildcard.
	plain string
	// isLiteral reports that the value has no wildcard; folded is then its
	// whole text as compared (folded unless cased).
	isLiteral bool
	folded    []byte
}

// parseGlob reads a Sigma string value: * and ? are wildcards; \* and \?
// are the plain characters, \\ is one backslash, and any other backslash is
// itself. The literals are folded unless cased.
func parseGlob(s string, cased bool) glob {
	var (
		toks  []token
		lit   []byte
		plain []byte
		wild  bool
	)
	flush := func() {
		if len(lit) > 0 {
			if !cased {
				lit = AppendFold(nil, lit)
			}
			toks = append(toks, token{kind: tokLit, lit: lit})
			lit = nil
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\'):
			lit = append(lit, s[i+1])
			plain = append(plain, s[i+1])
			i++
		case c == '*':
			wild = true
			flush()
			if n := len(toks); n == 0 || toks[n-1].kind != tokStar {
				toks = append(toks, token{kind: tokStar})
			}
		case c == '?':
			wild = true
			flush()
			toks = append(toks, token{kind: tokOne})
		default:
			lit = append(lit, c)
			plain = append(plain, c)
		}
	}
	flush()
	g := glob{toks: toks, starOnly: true, isLiteral: !wild}
	if !wild {
		g.plain = string(plain)
		g.folded = []byte{}
		if len(toks) == 1 {
			g.folded = toks[0].lit
		}
	}
	for _, t := range toks {
		switch t.kind {
		case tokOne:
			g.starOnly = false
		case tokLit:
			g.pieces = append(g.pieces, t.lit)
		}
	}
	if len(toks) > 0 {
		g.anchoredStart = toks[0].kind == tokLit
		g.anchoredEnd = toks[len(toks)-1].kind == tokLit
	}
	return g
}

// literal returns the value's text as written (unescaped, not folded) when
// it has no wildcard.
func (g *glob) literal() (string, bool) { return g.plain, g.isLiteral }

// match reports whether the whole of b matches the value.
func (g *glob) match(b []byte) bool {
	if !g.starOnly {
		return matchTokens(g.toks, b)
	}
	pieces := g.pieces
	if len(g.toks) <= 1 && g.anchoredStart {
		return bytes.Equal(b, pieces[0])
	}
	if len(g.toks) == 0 {
		return len(b) == 0
	}
	if g.anchoredStart {
		if !bytes.HasPrefix(b, pieces[0]) {
			return false
		}
		b, pieces = b[len(pieces[0]):], pieces[1:]
	}
	if g.anchoredEnd {
		last := pieces[len(pieces)-1]
		if !bytes.HasSuffix(b, last) {
			return false
		}
		b, pieces = b[:len(b)-len(last)], pieces[:len(pieces)-1]
	}
	// The pieces between stars: taking each at its leftmost place leaves the
	// most room for the rest, so a greedy search is exact.
	for _, p := range pieces {
		i := bytes.Index(b, p)
		if i < 0 {
			return false
		}
		b = b[i+len(p):]
	}
	return true
}

// matchTokens matches a value holding ? wildcards, backtracking to the last
// star only, which is exact for * and ? (a later star can absorb whatever an
// earlier one would have).
func matchTokens(toks []token, b []byte) bool {
	ti, bi := 0, 0
	starT, starB := -1, 0
	for {
		if ti < len(toks) {
			t := toks[ti]
			switch t.kind {
			case tokStar:
				starT, starB = ti, bi
				ti++
				continue
			case tokOne:
				if bi < len(b) {
					_, size := utf8.DecodeRune(b[bi:])
					ti, bi = ti+1, bi+size
					continue
				}
			case tokLit:
				if bytes.HasPrefix(b[bi:], t.lit) {
					ti, bi = ti+1, bi+len(t.lit)
					continue
				}
			}
		} else if bi == len(b) {
			return true
		}
		// Mismatch: let the last star take one more character.
		if starT < 0 || starB >= len(b) {
			return false
		}
		_, size := utf8.DecodeRune(b[starB:])
		starB += size
		ti, bi = starT+1, starB
	}
}

// matchASCII matches a star-only value against ASCII text without folding a
// copy of it: ASCII letters compare to the value's folded (upper-case)
// letters. A value holding a character that folds outside ASCII cannot
// match ASCII text.
func (g *glob) matchASCII(b []byte) bool {
	if !g.starOnly {
		return matchTokens(g.toks, AppendFold(nil, b))
	}
	pieces := g.pieces
	if len(g.toks) == 0 {
		return len(b) == 0
	}
	if len(g.toks) == 1 && g.anchoredStart {
		eq, _ := equalFoldASCII(b, pieces[0])
		return eq
	}
	if g.anchoredStart {
		p := pieces[0]
		if len(b) < len(p) || !prefixFoldASCII(b, p) {
			return false
		}
		b, pieces = b[len(p):], pieces[1:]
	}
	if g.anchoredEnd {
		p := pieces[len(pieces)-1]
		if len(b) < len(p) || !prefixFoldASCII(b[len(b)-len(p):], p) {
			return false
		}
		b, pieces = b[:len(b)-len(p)], pieces[:len(pieces)-1]
	}
	for _, p := range pieces {
		i := indexFoldASCII(b, p)
		if i < 0 {
			return false
		}
		b = b[i+len(p):]
	}
	return true
}

// upperASCII folds one ASCII byte.
func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// prefixFoldASCII reports whether b starts with the folded text p
// (len(b) >= len(p)).
func prefixFoldASCII(b, p []byte) bool {
	for i, c := range p {
		if upperASCII(b[i]) != c {
			return false
		}
	}
	return true
}

// indexFoldASCII returns where the folded text p first occurs in the ASCII
// text b, or -1.
func indexFoldASCII(b, p []byte) int {
	if len(p) == 0 {
		return 0
	}
	first := p[0]
	other := first
	if 'A' <= first && first <= 'Z' {
		other = first + ('a' - 'A')
	}
	for i := 0; i+len(p) <= len(b); i++ {
		if c := b[i]; (c == first || c == other) && prefixFoldASCII(b[i:], p) {
			return i
		}
	}
	return -1
}
