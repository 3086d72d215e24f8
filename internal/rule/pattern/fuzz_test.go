package pattern

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/valyala/fastjson"
)

// seedPatterns are the fuzz seeds: every documented pattern plus the error
// cases, so the fuzzer starts from both sides of the grammar.
func seedPatterns() []string {
	var out []string
	for _, c := range complianceCases() {
		out = append(out, c.pattern)
	}
	out = append(out,
		`{"detail":{"userIdentity":{"type":["Root"]}}}`,
		`{"source":["aws.signin"],"detail-type":["AWS Console Sign In via CloudTrail"],"detail":{"eventName":["ConsoleLogin"],"userIdentity":{"type":["Root"]}}}`,
		`{"eventName":["ConsoleLogin"],"additionalEventData":{"MFAUsed":[{"anything-but":"Yes"}]}}`,
		`{"$or":[{"source":["aws.iam"]},{"detail":{"eventName":[{"prefix":"Delete"}]}}]}`,
		`{"account":["111122223333"],"region":[{"wildcard":"us-*-1"}],"time":[{"prefix":"2022"}],"id":[{"exists":true}],"version":["0"],"resources":[{"exists":false}],"detail-type":[{"suffix":"CloudTrail"}]}`,
		`{"sourceIPAddress":[{"cidr":"192.0.2.0/24"},{"cidr":"2001:db8::/32"}]}`,
		`{"x":[{"numeric":[">=",-5e9,"<=",5e9]}]}`,
		`{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/33"}]}}`,
		`{"x":[{"wildcard":"a**b"}]}`,
		`{"x":[{"foo":1}]}`,
		`{"x":[]}`,
		`{}`,
		`[]`,
		`{"a":[1`,
		`{"eventName":["A"],"eventName":["B"]}`,
		`{"eventName":["A","B"],"$or":[{"eventName":[{"anything-but":"A"}]},{"eventSource":["x"]}]}`,
		`{"$or":[{"eventName":["A"]},{"c":["y"]}],"eventName":["B"]}`,
		`{"detail":{"eventName":["A"]},"$or":[{"detail":{"eventName":["B"]}},{"source":["aws.iam"]}]}`,
	)
	return out
}

// seedEvents are CloudTrail-shaped records with the awkward shapes the
// matcher must survive: arrays of objects, nested arrays, nulls, numbers
// where strings belong, escaped keys.
func seedEvents(t testing.TB) []*event.Event {
	evs := []*event.Event{
		docRecord(t, "root-console-login-no-mfa"),
		docRecord(t, "iam-user-console-login-failure"),
		docRecord(t, "eventbridge-s3-create-bucket"),
	}
	for _, raw := range []string{
		`{}`,
		`{"eventName":["ConsoleLogin"],"eventSource":5,"eventType":null,"userIdentity":[{"type":"Root"},[{"type":["IAMUser"]}]]}`,
		`{"eventSource":".amazonaws.com","recipientAccountId":"","userIdentity":{"accountId":7},"awsRegion":{"a":1}}`,
		`{"eventSource":"` + strings.Repeat("s", 200) + `","eventType":"AwsCloudTrailInsight","x":[[[[1,"a",null,true]]]]}`,
		`{"sourceIPAddress":"::ffff:10.0.0.1","n":1e308,"m":-0,"k\u0041y":"v","detail":{"eventName":"x"}}`,
	} {
		evs = append(evs, event.MustParse(raw))
	}
	return evs
}

// FuzzCompile: no pattern text makes Compile or Match panic, and a pattern
// that pins event names never matches an event with another name.
func FuzzCompile(f *testing.F) {
	for _, s := range seedPatterns() {
		f.Add([]byte(s))
	}
	evs := seedEvents(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Compile(src)
		if err != nil {
			if p != nil {
				t.Fatalf("Compile returned a pattern and an error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "pattern: ") {
				t.Fatalf("error %q does not start with \"pattern: \"", err)
			}
			return
		}
		names, pinned := p.EventNames()
		for _, ev := range evs {
			if p.Match(ev) && pinned && nameIsString(ev) && !slices.Contains(names, ev.Name()) {
				t.Fatalf("pattern %s pins %q but matches %q", src, names, ev.Name())
			}
		}
	})
}

// FuzzMatch: no event makes Match panic, and pinned names stay sound.
func FuzzMatch(f *testing.F) {
	pats := seedPatterns()
	for i, ev := range seedEvents(f) {
		f.Add(pats[i%len(pats)], ev.Raw())
	}
	f.Fuzz(func(t *testing.T, src string, raw []byte) {
		p, err := Compile([]byte(src))
		if err != nil {
			return
		}
		ev, err := event.Parse(raw, event.Origin{Input: "fuzz"})
		if err != nil {
			return
		}
		m := p.Match(ev)
		if names, pinned := p.EventNames(); m && pinned && nameIsString(ev) && !slices.Contains(names, ev.Name()) {
			t.Fatalf("pattern %s pins %q but matches %q", src, names, ev.Name())
		}
	})
}

// nameIsString reports whether eventName is a JSON string; EventNames
// assumes it is, as CloudTrail writes it.
func nameIsString(ev *event.Event) bool {
	v := ev.Value().Get("eventName")
	return v != nil && v.Type() == fastjson.TypeString
}

// FuzzWildcard compares the wildcard matcher with a regular expression and
// the case-folding helpers with the standard library.
func FuzzWildcard(f *testing.F) {
	f.Add("dir/*.png", "dir/a/b.png")
	f.Add("*a*a*a", "xaxaxa")
	f.Add("ab*ba", "aba")
	f.Add(`a\*b*\\`, `a*bcd\`)
	f.Add("Straße", "STRASSE")
	f.Add("\u212a", "k")
	f.Fuzz(func(t *testing.T, pat, s string) {
		if w, err := compileWildcard(pat); err == nil {
			var re strings.Builder
			re.WriteString(`(?s)\A`)
			for i, p := range w.parts {
				if i > 0 {
					re.WriteString(".*")
				}
				re.WriteString(regexp.QuoteMeta(string(p)))
			}
			re.WriteString(`\z`)
			if utf8.ValidString(s) && utf8.ValidString(pat) {
				if got, want := w.match([]byte(s)), regexp.MustCompile(re.String()).MatchString(s); got != want {
					t.Fatalf("wildcard %q on %q = %v, regexp %s says %v", pat, s, got, re.String(), want)
				}
			}
			if again, err := compileWildcard(w.String()); err != nil || again.String() != w.String() {
				t.Fatalf("wildcard %q does not round-trip: %q, %v", pat, w.String(), err)
			}
		}
		if utf8.ValidString(s) && utf8.ValidString(pat) {
			if got, want := equalFold([]byte(s), pat), strings.EqualFold(s, pat); got != want {
				t.Fatalf("equalFold(%q, %q) = %v, strings.EqualFold says %v", s, pat, got, want)
			}
			if hasPrefixFold([]byte(s), pat) != hasSuffixFold([]byte(reverse(s)), reverse(pat)) {
				t.Fatalf("prefix and suffix folding disagree on %q, %q", s, pat)
			}
		}
	})
}

func reverse(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}

// FuzzParseAddr compares the IPv4 fast path with netip.
func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "::ffff:10.0.0.1", "2001:db8::1", "", "1..2.3", "AWS Internal"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotOK := parseAddr([]byte(s))
		want, err := netip.ParseAddr(s)
		if err == nil {
			want = want.Unmap()
		}
		if gotOK != (err == nil) || gotOK && got != want {
			t.Fatalf("parseAddr(%q) = %v, %v; netip says %v, %v", s, got, gotOK, want, err)
		}
	})
}
