package pattern

import "testing"

// TestRepeatedKeys pins how a key written twice is read: in one object the
// last value is used, as EventBridge documents; a $or branch that repeats a
// field set outside it is read as Event Ruler reads it, the later write in
// document order replacing the earlier one within each alternative.
func TestRepeatedKeys(t *testing.T) {
	cases := []struct {
		name, pattern, event string
		want                 bool
	}{
		{"last value used", `{"x":["y"],"x":["z"]}`, `{"x":"z"}`, true},
		{"earlier value ignored", `{"x":["y"],"x":["z"]}`, `{"x":"y"}`, false},
		{"last value an object", `{"a":["q"],"a":{"b":["c"]}}`, `{"a":{"b":"c"}}`, true},
		{"last $or used", `{"$or":[{"a":["1"]},{"b":["1"]}],"$or":[{"c":["1"]},{"d":["1"]}]}`, `{"a":"1"}`, false},
		{"last $or used, match", `{"$or":[{"a":["1"]},{"b":["1"]}],"$or":[{"c":["1"]},{"d":["1"]}]}`, `{"d":"1"}`, true},

		// The outer name comes first: each branch's own name replaces it.
		{"branch replaces outer", `{"name":["a","b"],"$or":[{"name":[{"anything-but":"a"}]},{"condition1":["x"]}]}`, `{"name":"c"}`, true},
		{"other branch keeps outer", `{"name":["a","b"],"$or":[{"name":[{"anything-but":"a"}]},{"condition1":["x"]}]}`, `{"name":"a","condition1":"x"}`, true},
		{"other branch needs outer", `{"name":["a","b"],"$or":[{"name":[{"anything-but":"a"}]},{"condition1":["x"]}]}`, `{"name":"c","condition1":"x"}`, true},
		{"neither", `{"name":["a","b"],"$or":[{"name":[{"anything-but":"a"}]},{"condition1":["x"]}]}`, `{"name":"a"}`, false},
		// The outer name comes after the $or: it replaces each branch's.
		{"outer after replaces branch", `{"$or":[{"name":["x"]},{"c":["y"]}],"name":["a"]}`, `{"name":"a"}`, true},
		{"outer after, branch value gone", `{"$or":[{"name":["x"]},{"c":["y"]}],"name":["a"]}`, `{"name":"x"}`, false},
		{"outer after, other branch", `{"$or":[{"name":["x"]},{"c":["y"]}],"name":["a"]}`, `{"name":"a","c":"y"}`, true},
		// Nested: the repeat is a path below the $or's level.
		{"nested repeat", `{"detail":{"a":["1"]},"$or":[{"detail":{"a":["2"]}},{"b":["3"]}]}`, `{"detail":{"a":"2"}}`, true},
		{"nested repeat, outer kept in other branch", `{"detail":{"a":["1"]},"$or":[{"detail":{"a":["2"]}},{"b":["3"]}]}`, `{"detail":{"a":"1"},"b":"3"}`, true},
		{"nested repeat, neither", `{"detail":{"a":["1"]},"$or":[{"detail":{"a":["2"]}},{"b":["3"]}]}`, `{"detail":{"a":"3"},"b":"3"}`, false},
		// No repeat: the tree reading, with array consistency.
		{"no repeat, one element", `{"arr":{"a":[1],"$or":[{"b":[2]},{"c":[3]}]}}`, `{"arr":[{"a":1,"c":3}]}`, true},
		{"no repeat, split elements", `{"arr":{"a":[1],"$or":[{"b":[2]},{"c":[3]}]}}`, `{"arr":[{"a":1},{"c":3}]}`, false},
		// A repeat keeps array consistency within each alternative.
		{"repeat, one element", `{"arr":{"a":[1],"$or":[{"a":[2],"b":[2]},{"c":[3]}]}}`, `{"arr":[{"a":2,"b":2}]}`, true},
		{"repeat, split elements", `{"arr":{"a":[1],"$or":[{"a":[2],"b":[2]},{"c":[3]}]}}`, `{"arr":[{"a":2},{"b":2}]}`, false},
		// A leaf and a deeper path under the same key both hold.
		{"leaf and path", `{"a":[1],"$or":[{"a":{"b":[2]}},{"a":[3]}]}`, `{"a":[1,{"b":2}]}`, true},
	}
	for _, c := range cases {
		p, err := compileGeneric(c.pattern)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := matchDocument(t, p, c.event); got != c.want {
			t.Errorf("%s: %s on %s = %v, want %v", c.name, c.pattern, c.event, got, c.want)
		}
	}
}

// TestRepeatInEnvelope checks that an expanded envelope pattern still
// reads the envelope fields from the record.
func TestRepeatInEnvelope(t *testing.T) {
	p, err := Compile([]byte(`{"source":["aws.iam"],"$or":[{"source":["aws.signin"]},{"detail":{"eventName":["CreateUser"]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Envelope() {
		t.Fatal("not an envelope pattern")
	}
	login := docRecord(t, "root-console-login-no-mfa")
	if !p.Match(login) {
		t.Error("the first alternative (source aws.signin, replacing aws.iam) does not match a console sign-in")
	}
}
