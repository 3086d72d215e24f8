package pattern

import (
	"slices"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/rule/pin"
)

// Pin is a field the pattern cannot match without: the field at Path (a
// path of object keys in the CloudTrail record) holds text equal to one of
// Values or, with Prefix, beginning with one of them or, with Substring,
// containing one of them. Where the field is an array, or the path runs
// through one, the pattern may still match an element: an index that uses
// pins must offer such an event to the rule. Values may compare
// case-insensitively (equals-ignore-case and its prefixes are pins too),
// so an index must fold case.
type Pin = pin.Pin

// Pins returns the fields the pattern pins, the event name among them. An
// envelope pattern pins only the event name (see EventNames).
func (p *Pattern) Pins() []Pin {
	if p == nil || p.envelope {
		return nil
	}
	return nodePins(p.root, nil)
}

// nodePins: every field of a node must match, and one branch of each $or
// group.
func nodePins(n *node, at []string) []Pin {
	var out []Pin
	for _, f := range n.fields {
		path := append(slices.Clone(at), f.key)
		if f.obj != nil {
			out = pin.And(out, nodePins(f.obj, path))
			continue
		}
		if p, ok := f.leaf.pin(); ok {
			p.Path = path
			out = pin.And(out, []Pin{p})
		}
	}
	for _, group := range n.ors {
		var either []Pin
		for i, b := range group {
			bp := nodePins(b, at)
			if i == 0 {
				either = bp
				continue
			}
			either = pin.Or(either, bp)
		}
		out = pin.And(out, either)
	}
	return out
}

// pin reads a leaf whose every member requires text: exact strings,
// prefixes, suffixes, wildcards and equals-ignore-case of ASCII text. The
// pin is of the weakest kind among the members.
func (l *leaf) pin() (Pin, bool) {
	if l.existsTrue || l.existsFalse || len(l.nums) > 0 || l.matchTrue || l.matchFalse || l.matchNull {
		return Pin{}, false
	}
	// Each member as the texts it gives for each kind.
	type member struct{ exact, prefix, substring string }
	var members []member
	for _, s := range l.strs {
		members = append(members, member{s, s, s})
	}
	for s := range l.strSet {
		members = append(members, member{s, s, s})
	}
	kind := pin.Exact
	for i := range l.ops {
		o := &l.ops[i]
		var m member
		switch {
		case o.kind == opPrefix:
			m, kind = member{prefix: o.s, substring: o.s}, max(kind, pin.BeginsWith)
		case o.kind == opPrefixFold && isASCII(o.s):
			// A folding index folds as this prefix compares only for
			// ASCII text: the comparison reads a byte that is not UTF-8
			// as U+FFFD, the index keeps it.
			m, kind = member{prefix: o.s, substring: o.s}, max(kind, pin.BeginsWith)
		case o.kind == opEqualsFold && isASCII(o.s):
			m = member{o.s, o.s, o.s}
		case o.kind == opSuffix, o.kind == opSuffixFold && isASCII(o.s):
			m, kind = member{substring: o.s}, pin.Contains
		case o.kind == opWildcard:
			parts := o.wc.parts
			if len(parts) == 1 {
				s := string(parts[0])
				m = member{s, s, s}
				break
			}
			longest := slices.MaxFunc(parts, func(a, b []byte) int { return len(a) - len(b) })
			m.substring = string(longest)
			if len(parts[0]) > 0 {
				m.prefix = string(parts[0])
				kind = max(kind, pin.BeginsWith)
			} else {
				kind = pin.Contains
			}
		default:
			return Pin{}, false
		}
		members = append(members, m)
	}
	p := Pin{}.WithKind(kind)
	for _, m := range members {
		v := m.exact
		switch kind {
		case pin.BeginsWith:
			v = m.prefix
		case pin.Contains:
			v = m.substring
		}
		if v == "" && kind != pin.Exact {
			return Pin{}, false // a wildcard that can match any text
		}
		p.Values = append(p.Values, v)
	}
	slices.Sort(p.Values)
	p.Values = slices.Compact(p.Values)
	return p, len(p.Values) > 0
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
