package sigma

import (
	"slices"
	"unicode"
	"unicode/utf8"
)

// AppendFold appends src to dst in its case-folded form and returns the
// result. Two texts fold to the same bytes exactly when they are equal rune
// by rune under Unicode simple case folding (as strings.EqualFold compares
// valid UTF-8): each rune is replaced by the smallest rune of its folding
// orbit, so ASCII letters become upper case. Bytes that are not valid UTF-8
// are kept as they are, so distinct invalid texts stay distinct.
//
// Sigma compares values case-insensitively by default, and a rule set indexes
// Sigma rules by event name; both fold with this one function, so that an
// event the rule matches is always among the rules the index offers it to.
func AppendFold(dst, src []byte) []byte {
	// ASCII, the common case, in place.
	n := len(dst)
	dst = slices.Grow(dst, len(src))[:n+len(src)]
	for i, b := range src {
		if b >= utf8.RuneSelf {
			return appendFoldSlow(dst[:n+i], src[i:])
		}
		if 'a' <= b && b <= 'z' {
			b -= 'a' - 'A'
		}
		dst[n+i] = b
	}
	return dst
}

func appendFoldSlow(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		b := src[i]
		if b < utf8.RuneSelf {
			if 'a' <= b && b <= 'z' {
				b -= 'a' - 'A'
			}
			dst = append(dst, b)
			i++
			continue
		}
		r, size := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, b)
			i++
			continue
		}
		dst = utf8.AppendRune(dst, foldRune(r))
		i += size
	}
	return dst
}

// foldRune returns the smallest rune that r folds to.
func foldRune(r rune) rune {
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < m {
			m = f
		}
	}
	return m
}

// foldString is AppendFold for compile-time texts.
func foldString(s string) []byte { return AppendFold(nil, []byte(s)) }
