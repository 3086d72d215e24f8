// Package pin is what the rule languages tell the rule index about a
// compiled rule: the fields it cannot match without. Each language reads
// its pins from its own syntax (an EventBridge pattern's fields, a filter's
// comparisons, a Sigma rule's selections); they share the type and how
// pins of conditions joined by "and" and "or" combine.
package pin

import "slices"

// Pin is a field a rule cannot match without: the field at Path (a path of
// object keys in the CloudTrail record) holds text equal to one of Values
// or, with Prefix, beginning with one of them or, with Substring, containing
// one of them. What a language promises beyond that (case folding, arrays,
// numbers compared as text) its own documentation says; an index must
// offer a rule every event where the field is not text.
type Pin struct {
	Path      []string
	Values    []string
	Prefix    bool
	Substring bool
}

// Kind is what a pin says of a text; each kind is implied by the one
// before: a text equal to v begins with v and contains it.
type Kind uint8

const (
	Exact Kind = iota
	BeginsWith
	Contains
)

// Kind returns what p says of its field's text.
func (p Pin) Kind() Kind {
	switch {
	case p.Substring:
		return Contains
	case p.Prefix:
		return BeginsWith
	}
	return Exact
}

// WithKind returns p saying k of its values.
func (p Pin) WithKind(k Kind) Pin {
	p.Prefix, p.Substring = k == BeginsWith, k == Contains
	return p
}

// And joins the pins of two conditions that must both hold, keeping one
// pin per field: the stronger, else the first.
func And(a, b []Pin) []Pin {
	out := a
	for _, pb := range b {
		i := slices.IndexFunc(out, func(pa Pin) bool { return slices.Equal(pa.Path, pb.Path) })
		switch {
		case i < 0:
			out = append(out, pb)
		case out[i].Kind() > pb.Kind():
			out[i] = pb
		}
	}
	return out
}

// Or joins the pins of two conditions one of which must hold: a field
// pinned by both stays pinned, to the values of either, as the weaker kind
// says them.
func Or(a, b []Pin) []Pin {
	var out []Pin
	for _, pa := range a {
		i := slices.IndexFunc(b, func(pb Pin) bool { return slices.Equal(pa.Path, pb.Path) })
		if i < 0 {
			continue
		}
		values := append(slices.Clone(pa.Values), b[i].Values...)
		slices.Sort(values)
		out = append(out, Pin{Path: pa.Path, Values: slices.Compact(values)}.WithKind(max(pa.Kind(), b[i].Kind())))
	}
	return out
}
