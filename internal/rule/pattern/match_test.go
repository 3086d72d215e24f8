package pattern

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
)

// TestSemantics covers the corners of the language that the documented
// examples leave open, as PATTERNS.md defines them.
func TestSemantics(t *testing.T) {
	cases := []struct {
		name, pattern, event string
		want                 bool
	}{
		{"number equality across forms", `{"n":[300]}`, `{"n":3.0e2}`, true},
		{"number equality 300.0", `{"n":[3.0e2]}`, `{"n":300.0}`, true},
		{"number is not a string", `{"n":[300]}`, `{"n":"300"}`, false},
		{"string is not a number", `{"n":["300"]}`, `{"n":300}`, false},
		{"numeric range boundaries", `{"n":[{"numeric":[">=",0,"<",5]}]}`, `{"n":0}`, true},
		{"numeric range upper open", `{"n":[{"numeric":[">=",0,"<",5]}]}`, `{"n":5}`, false},
		{"numeric negative", `{"n":[{"numeric":["<",-1.5]}]}`, `{"n":-2}`, true},
		{"numeric beyond 5e9", `{"n":[{"numeric":[">",5e9]}]}`, `{"n":6e9}`, true},
		{"numeric equals decimal", `{"n":[{"numeric":["=",0.000001]}]}`, `{"n":1e-6}`, true},
		{"true", `{"b":[true]}`, `{"b":true}`, true},
		{"true is not the string", `{"b":[true]}`, `{"b":"true"}`, false},
		{"false", `{"b":[false]}`, `{"b":false}`, true},
		{"array of values, any element", `{"a":["x"]}`, `{"a":["y","x"]}`, true},
		{"nested arrays of values", `{"a":["x"]}`, `{"a":[["y"],["x"]]}`, true},
		{"empty array holds no value", `{"a":[{"exists":true}]}`, `{"a":[]}`, false},
		{"exists false on empty array", `{"a":[{"exists":false}]}`, `{"a":[]}`, true},
		{"exists false on array of values", `{"a":[{"exists":false}]}`, `{"a":["x"]}`, false},
		{"exists true on null", `{"a":[{"exists":true}]}`, `{"a":null}`, true},
		{"exists false when parent absent", `{"a":{"b":[{"exists":false}]}}`, `{"c":1}`, true},
		{"exists false when parent is a string", `{"a":{"b":[{"exists":false}]}}`, `{"a":"s"}`, true},
		{"exists true when parent is a string", `{"a":{"b":[{"exists":true}]}}`, `{"a":"s"}`, false},
		{"exists false on array of objects with the field", `{"a":{"b":[{"exists":false}]}}`, `{"a":[{"b":1}]}`, false},
		{"exists false on array of objects, one lacks it", `{"a":{"b":[{"exists":false}]}}`, `{"a":[{"b":1},{"c":1}]}`, true},
		{"exists or value", `{"a":[{"exists":false},"x"]}`, `{"a":"x"}`, true},
		{"anything-but needs the field", `{"a":[{"anything-but":"x"}]}`, `{"b":"y"}`, false},
		{"anything-but on array, one other element", `{"a":[{"anything-but":"x"}]}`, `{"a":["x","y"]}`, true},
		{"anything-but on array, all excluded", `{"a":[{"anything-but":"x"}]}`, `{"a":["x","x"]}`, false},
		{"anything-but string list on number", `{"a":[{"anything-but":["1"]}]}`, `{"a":1}`, true},
		{"anything-but number list on number", `{"a":[{"anything-but":[1]}]}`, `{"a":1.0}`, false},
		{"anything-but value on null", `{"a":[{"anything-but":"x"}]}`, `{"a":null}`, true},
		{"anything-but prefix on number", `{"a":[{"anything-but":{"prefix":"x"}}]}`, `{"a":1}`, false},
		{"anything-but prefix list", `{"a":[{"anything-but":{"prefix":["x","y"]}}]}`, `{"a":"yes"}`, false},
		{"anything-but suffix list", `{"a":[{"anything-but":{"suffix":["x","y"]}}]}`, `{"a":"yes"}`, true},
		{"prefix only on strings", `{"a":[{"prefix":"1"}]}`, `{"a":12}`, false},
		{"prefix empty matches any string", `{"a":[{"prefix":""}]}`, `{"a":"x"}`, true},
		{"equals-ignore-case unicode", `{"a":[{"equals-ignore-case":"straße"}]}`, `{"a":"STRAßE"}`, true},
		{"equals-ignore-case kelvin sign", `{"a":[{"equals-ignore-case":"k"}]}`, `{"a":"\u212a"}`, true},
		{"suffix ignore case multibyte", `{"a":[{"suffix":{"equals-ignore-case":"ÄRGER"}}]}`, `{"a":"viel ärger"}`, true},
		{"wildcard star matches empty", `{"a":[{"wildcard":"ab*"}]}`, `{"a":"ab"}`, true},
		{"wildcard whole string", `{"a":[{"wildcard":"a*c"}]}`, `{"a":"abcd"}`, false},
		{"wildcard overlapping parts", `{"a":[{"wildcard":"ab*ba"}]}`, `{"a":"aba"}`, false},
		{"wildcard repeated parts", `{"a":[{"wildcard":"*a*a*a"}]}`, `{"a":"xaxaxa"}`, true},
		{"wildcard no star", `{"a":[{"wildcard":"abc"}]}`, `{"a":"abc"}`, true},
		{"wildcard only on strings", `{"a":[{"wildcard":"*"}]}`, `{"a":1}`, false},
		{"cidr single address", `{"ip":[{"cidr":"192.0.2.7"}]}`, `{"ip":"192.0.2.7"}`, true},
		{"cidr host bits", `{"ip":[{"cidr":"10.0.0.9/8"}]}`, `{"ip":"10.200.0.1"}`, true},
		{"cidr IPv4-mapped IPv6 value", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"::ffff:10.1.2.3"}`, true},
		{"cidr not an address", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"ec2.amazonaws.com"}`, false},
		{"cidr IPv6 does not hold IPv4", `{"ip":[{"cidr":"::/0"}]}`, `{"ip":"10.0.0.1"}`, false},
		{"many exact strings", `{"a":["a","b","c","d","e","f","g","h","i"]}`, `{"a":"i"}`, true},
		{"many exact strings, none", `{"a":["a","b","c","d","e","f","g","h","i"]}`, `{"a":"j"}`, false},
		{"object pattern on a value", `{"a":{"b":["x"]}}`, `{"a":"x"}`, false},
		{"leaf pattern on an object", `{"a":["x"]}`, `{"a":{"b":"x"}}`, false},
		{"$or inside array element", `{"a":{"$or":[{"b":["1"]},{"c":["2"]}],"d":["3"]}}`, `{"a":[{"b":"1"},{"c":"2","d":"3"}]}`, true},
		{"$or inside array element, split", `{"a":{"$or":[{"b":["1"]},{"c":["2"]}],"d":["3"]}}`, `{"a":[{"b":"1"},{"d":"3"}]}`, false},
		{"escaped key in event", `{"a b":["x"]}`, `{"a\u0020b":"x"}`, true},
		{"$or as a field name is an operator", `{"$or":[{"a":["1"]},{"b":["2"]}]}`, `{"$or":"x","b":"2"}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := compileGeneric(c.pattern)
			if err != nil {
				t.Fatalf("compile %s: %v", c.pattern, err)
			}
			if got := matchDocument(t, p, c.event); got != c.want {
				t.Errorf("pattern %s\nevent   %s\nmatch = %v, want %v", c.pattern, c.event, got, c.want)
			}
			// A pattern without envelope keys means the same to Compile.
			if !strings.Contains(c.pattern, `"source"`) {
				q := mustCompile(t, c.pattern)
				ev := event.MustParse(c.event)
				if got := q.Match(ev); got != c.want {
					t.Errorf("Compile + Match: match = %v, want %v", got, c.want)
				}
			}
		})
	}
}

// TestEnvelopeFields checks that the envelope trailwatch reads from a record
// is the one AWS wrote around it, on the documented EventBridge examples.
func TestEnvelopeFields(t *testing.T) {
	for name, d := range docExamples(t) {
		if d.Kind != "eventbridge_cloudtrail_envelope" {
			continue
		}
		var env map[string]any
		if err := json.Unmarshal(d.Example, &env); err != nil {
			t.Fatal(err)
		}
		ev := docRecord(t, name)
		// id is left out: EventBridge gives each delivery its own id, which the
		// record does not carry; trailwatch reads eventID (see PATTERNS.md).
		for _, key := range []string{"source", "detail-type", "account", "region", "time", "version"} {
			want, ok := env[key].(string)
			if !ok {
				continue // the example omits it
			}
			src := envelopePattern(key, want)
			if !mustCompile(t, string(src)).Match(ev) {
				t.Errorf("%s: %s does not match the record of its own envelope", name, src)
			}
			src = envelopePattern(key, want+"x")
			if mustCompile(t, string(src)).Match(ev) {
				t.Errorf("%s: %s matches", name, src)
			}
		}
		if !mustCompile(t, string(envelopePattern("id", ev.ID()))).Match(ev) {
			t.Errorf("%s: envelope id is not the record's eventID", name)
		}
		p := mustCompile(t, `{"source":[{"exists":true}],"resources":[{"exists":false}],"detail":{"eventID":[{"exists":true}]}}`)
		if !p.Match(ev) {
			t.Errorf("%s: envelope exists pattern does not match", name)
		}
	}
}

// TestEnvelopeAgreesWithEvent compares the envelope fields read here with
// event.Event's helpers on every record of the Invictus log file.
func TestEnvelopeAgreesWithEvent(t *testing.T) {
	for _, ev := range invictusEvents(t) {
		for key, want := range map[string]string{
			"source":      ev.EnvelopeSource(),
			"detail-type": ev.DetailType(),
			"account":     ev.Account(),
			"region":      ev.Region(),
			"time":        ev.Str("eventTime"),
			"id":          ev.ID(),
		} {
			src := envelopePattern(key, want)
			if want == "" {
				src = []byte(`{"` + key + `":[{"exists":false}],"detail":{"eventVersion":[{"exists":true}]}}`)
			}
			if !mustCompile(t, string(src)).Match(ev) {
				t.Errorf("%s: %s does not match", ev, src)
			}
		}
	}
}

// envelopePattern matches one envelope field exactly; its detail clause
// makes it an envelope pattern.
func envelopePattern(key, value string) []byte {
	src, _ := json.Marshal(map[string]any{
		key:      []string{value},
		"detail": map[string]any{"eventVersion": []any{map[string]bool{"exists": true}}},
	})
	return src
}

func TestEnvelopeDetection(t *testing.T) {
	cases := []struct {
		src  string
		want bool
	}{
		{`{"eventName":["ConsoleLogin"]}`, false},
		{`{"resources":{"type":["AWS::S3::Object"]}}`, false},
		{`{"detail-type":["AWS Console Sign In via CloudTrail"]}`, true},
		{`{"$or":[{"source":["aws.iam"]},{"source":["aws.sts"]}]}`, true},
		{`{"$or":[{"eventName":["A"]},{"eventName":["B"]}]}`, false},
	}
	for _, c := range cases {
		if got := mustCompile(t, c.src).Envelope(); got != c.want {
			t.Errorf("%s: Envelope() = %v, want %v", c.src, got, c.want)
		}
	}
	// A record field named like an envelope key is read from the envelope
	// in an envelope pattern: resources is always empty there.
	ev := event.MustParse(`{"eventName":"GetObject","eventSource":"s3.amazonaws.com","eventType":"AwsApiCall","resources":[{"type":"AWS::S3::Object"}]}`)
	if !mustCompile(t, `{"resources":{"type":["AWS::S3::Object"]}}`).Match(ev) {
		t.Error("record pattern on resources does not match")
	}
	if mustCompile(t, `{"source":["aws.s3"],"resources":{"type":["AWS::S3::Object"]}}`).Match(ev) {
		t.Error("envelope pattern on resources matches, but the envelope's resources is empty")
	}
	if !mustCompile(t, `{"source":["aws.s3"],"detail":{"resources":{"type":["AWS::S3::Object"]}}}`).Match(ev) {
		t.Error("envelope pattern on detail.resources does not match")
	}
}

func TestEventNames(t *testing.T) {
	cases := []struct {
		src  string
		want []string // nil: not pinned
	}{
		{`{"eventName":["ConsoleLogin"]}`, []string{"ConsoleLogin"}},
		{`{"eventName":["b","a","b"],"eventSource":["iam.amazonaws.com"]}`, []string{"a", "b"}},
		{`{"detail":{"eventName":["ConsoleLogin"]}}`, []string{"ConsoleLogin"}},
		{`{"source":["aws.signin"],"detail-type":["AWS Console Sign In via CloudTrail"],"detail":{"eventName":["ConsoleLogin"],"userIdentity":{"type":["Root"]}}}`, []string{"ConsoleLogin"}},
		{`{"detail":{"userIdentity":{"type":["Root"]}}}`, nil},
		{`{"eventName":[{"prefix":"Delete"}]}`, nil},
		{`{"eventName":["A",{"prefix":"B"}]}`, nil},
		{`{"eventName":["A",null]}`, nil},
		{`{"eventName":[{"exists":true}]}`, nil},
		{`{"$or":[{"eventName":["A"]},{"eventName":["B","C"]}]}`, []string{"A", "B", "C"}},
		{`{"$or":[{"eventName":["A"]},{"eventSource":["x"]}]}`, nil},
		{`{"$or":[{"eventName":["A"]},{"eventSource":["x"]}],"eventName":["A"]}`, []string{"A"}},
		{`{"$or":[{"source":["aws.iam"],"detail":{"eventName":["CreateUser"]}},{"detail":{"eventName":["StopLogging"]}}]}`, []string{"CreateUser", "StopLogging"}},
		{`{"detail":{"$or":[{"eventName":["A"]},{"$or":[{"eventName":["B"]},{"eventName":["C"]}]}]}}`, []string{"A", "B", "C"}},
		{`{"userIdentity":{"eventName":["A"]}}`, nil},
		{`{"eventName":["a","b","c","d","e","f","g","h"]}`, []string{"a", "b", "c", "d", "e", "f", "g", "h"}},
	}
	for _, c := range cases {
		names, ok := mustCompile(t, c.src).EventNames()
		if ok != (c.want != nil) || !slices.Equal(names, c.want) {
			t.Errorf("%s: EventNames() = %q, %v; want %q", c.src, names, ok, c.want)
		}
	}
	// The caller may change the slice it gets.
	p := mustCompile(t, `{"eventName":["A"]}`)
	names, _ := p.EventNames()
	names[0] = "changed"
	if again, _ := p.EventNames(); again[0] != "A" {
		t.Errorf("EventNames shares its slice: %q", again)
	}
}

// TestEventNamesSound checks on real events that a pattern pinning names
// never matches an event whose name is not among them.
func TestEventNamesSound(t *testing.T) {
	srcs := []string{
		`{"eventName":["AssumeRole","GetSecretValue"]}`,
		`{"$or":[{"eventName":["PutRolePolicy"]},{"eventName":["GetSecretValue"],"eventSource":["secretsmanager.amazonaws.com"]}]}`,
		`{"source":["aws.sts"],"detail":{"eventName":["AssumeRole"]}}`,
	}
	evs := invictusEvents(t)
	for _, src := range srcs {
		p := mustCompile(t, src)
		names, ok := p.EventNames()
		if !ok {
			t.Fatalf("%s: not pinned", src)
		}
		matched := 0
		for _, ev := range evs {
			if p.Match(ev) {
				matched++
				if !slices.Contains(names, ev.Name()) {
					t.Errorf("%s matches %s, whose name is not in %q", src, ev, names)
				}
			}
		}
		if matched == 0 {
			t.Errorf("%s matches no Invictus event; the test proves nothing", src)
		}
	}
}

func TestMatchNil(t *testing.T) {
	p := mustCompile(t, `{"eventName":[{"exists":false}]}`)
	if p.Match(nil) {
		t.Error("Match(nil) = true")
	}
	var none *Pattern
	if none.Match(event.MustParse(`{}`)) {
		t.Error("nil pattern matches")
	}
	if !p.Match(event.MustParse(`{}`)) {
		t.Error("exists false does not match an empty record")
	}
}

// TestMatchAllocs holds Match to its promise: no allocation for string
// matchers (and IPv4 cidr), in record and envelope patterns.
func TestMatchAllocs(t *testing.T) {
	ev := docRecord(t, "root-console-login-no-mfa")
	srcs := []string{
		`{"eventName":["ConsoleLogin"],"userIdentity":{"type":["Root"]}}`,
		`{"eventSource":[{"prefix":"signin."}],"userAgent":[{"suffix":"Firefox/62.0"}]}`,
		`{"eventName":[{"anything-but":["GetObject","ListBuckets"]}],"errorCode":[{"exists":false}]}`,
		`{"userIdentity":{"type":[{"equals-ignore-case":"root"}]},"sourceIPAddress":[{"wildcard":"192.*.0"}]}`,
		`{"eventName":["a","b","c","d","e","f","g","h","ConsoleLogin"]}`,
		`{"source":["aws.signin"],"detail-type":["AWS Console Sign In via CloudTrail"],"detail":{"eventName":["ConsoleLogin"],"userIdentity":{"type":["Root"]}}}`,
		`{"account":["111122223333"],"region":[{"prefix":"us-"}],"version":["0"],"detail":{"responseElements":{"ConsoleLogin":["Success"]}}}`,
		`{"detail":{"additionalEventData":{"MFAUsed":[{"anything-but":"Yes"}]}}}`,
		`{"sourceIPAddress":[{"cidr":"192.0.2.0/24"}],"eventVersion":[{"exists":true}]}`,
	}
	for _, src := range srcs {
		p := mustCompile(t, src)
		if !p.Match(ev) {
			t.Errorf("%s does not match; the allocation test proves nothing", src)
		}
		if n := testing.AllocsPerRun(100, func() { p.Match(ev) }); n != 0 {
			t.Errorf("%s: Match allocates %v times", src, n)
		}
	}
}

// TestConcurrentMatch shares one pattern between goroutines, each with its
// own events (an Event's parsed tree is read lazily and is not shared).
func TestConcurrentMatch(t *testing.T) {
	p := mustCompile(t, `{"$or":[{"eventName":["AssumeRole"]},{"errorCode":[{"exists":true}]}],"sourceIPAddress":[{"anything-but":{"prefix":"10."}}]}`)
	want := 0
	for _, ev := range invictusEvents(t) {
		if p.Match(ev) {
			want++
		}
	}
	if want == 0 {
		t.Fatal("pattern matches nothing; the test proves nothing")
	}
	var wg sync.WaitGroup
	for range 4 {
		evs := invictusEvents(t)
		wg.Go(func() {
			got := 0
			for _, ev := range evs {
				if p.Match(ev) {
					got++
				}
			}
			if got != want {
				t.Errorf("goroutine matched %d events, want %d", got, want)
			}
		})
	}
	wg.Wait()
}
