package pattern

import (
	"bytes"
	"math"
	"net/netip"
	"strconv"

	"github.com/valyala/fastjson"
)

// leaf is a field's list of values: it matches when any member matches any
// of the field's values (OR), or, for exists, when the field has values or
// none.
type leaf struct {
	existsTrue  bool // some member is {"exists": true}
	existsFalse bool // some member is {"exists": false}

	strs   []string            // exact strings, when few
	strSet map[string]struct{} // exact strings, when many (read-only after compile)
	nums   []float64           // exact numbers
	// exact literals
	matchTrue, matchFalse, matchNull bool

	ops []op // every other member, in pattern order
}

// strSetMin is the number of exact strings from which a leaf uses a set.
const strSetMin = 8

type opKind uint8

const (
	opPrefix opKind = iota
	opPrefixFold
	opSuffix
	opSuffixFold
	opEqualsFold
	opWildcard
	opNumeric
	opCIDR
	opAnythingBut
)

// op is one content-filter member of a leaf.
type op struct {
	kind   opKind
	s      string       // prefix, suffix, equals-ignore-case
	wc     wildcard     // wildcard
	num    numRange     // numeric
	prefix netip.Prefix // cidr
	but    *anythingBut // anything-but
}

// numRange is a numeric comparison: each bound is optional, open or closed.
type numRange struct {
	lo, hi         float64
	hasLo, hasHi   bool
	loIncl, hiIncl bool
}

func (r *numRange) contains(f float64) bool {
	if r.hasLo && !(f > r.lo || r.loIncl && f == r.lo) {
		return false
	}
	if r.hasHi && !(f < r.hi || r.hiIncl && f == r.hi) {
		return false
	}
	return true
}

type butKind uint8

const (
	butValues butKind = iota // strings or numbers
	butPrefix
	butSuffix
	butEqualsFold
	butWildcard
)

// anythingBut matches values that are none of its members.
type anythingBut struct {
	kind butKind
	strs []string   // values, prefixes, suffixes or equals-ignore-case strings
	nums []float64  // values
	wcs  []wildcard // wildcards
}

// match reports whether the leaf matches the value found at its path; v is
// nil when the field is absent. Objects are not values ("exists matches leaf
// values only"); arrays hold values, of which one must match.
func (l *leaf) match(v *fastjson.Value) bool {
	if v == nil {
		return l.existsFalse
	}
	switch v.Type() {
	case fastjson.TypeObject:
		return l.existsFalse
	case fastjson.TypeArray:
		sawValue := false
		if l.matchArray(v, &sawValue) {
			return true
		}
		return !sawValue && l.existsFalse
	}
	return l.matchScalar(v)
}

// matchArray matches the values of a (nested) array; objects in it are not
// values and are skipped.
func (l *leaf) matchArray(v *fastjson.Value, sawValue *bool) bool {
	arr, _ := v.Array()
	for _, e := range arr {
		switch e.Type() {
		case fastjson.TypeObject:
		case fastjson.TypeArray:
			if l.matchArray(e, sawValue) {
				return true
			}
		default:
			*sawValue = true
			if l.matchScalar(e) {
				return true
			}
		}
	}
	return false
}

// matchScalar matches one JSON value that is not an object or array.
func (l *leaf) matchScalar(v *fastjson.Value) bool {
	if l.existsTrue {
		return true
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return l.matchStringValue(b)
	case fastjson.TypeNumber:
		f, ok := parseNumber(v)
		if !ok {
			return false
		}
		return l.matchNumber(f)
	case fastjson.TypeTrue:
		return l.matchTrue || l.matchOtherLiteral()
	case fastjson.TypeFalse:
		return l.matchFalse || l.matchOtherLiteral()
	case fastjson.TypeNull:
		return l.matchNull || l.matchOtherLiteral()
	}
	return false
}

// parseNumber reads a JSON number value, correctly rounded, so that 301.8
// and 3.018e2 are the same number. fastjson's own Float64 is not always
// correctly rounded.
func parseNumber(v *fastjson.Value) (float64, bool) {
	var buf [64]byte
	b := v.MarshalTo(buf[:0])
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// matchString matches a string field of the EventBridge envelope; present is
// false when the field is absent.
func (l *leaf) matchString(b []byte, present bool) bool {
	if !present {
		return l.existsFalse
	}
	return l.existsTrue || l.matchStringValue(b)
}

// matchStringValue matches a JSON string value.
func (l *leaf) matchStringValue(b []byte) bool {
	if l.strSet != nil {
		if _, ok := l.strSet[string(b)]; ok {
			return true
		}
	}
	for _, s := range l.strs {
		if string(b) == s {
			return true
		}
	}
	for i := range l.ops {
		o := &l.ops[i]
		switch o.kind {
		case opPrefix:
			if hasPrefix(b, o.s) {
				return true
			}
		case opPrefixFold:
			if hasPrefixFold(b, o.s) {
				return true
			}
		case opSuffix:
			if hasSuffix(b, o.s) {
				return true
			}
		case opSuffixFold:
			if hasSuffixFold(b, o.s) {
				return true
			}
		case opEqualsFold:
			if equalFold(b, o.s) {
				return true
			}
		case opWildcard:
			if o.wc.match(b) {
				return true
			}
		case opCIDR:
			if a, ok := parseAddr(b); ok && o.prefix.Contains(a) {
				return true
			}
		case opAnythingBut:
			if o.but.matchString(b) {
				return true
			}
		}
	}
	return false
}

// parseAddr reads an IP address. Dotted IPv4, the common case, is read
// without allocating; anything else that could be IPv6 goes to netip. An
// IPv4-mapped IPv6 address is read as IPv4.
func parseAddr(b []byte) (netip.Addr, bool) {
	if a, ok := parseIPv4(b); ok {
		return a, true
	}
	if bytes.IndexByte(b, ':') < 0 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(string(b))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// parseIPv4 reads a dotted-decimal IPv4 address as netip does: four
// decimal fields of 0 to 255 without leading zeros.
func parseIPv4(b []byte) (netip.Addr, bool) {
	var ip [4]byte
	field, digits := 0, 0
	val := 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digits == 0 || field > 3 {
				return netip.Addr{}, false
			}
			ip[field] = byte(val)
			field++
			val, digits = 0, 0
			continue
		}
		c := b[i]
		if c < '0' || c > '9' || (digits == 1 && val == 0) {
			return netip.Addr{}, false
		}
		val = val*10 + int(c-'0')
		digits++
		if val > 255 {
			return netip.Addr{}, false
		}
	}
	if field != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(ip), true
}

// matchNumber matches a JSON number value, compared as a number.
func (l *leaf) matchNumber(f float64) bool {
	for _, n := range l.nums {
		if f == n {
			return true
		}
	}
	for i := range l.ops {
		o := &l.ops[i]
		switch o.kind {
		case opNumeric:
			if o.num.contains(f) {
				return true
			}
		case opAnythingBut:
			if o.but.matchNumber(f) {
				return true
			}
		}
	}
	return false
}

// matchOtherLiteral reports whether an anything-but list of values matches a
// true, false or null value, which it never names.
func (l *leaf) matchOtherLiteral() bool {
	for i := range l.ops {
		if o := &l.ops[i]; o.kind == opAnythingBut && o.but.kind == butValues {
			return true
		}
	}
	return false
}

func (a *anythingBut) matchString(b []byte) bool {
	switch a.kind {
	case butValues:
		for _, s := range a.strs {
			if string(b) == s {
				return false
			}
		}
	case butPrefix:
		for _, s := range a.strs {
			if hasPrefix(b, s) {
				return false
			}
		}
	case butSuffix:
		for _, s := range a.strs {
			if hasSuffix(b, s) {
				return false
			}
		}
	case butEqualsFold:
		for _, s := range a.strs {
			if equalFold(b, s) {
				return false
			}
		}
	case butWildcard:
		for i := range a.wcs {
			if a.wcs[i].match(b) {
				return false
			}
		}
	}
	return true
}

func (a *anythingBut) matchNumber(f float64) bool {
	if a.kind != butValues {
		return false // the string forms match string values only
	}
	for _, n := range a.nums {
		if f == n {
			return false
		}
	}
	return true
}

// exactStrings returns the leaf's members when all of them are exact strings.
func (l *leaf) exactStrings() ([]string, bool) {
	if l.existsTrue || l.existsFalse || len(l.nums) > 0 || l.matchTrue || l.matchFalse ||
		l.matchNull || len(l.ops) > 0 {
		return nil, false
	}
	names := append([]string(nil), l.strs...)
	for s := range l.strSet {
		names = append(names, s)
	}
	return names, len(names) > 0
}
