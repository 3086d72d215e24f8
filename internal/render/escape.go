package render

import (
	"fmt"
	"html"
	"strings"
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
// heading ("- ", "+ ", "1. ", "# ") has its marker escaped too.
func EscapeMarkdown(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	lineStart := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
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
// paragraph separators and bidirectional formatting characters are written
// as visible Go-style escapes ("\n", "\x1b", "\u202e"). Invalid UTF-8 bytes
// become "\xNN". Everything else is kept as is.
func oneLine(s string) string {
	if !needsOneLine(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case invisible(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsOneLine(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r < 0x20 || r == 0x7f || (r == utf8.RuneError && size == 1) || invisible(r) {
			return true
		}
		i += size
	}
	return false
}

// invisible reports C1 controls, line/paragraph separators and the
// bidirectional embedding, override and isolate characters.
func invisible(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || r == 0x2028 || r == 0x2029 ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x200e || r == 0x200f || r == 0x061c
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
