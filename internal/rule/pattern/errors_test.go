package pattern

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestCompileErrors pins the exact messages a rule author reads: what is
// wrong and at which JSON path.
func TestCompileErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{`{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/33"}]}}`, `pattern: detail.sourceIPAddress: cidr "10.0.0.0/33": invalid prefix length`},
		{`{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.300/8"}]}}`, `pattern: detail.sourceIPAddress: cidr "10.0.0.300/8": invalid IP address`},
		{`{"detail":{"sourceIPAddress":[{"cidr":"2001:db8::/129"}]}}`, `pattern: detail.sourceIPAddress: cidr "2001:db8::/129": invalid prefix length`},
		{`{"detail":{"sourceIPAddress":[{"cidr":10}]}}`, `pattern: detail.sourceIPAddress: cidr takes a string such as "10.0.0.0/24", not a number`},
		{`{"eventName":"ConsoleLogin"}`, `pattern: eventName: the value must be a list of values or matchers, or an object, not a string (write ["ConsoleLogin"] to match it exactly)`},
		{`{"eventName":{"foo":1}}`, `pattern: eventName.foo: the value must be a list of values or matchers, or an object, not a number (write [1] to match it exactly)`},
		{`{"eventName":[{"foo":1}]}`, `pattern: eventName: unknown operator "foo"; use one of prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists or cidr`},
		{`{"eventName":[{"prefix":"a","suffix":"b"}]}`, `pattern: eventName: a matcher object must have exactly one operator, found "prefix", "suffix"`},
		{`{"eventName":[{}]}`, `pattern: eventName: empty matcher object; use one of prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists or cidr`},
		{`{"eventName":[]}`, `pattern: eventName: empty list; an empty list matches nothing, so give at least one value`},
		{`{"eventName":[["a"]]}`, `pattern: eventName: a list member must be a string, number, boolean, null or matcher object, not a list`},
		{`{"x":[{"numeric":["<",5,">",1]}]}`, `pattern: x: numeric ["<",5,">",1]: the lower bound (> or >=) must come first`},
		{`{"x":[{"numeric":[">",5,"<",1]}]}`, `pattern: x: numeric [">",5,"<",1]: the lower bound 5 must be less than the upper bound 1`},
		{`{"x":[{"numeric":[">",5,"<",5]}]}`, `pattern: x: numeric [">",5,"<",5]: the lower bound 5 must be less than the upper bound 5`},
		{`{"x":[{"numeric":["=",5,"<",6]}]}`, `pattern: x: numeric ["=",5,"<",6]: "=" cannot be combined with another comparison`},
		{`{"x":[{"numeric":["==",5]}]}`, `pattern: x: numeric ["==",5]: unknown operator "=="; use =, <, <=, > or >=`},
		{`{"x":[{"numeric":[">","5"]}]}`, `pattern: x: numeric [">","5"]: ">" must be followed by a number, not a string`},
		{`{"x":[{"numeric":[">"]}]}`, `pattern: x: numeric [">"]: takes one comparison [op, number] or a range [">" or ">=", number, "<" or "<=", number], not a list of 1`},
		{`{"x":[{"numeric":5}]}`, `pattern: x: numeric 5: takes a list such as [">", 0, "<=", 5], not a number`},
		{`{"x":[{"numeric":[">",1e999]}]}`, `pattern: x: numeric [">",1e999]: number 1e999 is out of range`},
		{`{"x":[{"wildcard":"a**b"}]}`, `pattern: x: wildcard "a**b": consecutive wildcard characters are not allowed`},
		{`{"x":[{"wildcard":"a\\b"}]}`, `pattern: x: wildcard "a\\b": a backslash may only escape "*" or "\"`},
		{`{"x":[{"wildcard":"ab\\"}]}`, `pattern: x: wildcard "ab\\": a backslash may only escape "*" or "\"`},
		{`{"x":[{"anything-but":{"wildcard":["a**"]}}]}`, `pattern: x: anything-but wildcard "a**": consecutive wildcard characters are not allowed`},
		{`{"x":[{"anything-but":[]}]}`, `pattern: x: anything-but list is empty; give at least one value`},
		{`{"x":[{"anything-but":["a",1]}]}`, `pattern: x: anything-but list must hold only strings or only numbers, not both`},
		{`{"x":[{"anything-but":[true]}]}`, `pattern: x: anything-but list members must be strings or numbers, not a boolean`},
		{`{"x":[{"anything-but":{"numeric":[">",1]}}]}`, `pattern: x: anything-but does not take "numeric"; use a value, a list, or one of prefix, suffix, equals-ignore-case or wildcard`},
		{`{"x":[{"anything-but":{"prefix":1}}]}`, `pattern: x: anything-but prefix takes a string or a list of strings, not a number`},
		{`{"x":[{"anything-but":{"prefix":[]}}]}`, `pattern: x: anything-but prefix list is empty; give at least one string`},
		{`{"x":[{"anything-but":null}]}`, `pattern: x: anything-but takes a string, a number, a list, or an object, not null`},
		{`{"x":[{"exists":"yes"}]}`, `pattern: x: exists takes true or false, not a string`},
		{`{"x":[{"prefix":5}]}`, `pattern: x: prefix takes a string or {"equals-ignore-case": string}, not a number`},
		{`{"x":[{"prefix":{"equals-ignore-case":5}}]}`, `pattern: x: prefix equals-ignore-case takes a string, not a number`},
		{`{"x":[{"suffix":{"foo":"a"}}]}`, `pattern: x: suffix takes a string or {"equals-ignore-case": string}, not an object`},
		{`{"x":[{"equals-ignore-case":1}]}`, `pattern: x: equals-ignore-case takes a string, not a number`},
		{`[1,2]`, `pattern: a pattern must be a JSON object, not a list`},
		{`"x"`, `pattern: a pattern must be a JSON object, not a string`},
		{`{}`, `pattern: the pattern is an empty object; name at least one field`},
		{`{"detail":{}}`, `pattern: detail: empty object; name at least one field or remove it`},
		{`{"a":[1],"a":[{"prefix":1}]}`, `pattern: a: prefix takes a string or {"equals-ignore-case": string}, not a number`},
		{`{"a":[{"prefix":1}],"a":[2]}`, `pattern: a: prefix takes a string or {"equals-ignore-case": string}, not a number`},
		{`{"x":[{"anything-but":{"prefix":""}}]}`, `pattern: x: anything-but prefix "" excludes every string, so it can never match; give a non-empty prefix`},
		{`{"x":[{"anything-but":{"suffix":["a",""]}}]}`, `pattern: x: anything-but suffix "" excludes every string, so it can never match; give a non-empty suffix`},
		{`{"x":[{"numeric":["=",1E-325]}]}`, `pattern: x: numeric ["=",1E-325]: number 1E-325 is too small to compare: it would be read as 0`},
		{manyAlternatives(), `pattern: $or: a $or branch names a field the pattern also sets outside the branch, and such a pattern is read as the list of its alternatives, of which this one has more than 1024; write the alternatives out, each with its own fields`},
		{`{"$or":[{"a":["x"]}]}`, `pattern: $or: must be a list of at least two objects, not a list of 1`},
		{`{"$or":{"a":["x"]}}`, `pattern: $or: must be a list of at least two objects, not an object`},
		{`{"$or":[{"a":["x"]},"b"]}`, `pattern: $or[1]: a $or branch must be an object, not a string`},
		{`{"$or":[{"a":["x"]},{"b":"y"}]}`, `pattern: $or[1].b: the value must be a list of values or matchers, or an object, not a string (write ["y"] to match it exactly)`},
		{`{"source":["aws.signin"],"eventName":["ConsoleLogin"]}`, `pattern: eventName: "eventName" is not a field of the EventBridge envelope; a pattern that names source, detail-type or detail matches the envelope, so put CloudTrail record fields under detail`},
		{`{"detail":{"$or":[{"eventName":["A"]},{"eventSource":[{"cidr":"x"}]}]}}`, `pattern: detail.$or[1].eventSource: cidr "x": invalid IP address`},
		{`{"a":[1`, `pattern: invalid JSON at byte 7: unexpected end of JSON input`},
		{`{"a":[1]} x`, `pattern: invalid JSON at byte 11: invalid character 'x' after top-level value`},
		{``, `pattern: invalid JSON at byte 0: unexpected end of JSON input`},
	}
	for _, c := range cases {
		p, err := Compile([]byte(c.src))
		if err == nil {
			t.Errorf("Compile(%s) = %v, want error %q", c.src, p, c.want)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("Compile(%s) error\n got %q\nwant %q", c.src, err.Error(), c.want)
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Compile(%s) error %T is not a *pattern.Error", c.src, err)
		}
	}
}

func TestErrorPath(t *testing.T) {
	_, err := Compile([]byte(`{"detail":{"$or":[{"eventName":["A"]},{"sourceIPAddress":[{"cidr":"10.0.0.0/33"}]}]}}`))
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a *pattern.Error", err)
	}
	if pe.Path != "detail.$or[1].sourceIPAddress" || pe.Reason != `cidr "10.0.0.0/33": invalid prefix length` {
		t.Errorf("Path %q, Reason %q", pe.Path, pe.Reason)
	}
}

// manyAlternatives is a pattern whose $or repeats an outer field and whose
// eleven nested $or groups multiply into 4,096 alternatives.
func manyAlternatives() string {
	var b strings.Builder
	b.WriteString(`{"a":["1"],"$or":[{"a":["2"]},{"b":["2"]}]`)
	for i := range 11 {
		fmt.Fprintf(&b, `,"p%d":{"$or":[{"x":[1]},{"y":[1]}]}`, i)
	}
	b.WriteString("}")
	return b.String()
}
