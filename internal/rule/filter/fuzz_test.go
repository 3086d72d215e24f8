package filter_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/rule/filter"
)

// FuzzCompile checks that no input makes Compile or Match panic, that every
// error is a *SyntaxError pointing inside the input, and that a compiled
// filter survives a round trip through String: the canonical text compiles,
// prints the same, pins the same event names and matches the same seed
// events. The seeds (the CIS table, the AWS documentation examples and the
// error cases) and testdata/fuzz/FuzzCompile run with plain go test.
func FuzzCompile(f *testing.F) {
	for _, c := range filter.CISControls() {
		f.Add(c.Pattern)
	}
	for _, s := range []string{
		`{ $.eventType = "UpdateTrail" }`,
		`{ $.sourceIPAddress != 123.123.* }`,
		`{ $.arrayKey[0] = "value" }`,
		`{ $.objectList[1].id = 2 }`,
		`{ $.SomeObject IS NULL }`,
		`{ $.SomeOtherObject NOT EXISTS }`,
		`{ $.ThisFlag IS TRUE }`,
		`{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }`,
		`{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }`,
		`{ $.numbers[0] < 10e-3 }`,
		`{ $.latency > +1000 }`,
		`{ $.latency = * }`,
		`{ ($.eventName = RunInstances) && (($.requestParameters.instanceType = *.8xlarge) || ($.requestParameters.instanceType = *.4xlarge)) }`,
		`{ $.requestParameters.["dotted.key"] = "d\"q\\" && $.eventSource = %amazonaws\.com$% }`,
		`{ $.eventName == ConsoleLogin }`,
		`[ip, user, ...]`,
		`?ERROR ?WARN`,
		`{ $.a = "unterminated }`,
		`{ (((( $.a = 1 }`,
		``,
	} {
		f.Add(s)
	}
	events := []*event.Event{
		event.MustParse(docsEvent),
		event.MustParse(docsCompoundEvent),
		event.MustParse(docsArrayEvent),
		event.MustParse(sample),
	}
	f.Fuzz(func(t *testing.T, src string) {
		flt, err := filter.Compile(src)
		if err != nil {
			var se *filter.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q) error %T is not a *SyntaxError", src, err)
			}
			if se.Offset < 0 || se.Offset > len(src) {
				t.Fatalf("Compile(%q) error offset %d is outside the input", src, se.Offset)
			}
			return
		}
		canon := flt.String()
		again, err := filter.Compile(canon)
		if err != nil {
			t.Fatalf("Compile(%q) succeeded but its String %q does not compile: %v", src, canon, err)
		}
		if again.String() != canon {
			t.Fatalf("String is not stable for %q: %q then %q", src, canon, again.String())
		}
		n1, ok1 := flt.EventNames()
		n2, ok2 := again.EventNames()
		if ok1 != ok2 || !slices.Equal(n1, n2) {
			t.Fatalf("EventNames differ after a round trip of %q: %q,%v and %q,%v", src, n1, ok1, n2, ok2)
		}
		for i, ev := range events {
			if flt.Match(ev) != again.Match(ev) {
				t.Fatalf("%q and its String %q disagree on seed event %d", src, canon, i)
			}
		}
	})
}
