package pattern

import (
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// A $or branch may name a field the pattern also sets outside the branch:
//
//	{"name": ["a", "b"], "$or": [{"name": [{"anything-but": "a"}]}, {"c": ["x"]}]}
//
// Read as a tree, that is name ∈ {a, b} AND (name ≠ a OR c = x). Event
// Ruler, the engine behind EventBridge, reads it differently: it turns the
// pattern into one flat list of field paths per branch, writing the fields
// in document order, so that a later write of the same path replaces the
// earlier one. The first branch above becomes {name ≠ a} alone and the
// event {"name": "c"} matches. trailwatch follows Event Ruler: a pattern in
// which two parts combined by AND set the same field path is expanded into
// its branches exactly as Event Ruler expands it. Patterns without such a
// repeat (nearly all) keep the tree, whose meaning is the same.

// maxAlternatives bounds the branches such an expansion may produce, so
// that nested $or groups cannot multiply without end.
const maxAlternatives = 1024

// leafKey names a field path unambiguously (keys may hold dots).
func leafKey(path []string) string {
	var b strings.Builder
	for _, k := range path {
		b.WriteString(strconv.Quote(k))
	}
	return b.String()
}

// leafPaths collects the paths of every leaf list under v (at path),
// through nested objects and every $or branch.
func leafPaths(v *fastjson.Value, path []string, into map[string]bool) {
	switch v.Type() {
	case fastjson.TypeArray:
		into[leafKey(path)] = true
	case fastjson.TypeObject:
		o, _ := v.Object()
		ms, _ := members(o)
		for _, m := range ms {
			if m.key == "$or" {
				for _, b := range m.val.GetArray() {
					leafPaths(b, path, into)
				}
				continue
			}
			leafPaths(m.val, append(slices.Clip(path), m.key), into)
		}
	}
}

// repeats reports whether, somewhere in the pattern, two parts combined by
// AND (two members of one object, one of them a $or) set the same field
// path: the case where Event Ruler's reading differs from the tree's.
func repeats(o *fastjson.Object, path []string) bool {
	ms, _ := members(o)
	hasOr := false
	for _, m := range ms {
		if m.key == "$or" {
			hasOr = true
		}
	}
	if hasOr {
		seen := map[string]bool{}
		for _, m := range ms {
			part := map[string]bool{}
			if m.key == "$or" {
				for _, b := range m.val.GetArray() {
					leafPaths(b, path, part)
				}
			} else {
				leafPaths(m.val, append(slices.Clip(path), m.key), part)
			}
			for k := range part {
				if seen[k] {
					return true
				}
				seen[k] = true
			}
		}
	}
	for _, m := range ms {
		if m.key == "$or" {
			for _, b := range m.val.GetArray() {
				if bo, err := b.Object(); err == nil && repeats(bo, path) {
					return true
				}
			}
			continue
		}
		if vo, err := m.val.Object(); err == nil && repeats(vo, append(slices.Clip(path), m.key)) {
			return true
		}
	}
	return false
}

// flatLeaf is one field path of an expanded branch and its leaf list.
type flatLeaf struct {
	path []string
	val  *fastjson.Value
}

// flatRule is one branch of an expanded pattern: leaves in write order.
type flatRule []flatLeaf

// put writes a leaf, replacing an earlier write of the same path.
func (r flatRule) put(l flatLeaf) flatRule {
	for i := range r {
		if slices.Equal(r[i].path, l.path) {
			r[i] = l
			return r
		}
	}
	return append(r, l)
}

// errTooMany reports an expansion over maxAlternatives.
type errTooMany struct{}

func (errTooMany) Error() string { return "too many alternatives" }

// expand writes object o (at path) into every rule of rules the way Event
// Ruler compiles a pattern: leaves are put in document order; a $or forks
// every rule so far into one copy per branch, each branch then written into
// its copy.
func expand(rules []flatRule, path []string, o *fastjson.Object) ([]flatRule, error) {
	ms, _ := members(o)
	for _, m := range ms {
		switch {
		case m.key == "$or":
			var out []flatRule
			for _, b := range m.val.GetArray() {
				fork := make([]flatRule, 0, max(len(rules), 1))
				for _, r := range rules {
					fork = append(fork, slices.Clone(r))
				}
				if len(fork) == 0 {
					fork = append(fork, flatRule{})
				}
				bo, _ := b.Object()
				fork, err := expand(fork, path, bo)
				if err != nil {
					return nil, err
				}
				out = append(out, fork...)
				if len(out) > maxAlternatives {
					return nil, errTooMany{}
				}
			}
			rules = out
		case m.val.Type() == fastjson.TypeObject:
			vo, _ := m.val.Object()
			var err error
			if rules, err = expand(rules, append(slices.Clip(path), m.key), vo); err != nil {
				return nil, err
			}
		default:
			if len(rules) == 0 {
				rules = append(rules, flatRule{})
			}
			l := flatLeaf{path: append(slices.Clip(path), m.key), val: m.val}
			for i := range rules {
				rules[i] = rules[i].put(l)
			}
		}
	}
	return rules, nil
}

// expanded compiles a pattern whose $or branches repeat outer fields as
// Event Ruler reads it: one $or group at the top holding each expanded
// branch. o has already compiled as a tree, so every part is valid.
func (c *compiler) expanded(o *fastjson.Object, envelope bool) (*node, error) {
	rules, err := expand(nil, nil, o)
	if err != nil {
		return nil, errAt("$or", "a $or branch names a field the pattern also sets outside the branch, "+
			"and such a pattern is read as the list of its alternatives, of which this one has more than %d; "+
			"write the alternatives out, each with its own fields", maxAlternatives)
	}
	group := make([]*node, 0, len(rules))
	for i, r := range rules {
		n, err := c.flatNode(r, 0, "$or["+strconv.Itoa(i)+"]", envelope)
		if err != nil {
			return nil, err
		}
		group = append(group, n)
	}
	if len(group) == 1 {
		return group[0], nil
	}
	return &node{ors: [][]*node{group}}, nil
}

// flatNode builds the node for the leaves of r below depth: leaves that end
// at this level become leaf fields, the others nest by their next key, in
// first-written order. A key may be both (a leaf "a" and a path a.b), as
// Event Ruler's flat paths allow; the node then holds two fields.
func (c *compiler) flatNode(r flatRule, depth int, path string, envelope bool) (*node, error) {
	n := &node{}
	var order []string
	nested := map[string]flatRule{}
	for _, l := range r {
		key := l.path[depth]
		if len(l.path) == depth+1 {
			lf, err := c.leaf(l.val, join(path, key))
			if err != nil {
				return nil, err
			}
			f := &field{key: key, leaf: lf}
			if envelope {
				f.env, _ = envFieldOf(key)
			}
			n.fields = append(n.fields, f)
			continue
		}
		if _, ok := nested[key]; !ok {
			order = append(order, key)
		}
		nested[key] = append(nested[key], l)
	}
	for _, key := range order {
		child, err := c.flatNode(nested[key], depth+1, join(path, key), false)
		if err != nil {
			return nil, err
		}
		f := &field{key: key, obj: child}
		if envelope {
			f.env, _ = envFieldOf(key)
		}
		n.fields = append(n.fields, f)
	}
	return n, nil
}
