package filter

import (
	"slices"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

// Filter is a compiled CloudWatch Logs JSON filter pattern.
//
// A Filter is immutable once compiled and safe for concurrent use by any
// number of goroutines. Each Match call only reads the event; note that the
// JSON tree behind an event decodes escaped strings lazily on first read, so
// two goroutines matching the same *event.Event at once rely on the event
// package's own guarantee for concurrent reads.
type Filter struct {
	root  *node
	names []string
	ok    bool
}

// Compile parses a JSON filter pattern such as
// `{ $.eventName = ConsoleLogin && $.errorMessage = "Failed authentication" }`.
// A malformed pattern, or one in the term or space-delimited form, yields a
// *SyntaxError naming the byte offset and the offending token.
func Compile(src string) (*Filter, error) {
	p := parser{src: src}
	root, err := p.parse()
	if err != nil {
		return nil, err
	}
	f := &Filter{root: root}
	if m, ok := root.eventNames(); ok {
		f.ok = true
		f.names = make([]string, 0, len(m))
		for s := range m {
			f.names = append(f.names, s)
		}
		slices.Sort(f.names)
	}
	return f, nil
}

// MustCompile is Compile for patterns known to be valid, such as the
// built-in CIS table; it panics on error.
func MustCompile(src string) *Filter {
	f, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return f
}

// Match reports whether the event's CloudTrail record matches the filter.
// A nil event matches nothing, and so does the zero Filter.
func (f *Filter) Match(ev *event.Event) bool {
	if f == nil || f.root == nil || ev == nil || ev.Value() == nil {
		return false
	}
	return f.root.match(ev.Value())
}

// EventNames returns the exact eventName values the filter requires, sorted,
// and ok=true; or ok=false when the filter does not pin the name (a wildcard,
// a != or a branch of || without an eventName term). ok=true with no names
// means the && of two eventName terms can never hold. The rule set uses it
// to index rules by event name; the returned slice is the caller's.
func (f *Filter) EventNames() (names []string, ok bool) {
	if !f.ok {
		return nil, false
	}
	return slices.Clone(f.names), true
}

// String returns the filter in canonical form: every string quoted, one
// space around operators, parentheses only where && binds an ||. Compiling
// the result gives a filter that matches exactly the same events. The zero
// Filter prints as "".
func (f *Filter) String() string {
	if f == nil || f.root == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("{ ")
	f.root.write(&b, false)
	b.WriteString(" }")
	return b.String()
}
