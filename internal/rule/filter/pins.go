package filter

import "slices"

// Pin is a field the filter cannot match without: the field at Path (a
// path of object keys) holds text equal to one of Values or, with Prefix,
// beginning with one of them or, with Substring, containing one of them. A
// number in that field is compared as its text and may match too, so an
// index that uses pins must offer an event whose field is not text to the
// rule.
type Pin struct {
	Path      []string
	Values    []string
	Prefix    bool
	Substring bool
}

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
			for _, p := range k.pins() {
				i := slices.IndexFunc(out, func(q Pin) bool { return slices.Equal(q.Path, p.Path) })
				switch {
				case i < 0:
					out = append(out, p)
				case out[i].kind() > p.kind():
					out[i] = p
				}
			}
		}
		return out
	case kindOr:
		var out []Pin
		for i, k := range n.kids {
			kp := k.pins()
			if i == 0 {
				out = kp
				continue
			}
			var both []Pin
			for _, p := range out {
				j := slices.IndexFunc(kp, func(q Pin) bool { return slices.Equal(q.Path, p.Path) })
				if j < 0 {
					continue
				}
				// An exact text is its own prefix and substring.
				kind := max(p.kind(), kp[j].kind())
				values := append(slices.Clone(p.Values), kp[j].Values...)
				slices.Sort(values)
				both = append(both, Pin{Path: p.Path, Values: slices.Compact(values), Prefix: kind == 1, Substring: kind == 2})
			}
			out = both
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

// kind orders what a pin says of a text: 0 equals, 1 begins with, 2
// contains; each is implied by the one before.
func (p Pin) kind() int {
	switch {
	case p.Substring:
		return 2
	case p.Prefix:
		return 1
	}
	return 0
}
