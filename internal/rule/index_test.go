package rule

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
	"github.com/trailwatch/trailwatch/internal/rule/jq"
)

// indexFields are the fields generated rules test, and the values they
// take in the corpora.
var indexFields = []string{
	"eventName", "eventSource", "userIdentity.type", "userIdentity.userName", "userIdentity.arn",
	"sourceIPAddress", "userAgent", "errorCode", "awsRegion", "eventType", "recipientAccountId",
	"requestParameters.bucketName", "additionalEventData.MFAUsed",
}

// indexEvents returns the events the index is checked on: a spread of the
// Invictus logs, the built-in packs' test events (AWS documentation and
// Panther examples), and records shaped to trip an index: fields of other
// types, arrays on the way, case that folds outside ASCII, text that is not
// UTF-8, duplicate keys, keys written with escapes.
func indexEvents(t testing.TB) []*event.Event {
	t.Helper()
	var evs []*event.Event
	for i, rec := range ingesttest.InvictusRecords(t) {
		if i%29 == 0 {
			evs = append(evs, event.MustParse(string(rec)))
		}
	}
	err := filepath.WalkDir(filepath.Join("..", "..", "rules", "testdata"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if ev, err := event.Parse(b, event.Origin{Input: path}); err == nil {
			evs = append(evs, ev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range trickyEvents {
		evs = append(evs, event.MustParse(s))
	}
	return evs
}

var trickyEvents = []string{
	`{"eventName":"ConsoleLogin","userIdentity":[{"type":"Root","userName":"alice"}],"errorCode":["AccessDenied"],"userAgent":["aws-cli/2"]}`,
	`{"eventName":"GetObject","userIdentity":"Root","sourceIPAddress":198,"errorCode":{"code":"AccessDenied"},"userAgent":null}`,
	`{"eventName":"ListBuckets","userIdentity":{"type":null,"userName":123},"eventSource":["s3.amazonaws.com"],"awsRegion":true}`,
	`{"eventName":"stoplogging","eventSource":"CLOUDTRAIL.AMAZONAWS.COM","userIdentity":{"type":"root","userName":"ALICE"},"userAgent":"Mozilla/5.0 \u212aali STRATUS-red-team"}`,
	"{\"eventName\":\"Get\xffUser\",\"userAgent\":\"\xe2\x84terraform\",\"errorCode\":\"Access\xc3Denied\",\"sourceIPAddress\":\"198.51.100.\xff\"}",
	`{"eventName":"CreateUser","eventName":"DeleteUser","userIdentity":{"type":"IAMUser","type":"Root"},"errorCode":"AccessDenied","errorCode":"Throttling"}`,
	`{"event\u004eame":"ConsoleLogin","eventName":"GetUser","user\u0049dentity":{"type":"Root"},"sourceIPAddress":"203.0.113.9"}`,
	`{"eventName":"DescribeInstances","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/\u017fre/x"},"userAgent":"aws-sdk-go/1.44 ſtratus"}`,
	`{"eventName":"","eventSource":"","userIdentity":{},"userAgent":"","errorCode":""}`,
	`{"eventName":"ConsoleLogin","requestParameters":{"bucketName":["a","b"]},"additionalEventData":{"MFAUsed":"NO"},"recipientAccountId":111122223333}`,
	`{"eventName":"GetUser","userIdentity.type":"Root","userIdentity.userName":"alice","requestParameters.bucketName":"b","additionalEventData.MFAUsed":"No"}`,
	`{"eventName":"GetUser","userIdentity":{"type":"IAMUser","userName":"bob"},"userIdentity.type":"AssumedRole","userIdentity.arn":"arn:aws:iam::111122223333:user/bob"}`,
}

// fieldValues collects each field's texts in the events.
func fieldValues(evs []*event.Event) map[string][]string {
	out := map[string][]string{}
	for _, ev := range evs {
		for _, f := range indexFields {
			v := ev.Value().Get(strings.Split(f, ".")...)
			if v == nil {
				continue
			}
			s, err := v.StringBytes()
			if err != nil || slices.Contains(out[f], string(s)) {
				continue
			}
			out[f] = append(out[f], string(s))
		}
	}
	return out
}

// ruleGen writes random rules in the four languages over the corpora's
// fields and values: exact, prefix, suffix and fragment conditions, case
// changed, joined with and, or and not, and conditions no index can use.
type ruleGen struct {
	r      *rand.Rand
	values map[string][]string
}

func (g *ruleGen) field() string { return indexFields[g.r.IntN(len(indexFields))] }

// text returns a value of f, or a piece of one, its case sometimes changed.
func (g *ruleGen) text(f string, piece int) string {
	vals := g.values[f]
	if len(vals) == 0 {
		return "none"
	}
	s := vals[g.r.IntN(len(vals))]
	switch piece {
	case 1: // a prefix
		s = s[:g.r.IntN(len(s)+1)]
	case 2: // a fragment
		i := g.r.IntN(len(s) + 1)
		s = s[i : i+g.r.IntN(len(s)-i+1)]
	case 3: // a suffix
		s = s[g.r.IntN(len(s)+1):]
	}
	switch g.r.IntN(6) {
	case 0:
		s = strings.ToUpper(s)
	case 1:
		s = strings.ToLower(s)
	}
	if s == "" {
		s = "x"
	}
	return s
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// nest writes {"a": {"b": leaf}} for the field a.b.
func nest(f, leaf string) string {
	parts := strings.Split(f, ".")
	out := leaf
	for i := len(parts) - 1; i >= 0; i-- {
		out = fmt.Sprintf(`{%s: %s}`, quote(parts[i]), out)
	}
	return out
}

func (g *ruleGen) pattern() string {
	leaf := func() (string, string) {
		f := g.field()
		switch g.r.IntN(9) {
		case 0:
			return f, fmt.Sprintf(`[{"prefix": %s}]`, quote(g.text(f, 1)))
		case 1:
			return f, fmt.Sprintf(`[{"suffix": %s}]`, quote(g.text(f, 3)))
		case 2:
			return f, fmt.Sprintf(`[{"wildcard": %s}]`, quote("*"+strings.ReplaceAll(g.text(f, 2), "*", "")+"*"))
		case 3:
			return f, fmt.Sprintf(`[{"equals-ignore-case": %s}]`, quote(g.text(f, 0)))
		case 4:
			return f, fmt.Sprintf(`[{"prefix": {"equals-ignore-case": %s}}]`, quote(g.text(f, 1)))
		case 5:
			return f, fmt.Sprintf(`[{"anything-but": %s}]`, quote(g.text(f, 0)))
		case 6:
			return f, fmt.Sprintf(`[%s, {"prefix": %s}]`, quote(g.text(f, 0)), quote(g.text(f, 1)))
		}
		return f, fmt.Sprintf(`[%s, %s]`, quote(g.text(f, 0)), quote(g.text(f, 0)))
	}
	f1, l1 := leaf()
	p1 := nest(f1, l1)
	switch g.r.IntN(4) {
	case 0:
		f2, l2 := leaf()
		if strings.Split(f2, ".")[0] == strings.Split(f1, ".")[0] {
			return p1
		}
		return fmt.Sprintf(`{%s, %s}`, strings.Trim(p1, "{}"), strings.Trim(nest(f2, l2), "{}"))
	case 1:
		f2, l2 := leaf()
		return fmt.Sprintf(`{"$or": [%s, %s]}`, p1, nest(f2, l2))
	}
	return p1
}

func (g *ruleGen) filter() string {
	term := func() string {
		f := g.field()
		sel := "$." + f
		switch g.r.IntN(7) {
		case 0:
			return fmt.Sprintf(`(%s = %s)`, sel, quote(g.text(f, 1)+"*"))
		case 1:
			return fmt.Sprintf(`(%s = %s)`, sel, quote("*"+g.text(f, 2)+"*"))
		case 2:
			return fmt.Sprintf(`(%s = %s)`, sel, quote("*"+g.text(f, 3)))
		case 3:
			return fmt.Sprintf(`(%s != %s)`, sel, quote(g.text(f, 0)))
		case 4:
			return fmt.Sprintf(`(%s NOT EXISTS)`, sel)
		}
		return fmt.Sprintf(`(%s = %s)`, sel, quote(g.text(f, 0)))
	}
	switch g.r.IntN(3) {
	case 0:
		return fmt.Sprintf(`{ %s && %s }`, term(), term())
	case 1:
		return fmt.Sprintf(`{ %s || %s }`, term(), term())
	}
	return "{ " + term() + " }"
}

func (g *ruleGen) jq() string {
	cond := func() string {
		f := g.field()
		v := "." + f
		if g.r.IntN(4) == 0 {
			v = "(" + v + " | ascii_downcase)"
		}
		switch g.r.IntN(9) {
		case 0:
			return fmt.Sprintf(`(%s | startswith(%s))`, v, quote(g.text(f, 1)))
		case 1:
			return fmt.Sprintf(`(%s | endswith(%s))`, v, quote(g.text(f, 3)))
		case 2:
			return fmt.Sprintf(`(%s | contains(%s))`, v, quote(g.text(f, 2)))
		case 3:
			return fmt.Sprintf(`(%s | test(%s))`, v, quote("^("+regexpQuote(g.text(f, 0))+"|"+regexpQuote(g.text(f, 0))+")$"))
		case 4:
			return fmt.Sprintf(`(%s | test(%s))`, v, quote(regexpQuote(g.text(f, 2))))
		case 5:
			return fmt.Sprintf(`(%s | IN(%s, %s))`, v, quote(g.text(f, 0)), quote(g.text(f, 0)))
		case 6:
			return fmt.Sprintf(`((.%s // %s) | startswith(%s))`, f, quote(g.text(f, 0)), quote(g.text(f, 1)))
		case 7:
			return fmt.Sprintf(`(%s != %s)`, v, quote(g.text(f, 0)))
		}
		return fmt.Sprintf(`%s == %s`, v, quote(g.text(f, 0)))
	}
	c := cond()
	switch g.r.IntN(4) {
	case 0:
		c = cond() + " and " + c
	case 1:
		c = cond() + " or " + c
	}
	switch g.r.IntN(3) {
	case 0:
		return c
	case 1:
		return "select(" + c + ") | .userIdentity.arn"
	}
	return "select(" + c + ") | {n: .eventName}"
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (g *ruleGen) sigma() string {
	sel := func() string {
		f := g.field()
		switch g.r.IntN(6) {
		case 0:
			return fmt.Sprintf(`{%s: %s}`, quote(f+"|startswith"), quote(g.text(f, 1)))
		case 1:
			return fmt.Sprintf(`{%s: %s}`, quote(f+"|contains"), quote(g.text(f, 2)))
		case 2:
			return fmt.Sprintf(`{%s: %s}`, quote(f+"|endswith"), quote(g.text(f, 3)))
		case 3:
			return fmt.Sprintf(`{%s: %s}`, quote(f+"|cased"), quote(g.text(f, 0)))
		}
		return fmt.Sprintf(`{%s: [%s, %s]}`, quote(f), quote(g.text(f, 0)), quote(g.text(f, 0)))
	}
	cond := []string{"a", "a and b", "a or b", "a and not b"}[g.r.IntN(4)]
	return fmt.Sprintf(`{"title": "t", "logsource": {"product": "aws", "service": "cloudtrail"}, "detection": {"a": %s, "b": %s, "condition": %s}}`, sel(), sel(), quote(cond))
}

// generate makes n rules of the four languages.
func (g *ruleGen) generate(t testing.TB, n int) []*Rule {
	t.Helper()
	langs := Languages()
	var rules []*Rule
	for i := range n {
		l := langs[i%len(langs)]
		var src string
		switch l.Name {
		case "pattern":
			src = g.pattern()
		case "filter":
			src = g.filter()
		case "jq":
			src = g.jq()
		case "sigma":
			src = g.sigma()
		}
		m, err := l.Compile(src)
		if err != nil {
			continue // a generated value the language refuses
		}
		rules = append(rules, &Rule{ID: fmt.Sprintf("r%04d", i), Language: l.Name, Source: src, matcher: m})
	}
	return rules
}

// reference matches one rule without any shortcut: the language's own
// matcher, and for jq gojq on the whole converted record.
func reference(ctx context.Context, r *Rule, ev *event.Event) (bool, string, error) {
	switch m := r.matcher.(type) {
	case jqMatcher:
		return m.q.MatchInput(ctx, jq.Input(ev))
	}
	return r.matcher.Match(ctx, NewInput(ev))
}

// checkSet compares the set's answer on ev with every rule matched on its
// own: the same rules, in the same order, with the same annotations. A
// rule the set reports failing must fail on its own too.
func checkSet(t *testing.T, s *Set, ev *event.Event) int {
	t.Helper()
	ctx := context.Background()
	var want []string
	failing := map[string]bool{}
	for _, r := range s.rules {
		m, ann, err := reference(ctx, r, ev)
		if err != nil {
			failing[r.ID] = true
			continue
		}
		if m {
			want = append(want, r.ID+" "+ann)
		}
	}
	var got []string
	err := s.Match(ctx, ev, func(r *Rule, ann string) bool {
		got = append(got, r.ID+" "+ann)
		return true
	})
	if !slices.Equal(got, want) {
		var diff []string
		for _, w := range want {
			if !slices.Contains(got, w) {
				diff = append(diff, "missed "+w+" "+ruleSource(s, w))
			}
		}
		for _, g := range got {
			if !slices.Contains(want, g) {
				diff = append(diff, "extra "+g+" "+ruleSource(s, g))
			}
		}
		t.Errorf("on %s:\n%s", ev.Raw(), strings.Join(diff, "\n"))
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			id, _, _ := strings.Cut(strings.TrimPrefix(line, `rule "`), `"`)
			if !failing[id] {
				t.Errorf("on %s: the set reports %s, which the rule alone does not", ev.Raw(), line)
			}
		}
	}
	return len(want)
}

func ruleSource(s *Set, line string) string {
	id, _, _ := strings.Cut(line, " ")
	for _, r := range s.rules {
		if r.ID == id {
			return r.Language + ": " + r.Source
		}
	}
	return ""
}

// TestIndexChangesNoAnswer matches generated rule sets of every language
// against real and tricky events, through the indexed set and rule by rule
// without it: the set must give exactly the same alerts.
func TestIndexChangesNoAnswer(t *testing.T) {
	evs := indexEvents(t)
	g := &ruleGen{r: rand.New(rand.NewPCG(16, 2)), values: fieldValues(evs)}
	// TRAILWATCH_DIFF=1 checks ten times as many rule sets (a minute).
	sets := 2
	if os.Getenv("TRAILWATCH_DIFF") != "" {
		sets = 20
	}
	matched, indexed := 0, 0
	for range sets {
		s, err := NewSet(g.generate(t, 140)...)
		if err != nil {
			t.Fatal(err)
		}
		indexed += len(s.rules) - len(s.always)
		for _, ev := range evs {
			matched += checkSet(t, s, ev)
		}
	}
	t.Logf("%d sets on %d events: %d matches, %d rules indexed", sets, len(evs), matched, indexed)
	if matched == 0 || indexed == 0 {
		t.Fatal("the generated rules neither match nor are indexed: the test proves nothing")
	}
}

// FuzzIndex checks generated rule sets against events of the fuzzer's
// choosing.
func FuzzIndex(f *testing.F) {
	for _, s := range trickyEvents {
		f.Add(s, uint64(1))
	}
	f.Add(`{"eventName":"ConsoleLogin","userAgent":"aws-cli/2.0 Python/3.11","sourceIPAddress":"192.0.2.7"}`, uint64(2))
	var (
		evs  = indexEvents(f)
		vals = fieldValues(evs)
		sets = map[uint64]*Set{}
	)
	f.Fuzz(func(t *testing.T, rec string, seed uint64) {
		ev, err := event.Parse([]byte(rec), event.Origin{Input: "fuzz"})
		if err != nil {
			return
		}
		seed %= 4
		s := sets[seed]
		if s == nil {
			g := &ruleGen{r: rand.New(rand.NewPCG(seed, 7)), values: vals}
			if s, err = NewSet(g.generate(t, 200)...); err != nil {
				t.Fatal(err)
			}
			sets[seed] = s
		}
		checkSet(t, s, ev)
	})
}

// TestIndexSkipsOtherEvents shows that the index works: rules pinned by a
// user name, an address prefix and a user-agent fragment are not run on
// events without them, once enough rules pin each field; a field that few
// rules pin is cheaper to try on every event.
func TestIndexSkipsOtherEvents(t *testing.T) {
	var b strings.Builder
	b.WriteString("rules:\n")
	rule := func(id, match string) {
		fmt.Fprintf(&b, "  - id: %s\n    title: %s\n    severity: low\n    %s\n", id, id, match)
	}
	for i, u := range []string{"mallory", "eve", "trudy", "oscar"} {
		rule(fmt.Sprintf("user%d", i), fmt.Sprintf(`jq: 'select(.userIdentity.userName == "%s") | .eventName'`, u))
	}
	for i := range minFieldRules {
		rule(fmt.Sprintf("net%d", i), fmt.Sprintf(`pattern: {sourceIPAddress: [{prefix: "203.0.%d."}]}`, 113+i))
	}
	for i, tool := range []string{"sqlmap", "nmap", "hydra"} {
		rule(fmt.Sprintf("agent%d", i), fmt.Sprintf(`filter: '{ $.userAgent = "*%s*" }'`, tool))
	}
	rule("tool", `sigma: {title: t, logsource: {product: aws, service: cloudtrail}, detection: {sel: {userAgent|contains: [pacu, kali]}, condition: sel}}`)
	rule("few", `pattern: {errorCode: [AccessDenied]}`)
	rule("any", `jq: '.userIdentity | keys | length > 10'`)
	s := mustSet(t, b.String())
	cand := func(raw string) string {
		var ids []string
		for _, o := range s.candidates(event.MustParse(raw), nil, nil, nil) {
			ids = append(ids, s.rules[o].ID)
		}
		return strings.Join(ids, ",")
	}
	for _, tc := range []struct{ ev, want string }{
		{`{"eventName":"GetUser","userIdentity":{"userName":"bob"},"sourceIPAddress":"192.0.2.1","userAgent":"aws-cli/2"}`, "few,any"},
		{`{"eventName":"GetUser","userIdentity":{"userName":"Mallory"},"sourceIPAddress":"203.0.113.5","userAgent":"Boto3 on KALI Linux"}`, "user0,net0,tool,few,any"},
		{`{"eventName":"GetUser","userAgent":"sqlmap/1.7 (pacu) Nmap"}`, "agent0,agent1,tool,few,any"},
		{`{"eventName":"GetUser","userIdentity":["mallory"],"sourceIPAddress":3,"userAgent":null}`, "user0,user1,user2,user3,net0,net1,net2,net3,agent0,agent1,agent2,tool,few,any"},
	} {
		if got := cand(tc.ev); got != tc.want {
			t.Errorf("candidates of %s = %s; want %s", tc.ev, got, tc.want)
		}
	}
}

// TestAutomaton finds fragments in folded text as bytes.Contains does on
// the folded forms.
func TestAutomaton(t *testing.T) {
	texts := []string{"STRATUS", "TERRAFORM", "AWS-CLI", "CLI/", "A", "SDK-GO/1.4"}
	a := newAutomaton(texts)
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"aws-cli/2.0 terraform", []string{"A", "AWS-CLI", "CLI/", "TERRAFORM"}},
		{"Stratus-Red-Team", []string{"A", "STRATUS"}},
		{"\u017ftratus", []string{"A", "STRATUS"}},
		{"aws-sdk-go/1.44", []string{"A", "SDK-GO/1.4"}},
		{"\xff\xfeclx", nil},
		{"", nil},
	} {
		var got []string
		for _, n := range a.find([]byte(tc.text), nil) {
			got = append(got, texts[n])
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("find(%q) = %q; want %q", tc.text, got, tc.want)
		}
	}
}

// BenchmarkFragments compares three ways to keep rules that require a
// fragment of the user agent (none of which occurs) away from the Invictus
// events, per event: "raw" searches the record's bytes for each fragment
// (a prefilter before the match; it would also need to rule out escapes),
// "field" reads the field once and searches it for each fragment, and
// "automaton" is the index: one pass over the folded field for all of
// them.
func BenchmarkFragments(b *testing.B) {
	var evs []*event.Event
	for _, rec := range ingesttest.InvictusRecords(b) {
		evs = append(evs, event.MustParse(string(rec)))
	}
	for _, n := range []int{20, 100} {
		var frags [][]byte
		var texts []string
		for i := range n {
			f := fmt.Sprintf("gen-tool-%d", i*7+3)
			frags = append(frags, []byte(f))
			texts = append(texts, strings.ToUpper(f))
		}
		fi := &fieldIndex{path: []string{"userAgent"}}
		for i, t := range texts {
			fi.add(pin{path: fi.path, values: []string{t}, kind: pinSubstring}, int32(i))
		}
		fi.build()
		run := func(name string, f func(ev *event.Event) int) {
			b.Run(fmt.Sprintf("%s/fragments=%d", name, n), func(b *testing.B) {
				found := 0
				for b.Loop() {
					for _, ev := range evs {
						found += f(ev)
					}
				}
				if found != 0 {
					b.Fatal("a fragment was found")
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
			})
		}
		run("raw", func(ev *event.Event) int {
			found := 0
			for _, f := range frags {
				if bytes.Contains(ev.Raw(), f) {
					found++
				}
			}
			return found
		})
		run("field", func(ev *event.Event) int {
			found := 0
			text := ev.Value().GetStringBytes("userAgent")
			for _, f := range frags {
				if bytes.Contains(text, f) {
					found++
				}
			}
			return found
		})
		var lists [8][]int32
		run("automaton", func(ev *event.Event) int {
			return len(fi.hits(ev.Value(), lists[:0]))
		})
	}
}
