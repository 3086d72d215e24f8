package pattern

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// compiler turns pattern JSON into nodes.
type compiler struct {
	// generic compiles a pattern over any JSON document, as EventBridge
	// matches its own events, with no envelope mapping. The compliance tests
	// use it to check the language on the documented example events.
	generic bool
}

func errAt(path, format string, args ...any) error {
	return &Error{Path: path, Reason: fmt.Sprintf(format, args...)}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// compile parses src and reports whether it is an envelope pattern.
func (c *compiler) compile(src []byte) (*node, bool, error) {
	// encoding/json names the byte offset of a syntax error; fastjson keeps
	// object keys in order, which makes error paths deterministic.
	var syntax json.RawMessage
	if err := json.Unmarshal(src, &syntax); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, false, errAt("", "invalid JSON at byte %d: %s", se.Offset, se.Error())
		}
		return nil, false, errAt("", "invalid JSON: %s", err.Error())
	}
	var p fastjson.Parser
	v, err := p.ParseBytes(src)
	if err != nil {
		return nil, false, errAt("", "invalid JSON: %s", err.Error())
	}
	if v.Type() != fastjson.TypeObject {
		return nil, false, errAt("", "a pattern must be a JSON object, not %s", describe(v))
	}
	o, _ := v.Object()
	envelope := !c.generic && objectMarksEnvelope(o)
	n, err := c.object(o, "", envelope)
	if err != nil {
		return nil, false, err
	}
	if repeats(o, nil) {
		if n, err = c.expanded(o, envelope); err != nil {
			return nil, false, err
		}
	}
	return n, envelope, nil
}

// objectMarksEnvelope reports whether a top-level object, or any branch of
// its $or groups, names source, detail-type or detail.
func objectMarksEnvelope(o *fastjson.Object) bool {
	found := false
	o.Visit(func(k []byte, v *fastjson.Value) {
		key := string(k)
		if marksEnvelope(key) {
			found = true
		}
		if key == "$or" && v.Type() == fastjson.TypeArray {
			for _, b := range v.GetArray() {
				if b.Type() == fastjson.TypeObject && objectMarksEnvelope(b.GetObject()) {
					found = true
				}
			}
		}
	})
	return found
}

// member is one key of a pattern object and its value.
type member struct {
	key string
	val *fastjson.Value
}

// members lists an object's keys in order. A key written more than once
// counts once, with its last value, as EventBridge reads a pattern ("the
// last reference will be the one used"); the earlier values are returned
// in shadowed so that they are still checked.
func members(o *fastjson.Object) (ms, shadowed []member) {
	last := map[string]int{}
	i := 0
	o.Visit(func(k []byte, _ *fastjson.Value) {
		last[string(k)] = i
		i++
	})
	i = 0
	o.Visit(func(k []byte, v *fastjson.Value) {
		m := member{key: string(k), val: v}
		if last[m.key] == i {
			ms = append(ms, m)
		} else {
			shadowed = append(shadowed, m)
		}
		i++
	})
	return ms, shadowed
}

// object compiles one object level. envelope is true for the top level (and
// its $or branches) of an envelope pattern.
func (c *compiler) object(o *fastjson.Object, path string, envelope bool) (*node, error) {
	if o.Len() == 0 {
		if path == "" {
			return nil, errAt("", "the pattern is an empty object; name at least one field")
		}
		return nil, errAt(path, "empty object; name at least one field or remove it")
	}
	ms, shadowed := members(o)
	// A repeated key's earlier values take no part in matching, but a
	// mistake in them is still a mistake in the rule.
	for _, m := range shadowed {
		if _, err := c.member(m, path, envelope); err != nil {
			return nil, err
		}
	}
	n := &node{}
	for _, m := range ms {
		if m.key == "$or" {
			group, err := c.or(m.val, join(path, m.key), envelope)
			if err != nil {
				return nil, err
			}
			n.ors = append(n.ors, group)
			continue
		}
		f, err := c.member(m, path, envelope)
		if err != nil {
			return nil, err
		}
		n.fields = append(n.fields, f)
	}
	return n, nil
}

// member compiles one field of an object level ($or aside).
func (c *compiler) member(m member, path string, envelope bool) (*field, error) {
	fpath := join(path, m.key)
	if m.key == "$or" {
		_, err := c.or(m.val, fpath, envelope)
		return nil, err
	}
	f := &field{key: m.key}
	if envelope {
		var ok bool
		if f.env, ok = envFieldOf(m.key); !ok {
			return nil, errAt(fpath, "%q is not a field of the EventBridge envelope; a pattern that names "+
				"source, detail-type or detail matches the envelope, so put CloudTrail record fields under detail", m.key)
		}
	}
	var err error
	switch m.val.Type() {
	case fastjson.TypeObject:
		vo, _ := m.val.Object()
		f.obj, err = c.object(vo, fpath, false)
	case fastjson.TypeArray:
		f.leaf, err = c.leaf(m.val, fpath)
	default:
		err = errAt(fpath, "the value must be a list of values or matchers, or an object, not %s "+
			"(write [%s] to match it exactly)", describe(m.val), m.val.String())
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// or compiles a $or list: at least two objects, each a branch at the level
// the $or stands in.
func (c *compiler) or(v *fastjson.Value, path string, envelope bool) ([]*node, error) {
	if v.Type() != fastjson.TypeArray {
		return nil, errAt(path, "must be a list of at least two objects, not %s", describe(v))
	}
	arr, _ := v.Array()
	if len(arr) < 2 {
		return nil, errAt(path, "must be a list of at least two objects, not a list of %d", len(arr))
	}
	group := make([]*node, 0, len(arr))
	for i, b := range arr {
		bpath := path + "[" + strconv.Itoa(i) + "]"
		if b.Type() != fastjson.TypeObject {
			return nil, errAt(bpath, "a $or branch must be an object, not %s", describe(b))
		}
		bo, _ := b.Object()
		n, err := c.object(bo, bpath, envelope)
		if err != nil {
			return nil, err
		}
		group = append(group, n)
	}
	return group, nil
}

// leaf compiles a field's list of values and matchers.
func (c *compiler) leaf(v *fastjson.Value, path string) (*leaf, error) {
	arr, _ := v.Array()
	if len(arr) == 0 {
		return nil, errAt(path, "empty list; an empty list matches nothing, so give at least one value")
	}
	l := &leaf{}
	for _, m := range arr {
		switch m.Type() {
		case fastjson.TypeString:
			b, _ := m.StringBytes()
			l.strs = append(l.strs, string(b))
		case fastjson.TypeNumber:
			f, err := number(m)
			if err != nil {
				return nil, errAt(path, "%s", err)
			}
			l.nums = append(l.nums, f)
		case fastjson.TypeTrue:
			l.matchTrue = true
		case fastjson.TypeFalse:
			l.matchFalse = true
		case fastjson.TypeNull:
			l.matchNull = true
		case fastjson.TypeObject:
			if err := c.matcher(l, m, path); err != nil {
				return nil, err
			}
		default:
			return nil, errAt(path, "a list member must be a string, number, boolean, null or matcher object, not %s", describe(m))
		}
	}
	if len(l.strs) >= strSetMin {
		l.strSet = make(map[string]struct{}, len(l.strs))
		for _, s := range l.strs {
			l.strSet[s] = struct{}{}
		}
		l.strs = nil
	}
	return l, nil
}

// Operator names, for messages.
const operatorList = "prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists or cidr"

// matcher compiles one matcher object of a list into l.
func (c *compiler) matcher(l *leaf, m *fastjson.Value, path string) error {
	o, _ := m.Object()
	if o.Len() != 1 {
		if o.Len() == 0 {
			return errAt(path, "empty matcher object; use one of %s", operatorList)
		}
		var keys []string
		o.Visit(func(k []byte, _ *fastjson.Value) { keys = append(keys, strconv.Quote(string(k))) })
		return errAt(path, "a matcher object must have exactly one operator, found %s", strings.Join(keys, ", "))
	}
	var name string
	var arg *fastjson.Value
	o.Visit(func(k []byte, v *fastjson.Value) { name, arg = string(k), v })
	switch name {
	case "prefix", "suffix":
		s, fold, err := affix(name, arg, path)
		if err != nil {
			return err
		}
		kind := opPrefix
		switch {
		case name == "prefix" && fold:
			kind = opPrefixFold
		case name == "suffix" && !fold:
			kind = opSuffix
		case name == "suffix" && fold:
			kind = opSuffixFold
		}
		l.ops = append(l.ops, op{kind: kind, s: s})
	case "equals-ignore-case":
		s, ok := str(arg)
		if !ok {
			return errAt(path, "equals-ignore-case takes a string, not %s", describe(arg))
		}
		l.ops = append(l.ops, op{kind: opEqualsFold, s: s})
	case "wildcard":
		s, ok := str(arg)
		if !ok {
			return errAt(path, "wildcard takes a string, not %s", describe(arg))
		}
		w, err := compileWildcard(s)
		if err != nil {
			return errAt(path, "wildcard %q: %s", s, err)
		}
		l.ops = append(l.ops, op{kind: opWildcard, wc: w})
	case "exists":
		switch arg.Type() {
		case fastjson.TypeTrue:
			l.existsTrue = true
		case fastjson.TypeFalse:
			l.existsFalse = true
		default:
			return errAt(path, "exists takes true or false, not %s", describe(arg))
		}
	case "numeric":
		r, err := numeric(arg)
		if err != nil {
			return errAt(path, "numeric %s: %s", arg.String(), err)
		}
		l.ops = append(l.ops, op{kind: opNumeric, num: r})
	case "cidr":
		s, ok := str(arg)
		if !ok {
			return errAt(path, "cidr takes a string such as \"10.0.0.0/24\", not %s", describe(arg))
		}
		p, reason := parseCIDR(s)
		if reason != "" {
			return errAt(path, "cidr %q: %s", s, reason)
		}
		l.ops = append(l.ops, op{kind: opCIDR, prefix: p})
	case "anything-but":
		b, err := anythingButOf(arg, path)
		if err != nil {
			return err
		}
		l.ops = append(l.ops, op{kind: opAnythingBut, but: b})
	default:
		return errAt(path, "unknown operator %q; use one of %s", name, operatorList)
	}
	return nil
}

// affix compiles the argument of prefix or suffix: a string, or
// {"equals-ignore-case": string}.
func affix(name string, arg *fastjson.Value, path string) (s string, fold bool, err error) {
	if s, ok := str(arg); ok {
		return s, false, nil
	}
	if arg.Type() == fastjson.TypeObject {
		o, _ := arg.Object()
		if o.Len() == 1 {
			if v := o.Get("equals-ignore-case"); v != nil {
				if s, ok := str(v); ok {
					return s, true, nil
				}
				return "", false, errAt(path, "%s equals-ignore-case takes a string, not %s", name, describe(v))
			}
		}
	}
	return "", false, errAt(path, "%s takes a string or {\"equals-ignore-case\": string}, not %s", name, describe(arg))
}

// anythingButOf compiles the argument of anything-but.
func anythingButOf(arg *fastjson.Value, path string) (*anythingBut, error) {
	switch arg.Type() {
	case fastjson.TypeString:
		s, _ := str(arg)
		return &anythingBut{kind: butValues, strs: []string{s}}, nil
	case fastjson.TypeNumber:
		f, err := number(arg)
		if err != nil {
			return nil, errAt(path, "anything-but: %s", err)
		}
		return &anythingBut{kind: butValues, nums: []float64{f}}, nil
	case fastjson.TypeArray:
		arr, _ := arg.Array()
		if len(arr) == 0 {
			return nil, errAt(path, "anything-but list is empty; give at least one value")
		}
		b := &anythingBut{kind: butValues}
		for _, m := range arr {
			switch m.Type() {
			case fastjson.TypeString:
				s, _ := str(m)
				b.strs = append(b.strs, s)
			case fastjson.TypeNumber:
				f, err := number(m)
				if err != nil {
					return nil, errAt(path, "anything-but: %s", err)
				}
				b.nums = append(b.nums, f)
			default:
				return nil, errAt(path, "anything-but list members must be strings or numbers, not %s", describe(m))
			}
		}
		if len(b.strs) > 0 && len(b.nums) > 0 {
			return nil, errAt(path, "anything-but list must hold only strings or only numbers, not both")
		}
		return b, nil
	case fastjson.TypeObject:
		o, _ := arg.Object()
		if o.Len() != 1 {
			return nil, errAt(path, "anything-but object must have exactly one of prefix, suffix, equals-ignore-case or wildcard")
		}
		var name string
		var v *fastjson.Value
		o.Visit(func(k []byte, val *fastjson.Value) { name, v = string(k), val })
		var kind butKind
		switch name {
		case "prefix":
			kind = butPrefix
		case "suffix":
			kind = butSuffix
		case "equals-ignore-case":
			kind = butEqualsFold
		case "wildcard":
			kind = butWildcard
		default:
			return nil, errAt(path, "anything-but does not take %q; use a value, a list, or one of prefix, suffix, equals-ignore-case or wildcard", name)
		}
		strs, err := stringOrList(v)
		if err != nil {
			return nil, errAt(path, "anything-but %s %s", name, err)
		}
		if kind == butPrefix || kind == butSuffix {
			for _, s := range strs {
				if s == "" {
					// Every string starts and ends with "": the matcher
					// could never match, which is a mistake, not a rule.
					return nil, errAt(path, "anything-but %s \"\" excludes every string, so it can never match; give a non-empty %s", name, name)
				}
			}
		}
		b := &anythingBut{kind: kind}
		if kind == butWildcard {
			for _, s := range strs {
				w, err := compileWildcard(s)
				if err != nil {
					return nil, errAt(path, "anything-but wildcard %q: %s", s, err)
				}
				b.wcs = append(b.wcs, w)
			}
			return b, nil
		}
		b.strs = strs
		return b, nil
	}
	return nil, errAt(path, "anything-but takes a string, a number, a list, or an object, not %s", describe(arg))
}

// stringOrList reads a string or a non-empty list of strings.
func stringOrList(v *fastjson.Value) ([]string, error) {
	if s, ok := str(v); ok {
		return []string{s}, nil
	}
	if v.Type() != fastjson.TypeArray {
		return nil, fmt.Errorf("takes a string or a list of strings, not %s", describe(v))
	}
	arr, _ := v.Array()
	if len(arr) == 0 {
		return nil, errors.New("list is empty; give at least one string")
	}
	out := make([]string, 0, len(arr))
	for _, m := range arr {
		s, ok := str(m)
		if !ok {
			return nil, fmt.Errorf("list members must be strings, not %s", describe(m))
		}
		out = append(out, s)
	}
	return out, nil
}

// numeric compiles ["op", n] or [">"|">=", lo, "<"|"<=", hi].
func numeric(arg *fastjson.Value) (numRange, error) {
	var r numRange
	if arg.Type() != fastjson.TypeArray {
		return r, fmt.Errorf("takes a list such as [\">\", 0, \"<=\", 5], not %s", describe(arg))
	}
	arr, _ := arg.Array()
	if len(arr) != 2 && len(arr) != 4 {
		return r, fmt.Errorf("takes one comparison [op, number] or a range [\">\" or \">=\", number, \"<\" or \"<=\", number], not a list of %d", len(arr))
	}
	for i := 0; i < len(arr); i += 2 {
		opName, ok := str(arr[i])
		if !ok {
			return r, fmt.Errorf("member %d must be an operator (=, <, <=, >, >=), not %s", i+1, describe(arr[i]))
		}
		if arr[i+1].Type() != fastjson.TypeNumber {
			return r, fmt.Errorf("%q must be followed by a number, not %s", opName, describe(arr[i+1]))
		}
		f, err := number(arr[i+1])
		if err != nil {
			return r, err
		}
		if f == 0 && !zeroText(arr[i+1]) {
			return r, fmt.Errorf("number %s is too small to compare: it would be read as 0", arr[i+1].String())
		}
		switch opName {
		case "=":
			if len(arr) != 2 {
				return r, errors.New("\"=\" cannot be combined with another comparison")
			}
			r = numRange{lo: f, hi: f, hasLo: true, hasHi: true, loIncl: true, hiIncl: true}
		case ">", ">=":
			if r.hasLo {
				return r, errors.New("two lower bounds; a range is a lower bound (> or >=) then an upper bound (< or <=)")
			}
			if i == 2 {
				return r, errors.New("the lower bound (> or >=) must come first")
			}
			r.lo, r.hasLo, r.loIncl = f, true, opName == ">="
		case "<", "<=":
			if r.hasHi {
				return r, errors.New("two upper bounds; a range is a lower bound (> or >=) then an upper bound (< or <=)")
			}
			if i == 0 && len(arr) == 4 {
				return r, errors.New("the lower bound (> or >=) must come first")
			}
			r.hi, r.hasHi, r.hiIncl = f, true, opName == "<="
		default:
			return r, fmt.Errorf("unknown operator %q; use =, <, <=, > or >=", opName)
		}
	}
	if r.hasLo && r.hasHi && !(r.lo < r.hi) && !(r.lo == r.hi && r.loIncl && r.hiIncl) {
		return r, fmt.Errorf("the lower bound %s must be less than the upper bound %s", fmtNum(r.lo), fmtNum(r.hi))
	}
	return r, nil
}

// number reads a finite JSON number.
func number(v *fastjson.Value) (float64, error) {
	f, ok := parseNumber(v)
	if !ok {
		return 0, fmt.Errorf("number %s is out of range", v.String())
	}
	return f, nil
}

// zeroText reports whether a JSON number is written as zero (0, -0.0,
// 0e5), as opposed to a nonzero number too small for a double.
func zeroText(v *fastjson.Value) bool {
	mantissa, _, _ := strings.Cut(strings.ToLower(v.String()), "e")
	return strings.Trim(mantissa, "-+0.") == ""
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// parseCIDR reads "addr/bits" (IPv4 or IPv6) or a single address, and returns
// a reason when it is not valid.
func parseCIDR(s string) (netip.Prefix, string) {
	addrText, bitsText, hasBits := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addrText)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, "invalid IP address"
	}
	a = a.Unmap()
	if !hasBits {
		return netip.PrefixFrom(a, a.BitLen()), ""
	}
	bits, err := strconv.Atoi(bitsText)
	if err != nil || bits < 0 || bits > a.BitLen() || bitsText != strconv.Itoa(bits) {
		return netip.Prefix{}, "invalid prefix length"
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}, "invalid prefix length"
	}
	return p, ""
}

func str(v *fastjson.Value) (string, bool) {
	if v.Type() != fastjson.TypeString {
		return "", false
	}
	b, _ := v.StringBytes()
	return string(b), true
}

// describe names a JSON value's type for messages.
func describe(v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeObject:
		return "an object"
	case fastjson.TypeArray:
		return "a list"
	case fastjson.TypeString:
		return "a string"
	case fastjson.TypeNumber:
		return "a number"
	case fastjson.TypeNull:
		return "null"
	}
	return "a boolean"
}
