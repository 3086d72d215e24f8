package rule

import (
	"slices"
	"strings"
	"unicode/utf8"

	langpin "github.com/trailwatch/trailwatch/internal/rule/pin"
	"github.com/trailwatch/trailwatch/internal/rule/sigma"
	"github.com/valyala/fastjson"
)

// pin is a field a rule cannot match without: the text at path equals one
// of values or, by kind, begins with or contains one of them. Every
// language reads its pins from the compiled match (pattern.Pin,
// filter.Pin, jq.Pin, sigma.Pin) and they all promise the same thing of
// an event: where the field is missing, the rule does not match; where it
// is text, the rule matches only if the folded text (sigma.AppendFold)
// equals, begins with or contains a folded value. Where the field is
// anything else (an array, a number, null, an object) or the path runs
// through something other than an object, the rule may still match, and
// is offered the event.
type pin struct {
	path   []string
	values []string
	kind   pinKind
	// groupings are other paths the field is read at (a Sigma field name
	// with dots); where one leads to a value, the rule is offered the
	// event.
	groupings [][]string
}

// pinKind is what a pin says of a text; each kind is implied by the one
// before.
type pinKind uint8

const (
	pinExact pinKind = iota
	pinPrefix
	pinSubstring
)

func kindOf(prefix, substring bool) pinKind {
	switch {
	case substring:
		return pinSubstring
	case prefix:
		return pinPrefix
	}
	return pinExact
}

// pinner is a matcher that knows its pins.
type pinner interface {
	pins() []pin
}

func (m patternMatcher) pins() []pin { return fromPins(m.p.Pins()) }

func (m filterMatcher) pins() []pin { return fromPins(m.f.Pins()) }

// fromPins reads the pins of the languages that share package pin's type.
func fromPins(ps []langpin.Pin) []pin {
	var out []pin
	for _, p := range ps {
		out = append(out, pin{path: p.Path, values: p.Values, kind: kindOf(p.Prefix, p.Substring)})
	}
	return out
}

func (m jqMatcher) pins() []pin {
	var out []pin
	for _, p := range m.q.Pins() {
		out = append(out, pin{path: p.Path, values: p.Values, kind: kindOf(p.Prefix, p.Substring)})
	}
	return out
}

func (m sigmaMatcher) pins() []pin {
	var out []pin
	for _, p := range m.r.Pins() {
		out = append(out, pin{path: p.Path, values: p.Values, kind: kindOf(p.Prefix, p.Substring), groupings: sigma.Groupings(p.Path)})
	}
	return out
}

// usable reports whether the index can hold p. A prefix or a fragment
// must be UTF-8: folded text keeps a byte that is not UTF-8 as it is, and
// a fragment cut inside a character could fold differently from the text
// around it.
func (p pin) usable() bool {
	if len(p.path) == 0 || len(p.values) == 0 {
		return false
	}
	if p.kind == pinExact {
		return true
	}
	for _, v := range p.values {
		if v == "" || !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// weakFields are fields with few distinct values in CloudTrail: a rule
// pinned by one of them and by another field is indexed by the other.
var weakFields = map[string]int{
	"eventSource":        1,
	"awsRegion":          2,
	"recipientAccountId": 2,
	"userIdentity.type":  3,
	"eventType":          3,
	"eventCategory":      3,
	"managementEvent":    3,
	"readOnly":           3,
}

// rank orders a rule's pins for indexing: exact values before prefixes
// before fragments, then fields with many values before weak ones, then
// fewer values.
func (p pin) rank() (int, int) {
	return 10*int(p.kind) + weakFields[strings.Join(p.path, ".")], len(p.values)
}

// minFieldRules is how many rules a field other than the event name must
// pin before the set indexes them by it: looking a field up costs about as
// much as trying three or four rules on it directly (BenchmarkScaling, with
// five rules on four fields, is slower indexed).
const minFieldRules = 4

// usablePins returns the pins of m the index can hold.
func usablePins(m Matcher) []pin {
	pm, ok := m.(pinner)
	if !ok {
		return nil
	}
	var out []pin
	for _, p := range pm.pins() {
		if p.usable() {
			out = append(out, p)
		}
	}
	return out
}

// bestPin chooses, among pins on fields that ok accepts, the one to index
// a rule by.
func bestPin(pins []pin, ok func(pin) bool) (best pin, found bool) {
	for _, p := range pins {
		if !ok(p) {
			continue
		}
		if !found {
			best, found = p, true
			continue
		}
		br, bn := best.rank()
		pr, pn := p.rank()
		if pr < br || pr == br && pn < bn {
			best = p
		}
	}
	return best, found
}

// pathKey names a field for counting.
func pathKey(path []string) string { return strings.Join(path, "\x00") }

// fieldIndex holds the rules indexed by one field other than the event
// name: by folded value, by folded prefix, by folded fragment, and all of
// them for an event whose field is not text.
type fieldIndex struct {
	path   []string
	exact  map[string][]int32
	prefix map[string][]int32
	lens   []int // the folded prefixes' lengths, ascending
	all    []int32
	// maxLen is the longest folded value or prefix: a text that folds to
	// something longer has no exact entry, and only its first maxLen folded
	// bytes are looked up as prefixes.
	maxLen int
	// texts are the folded fragments, found by ac; textRules[i] are the
	// rules of texts[i].
	texts     []string
	textRules [][]int32
	ac        *automaton
	// groupings are other paths to the field (see pin): where one leads
	// to a value, every rule of the index is offered the event.
	groupings [][]string
}

func (fi *fieldIndex) add(p pin, ord int32) {
	fi.all = append(fi.all, ord)
	for _, g := range p.groupings {
		if !slices.ContainsFunc(fi.groupings, func(h []string) bool { return slices.Equal(g, h) }) {
			fi.groupings = append(fi.groupings, g)
		}
	}
	for _, v := range p.values {
		f := string(sigma.AppendFold(nil, []byte(v)))
		switch p.kind {
		case pinSubstring:
			i := slices.Index(fi.texts, f)
			if i < 0 {
				i = len(fi.texts)
				fi.texts = append(fi.texts, f)
				fi.textRules = append(fi.textRules, nil)
			}
			if l := fi.textRules[i]; len(l) == 0 || l[len(l)-1] != ord {
				fi.textRules[i] = append(l, ord)
			}
			continue
		case pinPrefix:
			if !slices.Contains(fi.lens, len(f)) {
				fi.lens = append(fi.lens, len(f))
				slices.Sort(fi.lens)
			}
		}
		fi.maxLen = max(fi.maxLen, len(f))
		m := &fi.exact
		if p.kind == pinPrefix {
			m = &fi.prefix
		}
		if *m == nil {
			*m = map[string][]int32{}
		}
		if l := (*m)[f]; len(l) == 0 || l[len(l)-1] != ord {
			(*m)[f] = append(l, ord)
		}
	}
}

// build finishes the index once every rule is added.
func (fi *fieldIndex) build() {
	if len(fi.texts) > 0 {
		fi.ac = newAutomaton(fi.texts)
	}
}

// hits appends to out the lists of rules the event may match by this
// field.
func (fi *fieldIndex) hits(root *fastjson.Value, out [][]int32) [][]int32 {
	for _, g := range fi.groupings {
		if reaches(root, g) {
			return append(out, fi.all)
		}
	}
	v := root
	for _, k := range fi.path {
		if v.Type() != fastjson.TypeObject {
			return append(out, fi.all)
		}
		v = v.Get(k)
		if v == nil {
			return out // missing: no rule pinned here can match
		}
	}
	if v.Type() != fastjson.TypeString {
		return append(out, fi.all)
	}
	text, _ := v.StringBytes()
	if fi.ac != nil {
		var buf [16]int32
		for _, n := range fi.ac.find(text, buf[:0]) {
			out = append(out, fi.textRules[n])
		}
	}
	if fi.maxLen == 0 {
		return out
	}
	// A text folds to at least a quarter of its length (no rune folds to
	// a longer one, and none to less than a byte): fold only what can
	// reach maxLen folded bytes.
	limit := 4*fi.maxLen + 4
	whole := len(text) <= limit
	if !whole {
		text = text[:limit]
	}
	var buf [256]byte
	folded := sigma.AppendFold(buf[:0], text)
	if whole && len(fi.exact) > 0 {
		if l, ok := fi.exact[string(folded)]; ok {
			out = append(out, l)
		}
	}
	for _, n := range fi.lens {
		if n > len(folded) {
			break
		}
		if l, ok := fi.prefix[string(folded[:n])]; ok {
			out = append(out, l)
		}
	}
	return out
}

// reaches reports whether path may lead to a value in root: it does, or
// it runs through something other than an object, which a Sigma rule
// looks into.
func reaches(root *fastjson.Value, path []string) bool {
	v := root
	for _, k := range path {
		if v.Type() != fastjson.TypeObject {
			return true
		}
		if v = v.Get(k); v == nil {
			return false
		}
	}
	return true
}

// mergeRules merges sorted lists of rule numbers into one sorted list
// without duplicates, working in the buffers a and b (grown as needed).
func mergeRules(base []int32, lists [][]int32, a, b []int32) []int32 {
	cur := base
	for _, l := range lists {
		dst := a[:0]
		i, j := 0, 0
		for i < len(cur) && j < len(l) {
			switch {
			case cur[i] < l[j]:
				dst = append(dst, cur[i])
				i++
			case cur[i] > l[j]:
				dst = append(dst, l[j])
				j++
			default:
				dst = append(dst, cur[i])
				i++
				j++
			}
		}
		dst = append(dst, cur[i:]...)
		dst = append(dst, l[j:]...)
		// The next merge reads dst and writes into the other buffer.
		cur, a, b = dst, b, dst
	}
	return cur
}
