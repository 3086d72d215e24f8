package sigma

import (
	"strings"

	"github.com/valyala/fastjson"
)

// fieldPath is a Sigma field name read as a path into the CloudTrail record:
// "userIdentity.sessionContext.sessionIssuer.type". Each dot steps into an
// object; a key that itself holds dots ("app.kubernetes.io/name" in a tag
// map) is found too, because every way of grouping the parts is tried.
type fieldPath struct {
	name string
	// keys[i][j] is parts i..j joined with dots: the key to try at depth i
	// when it spans parts i to j.
	keys [][]string
}

func newPath(name string) fieldPath {
	parts := strings.Split(name, ".")
	keys := make([][]string, len(parts))
	for i := range parts {
		for j := i; j < len(parts); j++ {
			keys[i] = append(keys[i], strings.Join(parts[i:j+1], "."))
		}
	}
	return fieldPath{name: name, keys: keys}
}

// isEventName reports whether the path is the record's eventName.
func (p *fieldPath) isEventName() bool { return p.name == "eventName" }

// present reports whether the path leads to any value, null included.
func (p *fieldPath) present(v *fastjson.Value, i int) bool {
	if i == len(p.keys) {
		return true
	}
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		for j, k := range p.keys[i] {
			if c := o.Get(k); c != nil && p.present(c, i+j+1) {
				return true
			}
		}
	case fastjson.TypeArray:
		a, _ := v.Array()
		for _, e := range a {
			if p.present(e, i) {
				return true
			}
		}
	}
	return false
}

// nonNull reports whether the path leads to a value other than null (or an
// array holding only nulls).
func (p *fieldPath) nonNull(v *fastjson.Value, i int) bool {
	if i == len(p.keys) {
		return hasNonNull(v)
	}
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		for j, k := range p.keys[i] {
			if c := o.Get(k); c != nil && p.nonNull(c, i+j+1) {
				return true
			}
		}
	case fastjson.TypeArray:
		a, _ := v.Array()
		for _, e := range a {
			if p.nonNull(e, i) {
				return true
			}
		}
	}
	return false
}

func hasNonNull(v *fastjson.Value) bool {
	switch v.Type() {
	case fastjson.TypeNull:
		return false
	case fastjson.TypeArray:
		a, _ := v.Array()
		for _, e := range a {
			if hasNonNull(e) {
				return true
			}
		}
		return false
	}
	return true
}
