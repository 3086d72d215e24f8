package tattletail

import (
	"strings"
)

// keyLine is one key = value, or one table header, of a TOML file, with
// the table it belongs to and its line.
type keyLine struct {
	table string // "" at the top, "rule", "destination", or another name
	index int    // which [[table]] (0-based); -1 for a [table] or the top
	key   string // "" for the header itself
	line  int
	array bool // the header is [[table]]
}

// scanKeys finds every table header and every key of a TOML file, with
// its line, so that a key the format does not know can be reported where
// it is written (the TOML decoder names keys, not lines). It follows
// comments, the four kinds of strings (multi-line ones included) and
// values that span lines (arrays), well enough for any file the decoder
// accepts; it runs only after the decoder accepted the file.
func scanKeys(src string) []keyLine {
	var (
		out    []keyLine
		table  string
		index  = -1
		counts = map[string]int{}
		line   = 1
		depth  int    // open [ and { of a value
		inStr  string // the open multi-line string's quotes
	)
	lines := strings.Split(src, "\n")
	for ; line <= len(lines); line++ {
		text := lines[line-1]
		i := 0
		if inStr != "" {
			end := strings.Index(text, inStr)
			if end < 0 {
				continue
			}
			i = end + len(inStr)
			inStr = ""
		}
		rest := strings.TrimSpace(text[i:])
		if depth == 0 && inStr == "" && i == 0 {
			switch {
			case strings.HasPrefix(rest, "[["):
				name := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(stripComment(rest[2:])), "]]"))
				table, index = unquote(name), counts[unquote(name)]
				counts[table]++
				out = append(out, keyLine{table: table, index: index, line: line, array: true})
				continue
			case strings.HasPrefix(rest, "["):
				name := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(stripComment(rest[1:])), "]"))
				table, index = unquote(name), -1
				out = append(out, keyLine{table: table, index: -1, line: line})
				continue
			case rest == "" || strings.HasPrefix(rest, "#"):
				continue
			}
			if k, ok := keyOf(rest); ok {
				out = append(out, keyLine{table: table, index: index, key: k, line: line})
			}
		}
		// Follow the value to its end: strings, comments, brackets.
		depth, inStr = scanValue(text[i:], depth)
	}
	return out
}

// keyOf reads the key of a "key = value" line: a bare key, a quoted key,
// or a dotted key (kept whole, dots and all, as the format has none).
func keyOf(s string) (string, bool) {
	eq := -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"', '\'':
			end := strings.IndexByte(s[i+1:], s[i])
			if end < 0 {
				return "", false
			}
			i += end + 1
		case '=':
			eq = i
		}
		if eq >= 0 {
			break
		}
	}
	if eq <= 0 {
		return "", false
	}
	k := strings.TrimSpace(s[:eq])
	if strings.HasPrefix(k, `"`) || strings.HasPrefix(k, "'") {
		return unquote(k), true
	}
	return k, true
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

func stripComment(s string) string {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		return s[:i]
	}
	return s
}

// scanValue follows one line of a value: it returns the brackets still
// open and, if a multi-line string is still open, its quotes.
func scanValue(s string, depth int) (int, string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '#':
			return depth, ""
		case '[', '{':
			depth++
		case ']', '}':
			if depth > 0 {
				depth--
			}
		case '"', '\'':
			q := string(c)
			if strings.HasPrefix(s[i:], q+q+q) {
				end := strings.Index(s[i+3:], q+q+q)
				if end < 0 {
					return depth, q + q + q
				}
				i += 3 + end + 2
				continue
			}
			for j := i + 1; j < len(s); j++ {
				if c == '"' && s[j] == '\\' {
					j++
					continue
				}
				if s[j] == c {
					i = j
					break
				}
				if j == len(s)-1 {
					i = j
				}
			}
		}
	}
	return depth, ""
}
