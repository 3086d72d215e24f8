package filter

import (
	"slices"

	"github.com/trailwatch/trailwatch/internal/rule/pin"
)

// Pin is a field the filter cannot match without (see package pin). A
// number in that field is compared as its text and may match too, so an
// index that uses pins must offer an event whose field is not text to the
// rule.
type Pin = pin.Pin

// Pins returns the fields the filter pins, the event name among them, in
// the order the filter names them.
func (f *Filter) Pins() []Pin {
	if f == nil || f.root == nil {
		return nil
	}
	return f.root.pins()
}

func (n *node) pins() []Pin {
	switch n.kind {
	case kindCompare:
		path, ok := n.sel.keys()
		if !ok || n.op != opEq || n.val.kind != valString || (n.val.lead || n.val.tail) && n.val.lit == "" {
			return nil
		}
		p := Pin{Path: path, Values: []string{n.val.lit}}
		switch {
		case n.val.lead:
			p.Substring = true // *x and *x*
		case n.val.tail:
			p.Prefix = true
		}
		return []Pin{p}
	case kindIn:
		path, ok := n.sel.keys()
		if !ok {
			return nil
		}
		return []Pin{{Path: path, Values: slices.Clone(n.list)}}
	case kindAnd:
		var out []Pin
		for _, k := range n.kids {
			out = pin.And(out, k.pins())
		}
		return out
	case kindOr:
		var out []Pin
		for i, k := range n.kids {
			if i == 0 {
				out = k.pins()
				continue
			}
			out = pin.Or(out, k.pins())
		}
		return out
	}
	return nil
}

// keys returns the selector as object keys, when it has no array index.
func (s *selector) keys() ([]string, bool) {
	path := make([]string, 0, len(s.steps))
	for _, st := range s.steps {
		if st.isIdx {
			return nil, false
		}
		path = append(path, st.key)
	}
	return path, len(path) > 0
}
