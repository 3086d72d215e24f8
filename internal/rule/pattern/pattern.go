package pattern

import (
	"slices"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/valyala/fastjson"
)

// Pattern is a compiled event pattern. It is immutable once compiled and safe
// for concurrent use by many goroutines, each matching its own events.
type Pattern struct {
	root     *node
	envelope bool
	names    []string
	pinned   bool
}

// node is an object level of the pattern: every field must match (AND), and
// for every $or group at least one branch must match.
type node struct {
	fields []*field
	ors    [][]*node
}

// field is one named field of a node: a nested object pattern or a leaf list.
type field struct {
	key  string
	env  envField // which envelope field, for nodes at the envelope level
	obj  *node
	leaf *leaf
}

// Error is a compile error: what is wrong with the pattern and at which JSON
// path. Error() reads "pattern: detail.sourceIPAddress: cidr ...".
type Error struct {
	// Path is the dotted JSON path of the problem ("detail.eventName",
	// "$or[1].userIdentity.type"); empty when the problem is the whole pattern.
	Path string
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Path == "" {
		return "pattern: " + e.Reason
	}
	return "pattern: " + e.Path + ": " + e.Reason
}

// Compile parses an EventBridge event pattern written as JSON. A pattern that
// is malformed or uses an operator trailwatch does not support fails with an
// *Error naming the JSON path of the problem.
func Compile(src []byte) (*Pattern, error) {
	c := compiler{}
	root, env, err := c.compile(src)
	if err != nil {
		return nil, err
	}
	p := &Pattern{root: root, envelope: env}
	names, ok := pinnedNames(root, env)
	if ok {
		slices.Sort(names)
		p.names = slices.Compact(names)
		p.pinned = true
	}
	return p, nil
}

// Envelope reports whether the pattern matches the EventBridge form of events
// (its top level names source, detail-type or detail) rather than the
// CloudTrail record itself.
func (p *Pattern) Envelope() bool { return p.envelope }

// Match reports whether the event matches the pattern. It reads the event's
// parsed record and does not allocate for exact, prefix, suffix,
// equals-ignore-case, wildcard and anything-but matches on strings.
func (p *Pattern) Match(ev *event.Event) bool {
	if p == nil || ev == nil {
		return false
	}
	return p.MatchValue(ev.Value())
}

// MatchValue is Match on a parsed CloudTrail record.
func (p *Pattern) MatchValue(rec *fastjson.Value) bool {
	if p == nil || rec == nil || rec.Type() != fastjson.TypeObject {
		return false
	}
	if p.envelope {
		return p.root.matchEnvelope(rec)
	}
	return p.root.match(rec)
}

// EventNames returns the exact eventName values the pattern requires, sorted
// and without duplicates, with ok true. It reads a top-level eventName list
// (or detail.eventName in an envelope pattern) made only of exact strings,
// or $or groups every branch of which pins the name that way. ok is false
// when the pattern does not pin the name: an event may then match whatever
// its eventName. The names assume eventName is a JSON string, as CloudTrail
// writes it.
func (p *Pattern) EventNames() (names []string, ok bool) {
	if !p.pinned {
		return nil, false
	}
	return slices.Clone(p.names), true
}

// pinnedNames finds the exact eventName values a node requires.
func pinnedNames(n *node, envelope bool) ([]string, bool) {
	for _, f := range n.fields {
		if envelope {
			if f.env == envDetail && f.obj != nil {
				if names, ok := pinnedNames(f.obj, false); ok {
					return names, true
				}
			}
			continue
		}
		if f.key == "eventName" && f.leaf != nil {
			if names, ok := f.leaf.exactStrings(); ok {
				return names, true
			}
		}
	}
	for _, group := range n.ors {
		var all []string
		ok := true
		for _, b := range group {
			names, bok := pinnedNames(b, envelope)
			if !bok {
				ok = false
				break
			}
			all = append(all, names...)
		}
		if ok {
			return all, true
		}
	}
	return nil, false
}

// match matches a node against the value at its path: an object, an array
// whose elements are tried one at a time, or anything else (or nothing),
// which is matched as an absent object.
func (n *node) match(v *fastjson.Value) bool {
	if v == nil {
		return n.matchObject(nil)
	}
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		return n.matchObject(o)
	case fastjson.TypeArray:
		sawObject := false
		if n.matchArray(v, &sawObject) {
			return true
		}
		if sawObject {
			return false
		}
	}
	return n.matchObject(nil)
}

// matchArray tries each object element of a (nested) array in turn, so that
// all the fields of one object pattern match within one element.
func (n *node) matchArray(v *fastjson.Value, sawObject *bool) bool {
	arr, _ := v.Array()
	for _, e := range arr {
		switch e.Type() {
		case fastjson.TypeObject:
			*sawObject = true
			o, _ := e.Object()
			if n.matchObject(o) {
				return true
			}
		case fastjson.TypeArray:
			if n.matchArray(e, sawObject) {
				return true
			}
		}
	}
	return false
}

// matchObject matches the node's fields and $or groups against one object;
// o is nil when the object is absent.
func (n *node) matchObject(o *fastjson.Object) bool {
	for _, f := range n.fields {
		var child *fastjson.Value
		if o != nil {
			child = o.Get(f.key)
		}
		if f.obj != nil {
			if !f.obj.match(child) {
				return false
			}
		} else if !f.leaf.match(child) {
			return false
		}
	}
	for _, group := range n.ors {
		ok := false
		for _, b := range group {
			if b.matchObject(o) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
