package render

import (
	"fmt"
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

var (
	slackEscaper   = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	slackUnescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
)

// EscapeSlack escapes s for Slack text (mrkdwn and plain_text): '&', '<'
// and '>' become "&amp;", "&lt;" and "&gt;", the three characters Slack uses
// for links, mentions and commands. "<!channel>" becomes text that shows as
// "<!channel>" and notifies no one.
func EscapeSlack(s string) string { return slackEscaper.Replace(s) }

// UnescapeSlack reverses EscapeSlack.
func UnescapeSlack(s string) string { return slackUnescaper.Replace(s) }

// EscapeHTML escapes s for HTML text and attribute values.
func EscapeHTML(s string) string { return html.EscapeString(s) }

// markdownSpecial lists the characters EscapeMarkdown always escapes: the
// inline Markdown that Adaptive Cards understand (emphasis, links) plus
// code spans, strikethrough and angle brackets.
const markdownSpecial = "\\`*_~[]<>"

// EscapeMarkdown escapes s for Markdown text (Teams Adaptive Card TextBlock
// and FactSet values) with backslashes, so that "[click](http://evil)" or
// "**bold**" is shown as typed. A line that starts like a list item or a
// heading ("- ", "+ ", "1. ", "# ") has its marker escaped too. Teams makes a
// link of any URL it sees in text, escaped or not, so URLs are defanged as
// security tools write them: "https://evil.example" shows as
// "https[:]//evil.example" and "www.evil.example" as "www[.]evil.example".
func EscapeMarkdown(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	lineStart := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':' && strings.HasPrefix(s[i:], "://"):
			b.WriteString(`\[:\]`)
			lineStart = false
			continue
		case (c == 'w' || c == 'W') && wordStart(s, i) && len(s) > i+4 && strings.EqualFold(s[i:i+4], "www."):
			b.WriteString(s[i:i+3] + `\[.\]`)
			i += 3
			lineStart = false
			continue
		case strings.IndexByte(markdownSpecial, c) >= 0:
			b.WriteByte('\\')
		case lineStart && (c == '-' || c == '+' || c == '#' || c == '=') && markerEnd(s, i+1):
			b.WriteByte('\\')
		case c == '.' && i > 0 && isDigit(s[i-1]) && digitsFromLineStart(s, i) && markerEnd(s, i+1):
			b.WriteByte('\\')
		}
		b.WriteByte(c)
		lineStart = c == '\n' || (lineStart && (c == ' ' || c == '\t'))
	}
	return b.String()
}

// wordStart reports whether s[i] starts a word: nothing, or no letter,
// digit or dot, comes before it.
func wordStart(s string, i int) bool {
	if i == 0 {
		return true
	}
	c := s[i-1]
	return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c >= 0x80)
}

// markerEnd reports whether a list or heading marker ending before s[i] is
// one: followed by a blank, a line end or the end of s.
func markerEnd(s string, i int) bool {
	return i >= len(s) || s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digitsFromLineStart reports whether s[:i] ends with a line made only of
// optional blanks and digits: "12" before ".", an ordered list marker.
func digitsFromLineStart(s string, i int) bool {
	j := i
	for j > 0 && isDigit(s[j-1]) {
		j--
	}
	for j > 0 && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	return j == 0 || s[j-1] == '\n'
}

// oneLine makes s safe to show on one line: control characters, line and
// paragraph separators, bidirectional formatting characters and characters
// that show as nothing (zero-width spaces and joiners, the byte-order mark,
// soft hyphens, tag characters; see Invisible) are written as visible
// Go-style escapes ("\n", "\x1b", "\u202e", "\u200b"). Invalid UTF-8
// bytes become "\xNN". Everything else is kept as is, so "root\u200b" can
// never pass for "root".
func oneLine(s string) string { return visible(s, false) }

// visibleLines is oneLine that keeps line feeds, for text whose lines are
// meant (a rule's description).
func visibleLines(s string) string { return visible(s, true) }

func visible(s string, keepLF bool) string {
	if !needsVisible(s, keepLF) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' && keepLF:
			b.WriteByte('\n')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0xffff && Invisible(r):
			fmt.Fprintf(&b, `\U%08x`, r)
		case Invisible(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsVisible(s string, keepLF bool) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r < 0x20 && !(keepLF && r == '\n') || r == 0x7f || (r == utf8.RuneError && size == 1) || r >= 0x80 && Invisible(r) {
			return true
		}
		i += size
	}
	return false
}

// Invisible reports whether r is a character a reader cannot see or that
// changes how the text around it reads: C1 controls, line and paragraph
// separators, every format character (Unicode category Cf: zero-width
// space, non-joiner and joiner, word joiner, the byte-order mark, soft
// hyphen, bidirectional embeddings, overrides, isolates and marks, tag
// characters...), and the characters that render as blank without being
// spaces (Hangul fillers, the combining grapheme joiner, Mongolian
// variation selectors, variation selectors). Receivers and the terminal
// write these as escapes.
func Invisible(r rune) bool {
	switch {
	case r < 0x80:
		return false
	case r <= 0x9f, r == 0x2028, r == 0x2029:
		return true
	case unicode.Is(unicode.Cf, r):
		return true
	case r == 0x034f, r == 0x115f, r == 0x1160, r == 0x17b4, r == 0x17b5, r == 0x3164, r == 0xffa0,
		r >= 0x180b && r <= 0x180f,
		r >= 0xfe00 && r <= 0xfe0f, r >= 0xe0100 && r <= 0xe01ef:
		return true
	}
	return false
}

// TruncMarker ends every truncated text.
const TruncMarker = "…(truncated)"

// Truncate shortens s to at most max runes, ending it with TruncMarker when
// it cut. It never cuts inside a rune, inside an HTML/Slack entity such as
// "&amp;", or between a backslash and the character it escapes. When max is
// too small for the marker, s is cut to max runes without one.
func Truncate(s string, max int) string {
	if max <= 0 {
		return ""
	}
	if len(s) <= max {
		return s // never more runes than bytes
	}
	// Find where rune number max starts; if s ends first, it fits.
	end, n := 0, 0
	for ; end < len(s) && n < max; n++ {
		_, size := utf8.DecodeRuneInString(s[end:])
		end += size
	}
	if end >= len(s) {
		return s
	}
	marker := TruncMarker
	keep := max - utf8.RuneCountInString(marker)
	if keep < 1 {
		marker, keep = "", max
	}
	cut := 0
	for n := 0; n < keep && cut < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
	}
	return safeCut(s, cut) + marker
}

// TruncateBytes shortens s to at most max bytes in the same way as Truncate.
func TruncateBytes(s string, max int) string {
	if max <= 0 {
		return ""
	}
	if len(s) <= max {
		return s
	}
	marker := TruncMarker
	keep := max - len(marker)
	if keep < 1 {
		marker, keep = "", max
	}
	cut := keep
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return safeCut(s, cut) + marker
}

// safeCut returns s[:cut] moved back so that it does not end inside an
// entity ("&am") or after an escaping backslash.
func safeCut(s string, cut int) string {
	out := s[:cut]
	// An entity is '&', up to 10 name characters, ';'. If the kept text
	// ends with '&' followed only by name characters, the cut is inside one.
	for j := len(out) - 1; j >= 0 && len(out)-j <= 11; j-- {
		c := out[j]
		if c == '&' {
			if rest := s[j:]; entityAt(rest) {
				out = out[:j]
			}
			break
		}
		if !(c == '#' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			break
		}
	}
	// An odd run of trailing backslashes would escape the marker.
	n := 0
	for n < len(out) && out[len(out)-1-n] == '\\' {
		n++
	}
	if n%2 == 1 {
		out = out[:len(out)-1]
	}
	return out
}

// entityAt reports whether s starts with a complete entity "&name;".
func entityAt(s string) bool {
	for i := 1; i < len(s) && i <= 11; i++ {
		c := s[i]
		if c == ';' {
			return i > 1
		}
		if !(c == '#' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return false
}
