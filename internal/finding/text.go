package finding

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Bounds on what is kept of a finding's text, in runes. ASFF allows 256
// characters for a title and 1024 for a description; GuardDuty writes less.
// Longer text was not written by AWS and is cut, marked with "…".
const (
	maxID          = 512
	maxTitle       = 512
	maxDescription = 2048
)

// text returns the string v holds, valid UTF-8, cut to max runes; "" for
// anything that is not a string.
func text(v *fastjson.Value, max int) string {
	if v == nil || v.Type() != fastjson.TypeString {
		return ""
	}
	b, _ := v.StringBytes()
	return cut(string(b), max)
}

// cut shortens s to at most max runes, ending a cut text with "…".
func cut(s string, max int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= max || utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// first returns the first non-empty string.
func first(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// number reads a JSON number or a number written as text; ok is false for
// anything else, NaN and the infinities.
func number(v *fastjson.Value) (float64, bool) {
	if v == nil {
		return 0, false
	}
	var (
		f   float64
		err error
	)
	switch v.Type() {
	case fastjson.TypeNumber:
		f, err = v.Float64()
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		f, err = strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	default:
		return 0, false
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// count reads a count, bounded to [0, 1e9].
func count(v *fastjson.Value) int {
	f, ok := number(v)
	if !ok || f < 0 {
		return 0
	}
	return int(math.Min(f, 1e9))
}

// when reads an RFC 3339 time; the zero time for anything else.
func when(v *fastjson.Value) time.Time {
	s := text(v, 64)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// isTrue reports whether v is JSON true or the text "true".
func isTrue(v *fastjson.Value) bool {
	if v == nil {
		return false
	}
	switch v.Type() {
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return strings.EqualFold(string(b), "true")
	}
	return false
}
