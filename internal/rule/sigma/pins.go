package sigma

import (
	"slices"
	"strings"
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
type Pin struct {
	Path      []string
	Values    []string
	Prefix    bool
	Substring bool
}

// Groupings returns the other paths a dotted field name is read at: each
// way of joining consecutive parts of Path with dots, except Path itself.
func (p Pin) Groupings() [][]string {
	var out [][]string
	n := len(p.Path)
	for mask := 0; mask < 1<<(n-1); mask++ {
		if mask == 0 {
			continue // every part on its own: Path
		}
		var (
			path []string
			cur  = p.Path[0]
		)
		for i := 1; i < n; i++ {
			if mask&(1<<(i-1)) != 0 {
				cur += "." + p.Path[i]
				continue
			}
			path = append(path, cur)
			cur = p.Path[i]
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
					all = pinsAnd(all, []Pin{p})
				}
			}
			if i == 0 {
				out = all
			} else {
				out = pinsOr(out, all)
			}
		}
		return out
	case nodeAnd:
		var out []Pin
		for _, k := range n.kids {
			out = pinsAnd(out, k.fieldPins())
		}
		return out
	case nodeOr:
		var out []Pin
		for i, k := range n.kids {
			if i == 0 {
				out = k.fieldPins()
			} else {
				out = pinsOr(out, k.fieldPins())
			}
		}
		return out
	}
	return nil
}

// Kinds of pin, each implied by the one before: a text equal to v begins
// with v and contains it.
const (
	kindExact = iota
	kindPrefix
	kindSubstring
)

func (p Pin) kind() int {
	switch {
	case p.Substring:
		return kindSubstring
	case p.Prefix:
		return kindPrefix
	}
	return kindExact
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
		kind    = kindExact
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
				kind = max(kind, kindPrefix)
			} else {
				kind = kindSubstring
			}
			members = append(members, t)
		default:
			return Pin{}, false
		}
	}
	p := Pin{Path: strings.Split(fc.path.name, "."), Prefix: kind == kindPrefix, Substring: kind == kindSubstring}
	for _, m := range members {
		v := m.exact
		switch kind {
		case kindPrefix:
			v = m.prefix
		case kindSubstring:
			v = m.substring
		}
		if v == "" && kind != kindExact {
			return Pin{}, false
		}
		p.Values = append(p.Values, v)
	}
	slices.Sort(p.Values)
	p.Values = slices.Compact(p.Values)
	return p, true
}

func pinsAnd(a, b []Pin) []Pin {
	out := a
	for _, pb := range b {
		i := slices.IndexFunc(out, func(pa Pin) bool { return slices.Equal(pa.Path, pb.Path) })
		switch {
		case i < 0:
			out = append(out, pb)
		case out[i].kind() > pb.kind():
			out[i] = pb
		}
	}
	return out
}

func pinsOr(a, b []Pin) []Pin {
	var out []Pin
	for _, pa := range a {
		i := slices.IndexFunc(b, func(pb Pin) bool { return slices.Equal(pa.Path, pb.Path) })
		if i < 0 {
			continue
		}
		kind := max(pa.kind(), b[i].kind())
		values := append(slices.Clone(pa.Values), b[i].Values...)
		slices.Sort(values)
		out = append(out, Pin{Path: pa.Path, Values: slices.Compact(values), Prefix: kind == kindPrefix, Substring: kind == kindSubstring})
	}
	return out
}
