package sigma

import (
	"slices"
	"strings"

	"github.com/trailwatch/trailwatch/internal/rule/pin"
)

// Pin is a field the rule cannot match without: the field at Path (its
// name split at the dots) holds text equal to one of Values or, with
// Prefix, beginning with one or, with Substring, containing one, compared
// case-insensitively unless the rule says |cased. Where the field is an
// array, an object or a number, or the path runs through an array, the
// rule compares the texts inside it; and a dotted name is also found as
// keys that hold the dots ("userIdentity.type" as one key), every way of
// grouping the parts. An index that uses pins must fold case (AppendFold),
// and offer the rule an event where the field is not text or where
// another grouping (Groupings) leads to a value.
type Pin = pin.Pin

// Groupings returns the other paths a dotted field name is read at: each
// way of joining consecutive parts of path with dots, except path itself.
func Groupings(parts []string) [][]string {
	var out [][]string
	n := len(parts)
	for mask := 0; mask < 1<<(n-1); mask++ {
		if mask == 0 {
			continue // every part on its own: parts itself
		}
		var (
			path []string
			cur  = parts[0]
		)
		for i := 1; i < n; i++ {
			if mask&(1<<(i-1)) != 0 {
				cur += "." + parts[i]
				continue
			}
			path = append(path, cur)
			cur = parts[i]
		}
		out = append(out, append(path, cur))
	}
	return out
}

// Pins returns the fields the rule pins, the event name among them.
func (r *Rule) Pins() []Pin {
	if r == nil || r.cond == nil {
		return nil
	}
	return r.cond.fieldPins()
}

func (n *node) fieldPins() []Pin {
	switch n.op {
	case nodeSel:
		var out []Pin
		for i, alt := range n.sel.alts {
			var all []Pin
			for _, fc := range alt {
				if p, ok := fc.pin(); ok {
					all = pin.And(all, []Pin{p})
				}
			}
			if i == 0 {
				out = all
			} else {
				out = pin.Or(out, all)
			}
		}
		return out
	case nodeAnd:
		var out []Pin
		for _, k := range n.kids {
			out = pin.And(out, k.fieldPins())
		}
		return out
	case nodeOr:
		var out []Pin
		for i, k := range n.kids {
			if i == 0 {
				out = k.fieldPins()
			} else {
				out = pin.Or(out, k.fieldPins())
			}
		}
		return out
	}
	return nil
}

// pin reads a condition on a field whose values are all texts with at
// most * wildcards: a literal text is exact, text* a prefix, any other a
// substring (its longest literal piece, which every match holds).
func (fc *fieldCond) pin() (Pin, bool) {
	if fc.all || len(fc.values) == 0 || len(fc.path.keys) > 4 {
		return Pin{}, false
	}
	type texts struct{ exact, prefix, substring string }
	var (
		members []texts
		kind    = pin.Exact
	)
	for i := range fc.values {
		v := &fc.values[i]
		if v.kind != vGlob {
			return Pin{}, false
		}
		g := &v.glob
		switch {
		case g.isLiteral:
			members = append(members, texts{g.plain, g.plain, g.plain})
		case g.starOnly && len(g.pieces) > 0:
			longest := slices.MaxFunc(g.pieces, func(a, b []byte) int { return len(a) - len(b) })
			t := texts{substring: string(longest)}
			if g.anchoredStart {
				t.prefix = string(g.pieces[0])
				kind = max(kind, pin.BeginsWith)
			} else {
				kind = pin.Contains
			}
			members = append(members, t)
		default:
			return Pin{}, false
		}
	}
	p := Pin{Path: strings.Split(fc.path.name, ".")}.WithKind(kind)
	for _, m := range members {
		v := m.exact
		switch kind {
		case pin.BeginsWith:
			v = m.prefix
		case pin.Contains:
			v = m.substring
		}
		if v == "" && kind != pin.Exact {
			return Pin{}, false
		}
		p.Values = append(p.Values, v)
	}
	slices.Sort(p.Values)
	p.Values = slices.Compact(p.Values)
	return p, true
}
