// Package textwidth measures and cuts text by the columns a terminal gives
// it: East Asian wide characters (kanji, kana, full-width forms, most
// emoji) take two columns, combining marks and format characters none,
// everything else one. The tables of the CLI and the message previews use
// it, so Japanese text lines up with English.
package textwidth

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Ellipsis marks text that was cut.
const Ellipsis = "…"

// RuneWidth returns the columns r takes: 0, 1 or 2.
func RuneWidth(r rune) int {
	switch {
	case r < 0x20 || r == 0x7f:
		return 0
	case r < 0x300:
		return 1
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		return 0
	case wide(r):
		return 2
	}
	return 1
}

// wide reports the East Asian Wide and Fullwidth ranges terminals draw in
// two columns.
func wide(r rune) bool {
	switch {
	case r < 0x1100:
		return false
	case r <= 0x115f, // Hangul Jamo
		0x2e80 <= r && r <= 0x303e, // CJK radicals, punctuation (【】「」、。)
		0x3041 <= r && r <= 0x33ff, // kana, CJK compatibility
		0x3400 <= r && r <= 0x4dbf, // CJK extension A
		0x4e00 <= r && r <= 0x9fff, // CJK unified ideographs
		0xa000 <= r && r <= 0xa4cf, // Yi
		0xac00 <= r && r <= 0xd7a3, // Hangul syllables
		0xf900 <= r && r <= 0xfaff, // CJK compatibility ideographs
		0xfe30 <= r && r <= 0xfe4f, // CJK compatibility forms
		0xff00 <= r && r <= 0xff60, // full-width forms
		0xffe0 <= r && r <= 0xffe6,
		0x1f300 <= r && r <= 0x1f64f, // pictographs, emoticons
		0x1f900 <= r && r <= 0x1f9ff,
		0x20000 <= r && r <= 0x3fffd: // CJK extensions B and later
		return true
	}
	return false
}

// Width returns the columns s takes.
func Width(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != 0x7f {
				n++
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		n += RuneWidth(r)
		i += size - 1
	}
	return n
}

// Cut returns s shortened to at most w columns, ending in Ellipsis when it
// was cut.
func Cut(s string, w int) string {
	if Width(s) <= w {
		return s
	}
	if w <= 0 {
		return ""
	}
	return prefix(s, w-1) + Ellipsis
}

// CutMiddle returns s shortened to at most w columns by taking text out of
// its middle, so that both ends stay readable: a role and its session,
// "stratus-red-team-get…-1688990565286187801".
func CutMiddle(s string, w int) string {
	if Width(s) <= w {
		return s
	}
	if w <= 2 {
		return Cut(s, w)
	}
	left := w / 2
	right := w - 1 - left
	return prefix(s, left) + Ellipsis + suffix(s, right)
}

// Pad returns s followed by spaces up to w columns.
func Pad(s string, w int) string {
	if n := Width(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// prefix returns the longest start of s at most w columns wide.
func prefix(s string, w int) string {
	n := 0
	for i, r := range s {
		rw := RuneWidth(r)
		if n+rw > w {
			return s[:i]
		}
		n += rw
	}
	return s
}

// suffix returns the longest end of s at most w columns wide.
func suffix(s string, w int) string {
	n := 0
	for i := len(s); i > 0; {
		r, size := utf8.DecodeLastRuneInString(s[:i])
		rw := RuneWidth(r)
		if n+rw > w {
			return s[i:]
		}
		n += rw
		i -= size
	}
	return s
}
