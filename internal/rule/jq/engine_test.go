package jq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
	"github.com/trailwatch/trailwatch/internal/rule/sigma"
	"github.com/valyala/fastjson"
)

// queryGen writes random queries from the shapes rules are written in, and
// from shapes the engine does not know, over the fields and values of real
// CloudTrail records.
type queryGen struct {
	r *rand.Rand
}

var (
	genFields = []string{
		".eventName", ".eventSource", ".errorCode", ".userAgent", ".sourceIPAddress", ".awsRegion",
		".userIdentity.type", ".userIdentity.userName", ".userIdentity.arn", ".userIdentity",
		".additionalEventData.MFAUsed", ".responseElements.ConsoleLogin", ".responseElements",
		".requestParameters", ".requestParameters.userName", ".readOnly", ".count", ".missing",
		".eventName.x", ".userIdentity.sessionContext.sessionIssuer.type", `."eventType"`,
	}
	genTexts = []string{
		"ConsoleLogin", "CreateUser", "GetUser", "Decrypt", "DescribeRouteTables", "Root", "IAMUser",
		"AssumedRole", "AccessDenied", "Client.UnauthorizedOperation", "ThrottlingException",
		"Success", "No", "Yes", "s3.amazonaws.com", "iam.amazonaws.com", "us-east-1", "AWS Internal",
		"", "console", "Describe", "Get", "amazonaws.com", "stratus-red-team", "terraform", "arn:aws:iam::",
		"consolelogin", "CONSOLELOGIN", "Role", "Exception", "\u00e9", "\ufffd",
	}
	genRegexps = []string{
		"^ConsoleLogin$", "^(CreateUser|GetUser|Decrypt)$", "^Describe", "Exception$", "stratus",
		"^(Describe|List)", "^Get(User|Parameter)?$", "[0-9]+", "^A", "(?i)^getuser$", "^$", ".", "^(a|b",
		"^GetUser$|^Decrypt$", "^(Describe|Get)(RouteTables|User)$|^Root$", "^(Describe|GetUser$)", "^.*Exception",
	}
)

func (g *queryGen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *queryGen) text() string { return fmt.Sprintf("%q", g.pick(genTexts)) }

func (g *queryGen) literal() string {
	switch g.r.IntN(8) {
	case 0:
		return "null"
	case 1:
		return "true"
	case 2:
		return "false"
	case 3:
		return "3"
	}
	return g.text()
}

func (g *queryGen) value() string {
	f := g.pick(genFields)
	switch g.r.IntN(8) {
	case 0:
		return "(" + f + " // " + g.literal() + ")"
	case 1:
		return f + " | ascii_downcase"
	case 2:
		return f + " | ascii_upcase | ascii_downcase"
	}
	return f
}

func (g *queryGen) cond(depth int) string {
	n := 16
	if depth > 2 {
		n = 12
	}
	switch g.r.IntN(n) {
	case 0:
		return g.literal() + " == " + g.value()
	case 1:
		return g.value() + " != " + g.literal()
	case 2:
		return "(" + g.value() + " | startswith(" + g.text() + "))"
	case 3:
		return "(" + g.value() + " | endswith(" + g.text() + "))"
	case 4:
		return "(" + g.value() + " | contains(" + g.text() + "))"
	case 5:
		flags := []string{"", `; "i"`, `; null`, `; "x"`, `; "gm"`}[g.r.IntN(5)]
		return "(" + g.value() + fmt.Sprintf(" | test(%q%s))", g.pick(genRegexps), flags)
	case 6:
		return "(" + g.value() + " | IN(" + g.literal() + ", " + g.literal() + "))"
	case 7:
		return "IN(" + g.pick(genFields) + "; " + g.literal() + ", " + g.text() + ")"
	case 8:
		return "(" + g.pick([]string{"", ".userIdentity | ", ".requestParameters | ", ".eventName | "}) + "has(" + g.text() + "))"
	case 9:
		return "(" + g.value() + " | not)"
	case 10:
		return g.value()
	case 11:
		return g.pick([]string{"true", "false", "(.eventName | length > 10)", "any(.resources[]?; .type != null)", "(.userIdentity | keys | length > 3)", "(. | tostring | contains(\"Root\"))", "error(\"boom\")", "(.count > 2)", "not"})
	case 12, 13:
		return "(" + g.cond(depth+1) + " and " + g.cond(depth+1) + ")"
	case 14:
		return "(" + g.cond(depth+1) + " or " + g.cond(depth+1) + ")"
	}
	return "(" + g.cond(depth+1) + " | not)"
}

func (g *queryGen) query() string {
	var stages []string
	for range g.r.IntN(3) {
		stages = append(stages, "select("+g.cond(0)+")")
	}
	switch g.r.IntN(9) {
	case 0:
		if len(stages) == 0 {
			stages = append(stages, g.cond(0))
		}
	case 1:
		stages = append(stages, g.value())
	case 2:
		stages = append(stages, fmt.Sprintf(`"%s \(%s) at \(%s)"`, g.pick(genTexts), g.value(), g.pick(genFields)))
	case 3:
		stages = append(stages, g.cond(0))
	case 4:
		stages = append(stages, g.literal())
	case 5:
		stages = append(stages, "{who: "+g.pick(genFields)+", what: "+g.pick(genFields)+"}")
	case 6:
		stages = append(stages, ".")
	case 7:
		stages = append(stages, g.pick(genFields)+" | length")
	default:
		stages = append(stages, g.cond(0))
	}
	return strings.Join(stages, " | ")
}

// hostileEvents are records shaped to trip an engine that reads fields
// differently from gojq: duplicate keys (the last counts), fields of other
// types, texts that are not UTF-8, case that folds outside ASCII.
var hostileEvents = []string{
	`{"eventName":"GetUser","eventName":"ConsoleLogin","userIdentity":{"type":"Root","type":"IAMUser"},"errorCode":"AccessDenied"}`,
	`{"eventName":"ConsoleLogin","userIdentity":{"type":"Root"},"userIdentity":"text","additionalEventData":{"MFAUsed":"No"}}`,
	`{"eventName":["ConsoleLogin"],"userIdentity":["Root"],"errorCode":3,"readOnly":"false"}`,
	`{"eventName":null,"userIdentity":null,"responseElements":{"ConsoleLogin":null},"errorCode":null}`,
	`{"eventName":{"x":"y"},"userIdentity":{"type":{"a":1},"userName":true},"userAgent":7}`,
	"{\"eventName\":\"Console\xffLogin\",\"userAgent\":\"\xff\xfeTerraform\",\"errorCode\":\"ACCESSDENIED\"}",
	`{"eventName":"consolelogin","userAgent":"K\u212aelvin STRATUS-RED-TEAM","sourceIPAddress":"AWS Internal","errorCode":"Client.UnauthorizedOperation"}`,
	`{"eventName":"Describe\u0000Vpcs","eventSource":"ec2.amazonaws.com","userIdentity":{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"type":"Role"}}},"count":3,"readOnly":true}`,
	`{"eventName":"GetUser","eventNam\u0065":"CreateUser","requestParameters":{"userName":"a"},"requestParameters":{"roleName":"b"}}`,
	`{}`,
}

// engineEvents returns a spread of the Invictus records and the hostile
// ones.
func engineEvents(t testing.TB) []*event.Event {
	var evs []*event.Event
	for i, rec := range ingesttest.InvictusRecords(t) {
		if i%41 != 0 {
			continue
		}
		evs = append(evs, event.MustParse(string(rec)))
	}
	for _, s := range append([]string{consoleLogin, createUser}, hostileEvents...) {
		evs = append(evs, event.MustParse(s))
	}
	return evs
}

// TestEngineAgreesWithGojq runs random queries on real and hostile events
// and checks every shortcut against gojq on the whole converted record:
// Quick's decisions (never one where gojq reports an error), Rejects, the
// partial conversion shared between queries, and the pins.
func TestEngineAgreesWithGojq(t *testing.T) {
	evs := engineEvents(t)
	g := &queryGen{r: rand.New(rand.NewPCG(16, 2))}
	// TRAILWATCH_DIFF=1 checks ten times as many queries (a minute).
	queries := 150
	if os.Getenv("TRAILWATCH_DIFF") != "" {
		queries = 1500
	}
	decided, pinned := 0, 0
	for range queries {
		src := g.query()
		q, err := Compile(src, WithTimeout(time.Second))
		if err != nil {
			t.Fatalf("Compile(%q): %v", src, err)
		}
		if len(q.Pins()) > 0 {
			pinned++
		}
		for _, ev := range evs {
			if checkEngine(t, q, ev) {
				decided++
			}
		}
	}
	t.Logf("%d queries on %d events: %d decisions without gojq, %d queries pinned", queries, len(evs), decided, pinned)
	if decided == 0 || pinned == 0 {
		t.Fatal("the generator made no query the engine decides or pins")
	}
}

// TestSharedValue runs random queries one after another on one shared
// conversion of each event, as the rule set does, and compares each with
// gojq on the whole record.
func TestSharedValue(t *testing.T) {
	evs := engineEvents(t)
	g := &queryGen{r: rand.New(rand.NewPCG(3, 4))}
	var qs []*Query
	for range 60 {
		q, err := Compile(g.query(), WithTimeout(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, q)
	}
	ctx := context.Background()
	for _, ev := range evs {
		v := NewValue(ev)
		for _, q := range qs {
			m, ann, err := q.MatchInput(ctx, Input(ev))
			sm, sann, serr := q.MatchValue(ctx, v)
			if sm != m || sann != ann || (serr == nil) != (err == nil) {
				t.Errorf("%q on %s: shared conversion gives %v %q %v; whole record gives %v %q %v", q, ev.Raw(), sm, sann, serr, m, ann, err)
			}
		}
	}
}

// checkEngine compares the shortcuts with gojq for one query and event; it
// reports whether Quick decided.
func checkEngine(t *testing.T, q *Query, ev *event.Event) bool {
	t.Helper()
	ctx := context.Background()
	m, ann, err := q.MatchInput(ctx, Input(ev))
	if errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	pm, pann, perr := q.MatchValue(ctx, NewValue(ev))
	if pm != m || pann != ann || (perr == nil) != (err == nil) {
		t.Errorf("%q on %s: partial conversion gives %v %q %v; whole record gives %v %q %v", q, ev.Raw(), pm, pann, perr, m, ann, err)
	}
	r, qann := q.Quick(ev)
	if r != Undecided {
		if err != nil {
			t.Errorf("%q on %s: Quick decided %v where gojq reports %v", q, ev.Raw(), r, err)
		} else if (r == Matched) != m || qann != ann {
			t.Errorf("%q on %s: Quick gives %v %q; gojq gives %v %q", q, ev.Raw(), r, qann, m, ann)
		}
	}
	if q.Rejects(ev) && (m || err != nil) {
		t.Errorf("%q on %s: rejected, but gojq gives %v %v", q, ev.Raw(), m, err)
	}
	if m && err == nil {
		for _, p := range q.Pins() {
			if !pinHolds(ev, p) {
				t.Errorf("%q matched %s outside its pin %+v", q, ev.Raw(), p)
			}
		}
		if names, ok := q.EventNames(); ok {
			if x, _ := lookup(ev.Value(), []string{"eventName"}); x == nil || x.Type() != fastjson.TypeString || !slices.Contains(names, string(x.GetStringBytes())) {
				t.Errorf("%q matched %s outside its event names %q", q, ev.Raw(), names)
			}
		}
	}
	return r != Undecided
}

// pinHolds checks a pin as a folding index would: the field, read as gojq
// reads it, is text whose folded form equals (begins with, contains) a
// folded value.
func pinHolds(ev *event.Event, p Pin) bool {
	x, ok := lookup(ev.Value(), p.Path)
	if !ok || x == nil || x.Type() != fastjson.TypeString {
		return false
	}
	text := sigma.AppendFold(nil, x.GetStringBytes())
	for _, v := range p.Values {
		fv := sigma.AppendFold(nil, []byte(v))
		if bytes.Equal(text, fv) || p.Prefix && bytes.HasPrefix(text, fv) || p.Substring && bytes.Contains(text, fv) {
			return true
		}
	}
	return false
}

// FuzzEngine checks a query and an event of the fuzzer's choosing as
// TestEngineAgreesWithGojq does.
func FuzzEngine(f *testing.F) {
	f.Add(`select(.eventName == "ConsoleLogin" and (.userAgent | ascii_downcase | contains("k"))) | "\(.userIdentity.arn)"`, consoleLogin)
	f.Add(`select(.eventName | IN("A", "B")) | .x`, `{"eventName":"A","eventName":"B","x":{"y":1}}`)
	f.Add(`.errorCode // "" | test("^Access")`, `{"errorCode":false}`)
	f.Add(`select(has("errorCode") | not) | .userIdentity.type`, `{"userIdentity":[1]}`)
	for _, s := range hostileEvents {
		f.Add(`select(.eventName | test("^(ConsoleLogin|GetUser)$")) | .userIdentity.type`, s)
	}
	f.Fuzz(func(t *testing.T, src, rec string) {
		q, err := Compile(src, WithTimeout(50*time.Millisecond))
		if err != nil {
			return
		}
		ev, err := event.Parse([]byte(rec), event.Origin{Input: "fuzz"})
		if err != nil {
			return
		}
		checkEngine(t, q, ev)
	})
}

// TestPins reads the fields queries pin, of each kind.
func TestPins(t *testing.T) {
	tests := []struct {
		src   string
		pins  string
		names bool
	}{
		{`select(.eventName == "ConsoleLogin") | .userIdentity.arn`, `[{[eventName] [ConsoleLogin] false false false}]`, true},
		{`select(.eventName | IN("A", "B")) | select(.userIdentity.type == "Root")`, `[{[eventName] [A B] false false false} {[userIdentity type] [Root] false false false}]`, true},
		{`.eventName | test("^(Create|Delete)User$")`, `[{[eventName] [CreateUser DeleteUser] false false false}]`, true},
		{`.eventName | test("^Describe")`, `[{[eventName] [Describe] true false false}]`, false},
		{`.eventName | test("Policy")`, `[{[eventName] [Policy] false true false}]`, false},
		{`.eventName | test("policy"; "i")`, `[]`, false},
		{`select(.eventName | contains("Login"))`, `[{[eventName] [Login] false true false}]`, false},
		{`select(.errorCode | endswith("UnauthorizedOperation"))`, `[{[errorCode] [UnauthorizedOperation] false true false}]`, false},
		{`select(.userAgent | ascii_downcase | contains("kali"))`, `[{[userAgent] [kali] false true true}]`, false},
		{`select(.userAgent | ascii_downcase | contains("\u00e9"))`, `[]`, false},
		{`select((.errorCode // "") | startswith("AccessDenied"))`, `[{[errorCode] [AccessDenied] true false false}]`, false},
		{`select((.errorCode // "AccessDenied") | startswith("Access"))`, `[]`, false},
		{`select(.sourceIPAddress | startswith("203.0.113.")) or .userIdentity.type == "Root"`, `[]`, false},
		{`select(.a == "x" or .a | startswith("y"))`, `[]`, false},
		{`select(.a == "x" or (.a | startswith("y")))`, `[{[a] [x y] true false false}]`, false},
		{`select(.a == "x" and .a == "y")`, `[{[a] [] false false false}]`, false},
		{`def f: .; select(.eventName == "A")`, `[]`, false},
	}
	for _, tc := range tests {
		q, err := Compile(tc.src)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tc.src, err)
		}
		if got := fmt.Sprint(q.Pins()); got != tc.pins {
			t.Errorf("Pins(%q) = %s; want %s", tc.src, got, tc.pins)
		}
		if _, ok := q.EventNames(); ok != tc.names {
			t.Errorf("EventNames(%q) pinned = %v; want %v", tc.src, ok, tc.names)
		}
	}
}

// TestRegexpPin reads the texts, prefixes or fragment a regular expression
// cannot match without.
func TestRegexpPin(t *testing.T) {
	for _, tc := range []struct {
		re, want string
	}{
		{`^ConsoleLogin$`, `[ConsoleLogin] 0 true`},
		{`^(CreateUser|DeleteUser)$`, `[CreateUser DeleteUser] 0 true`},
		{`^CreateUser$|^DeleteUser$`, `[CreateUser DeleteUser] 0 true`},
		{`^(Authorize|Revoke)SecurityGroup(Ingress|Egress)$|^(Create|Delete)SecurityGroup$`, `[AuthorizeSecurityGroupIngress AuthorizeSecurityGroupEgress RevokeSecurityGroupIngress RevokeSecurityGroupEgress CreateSecurityGroup DeleteSecurityGroup] 0 true`},
		{`^Get(User|Policy)?$`, `[Get GetUser GetPolicy] 0 true`},
		{`^Describe`, `[Describe] 1 true`},
		{`^Describe|^List`, `[Describe List] 1 true`},
		{`^(Describe|GetUser$)`, `[Describe GetUser] 1 true`},
		{`UnauthorizedOperation$`, `[UnauthorizedOperation] 2 true`},
		{`stratus`, `[stratus] 2 true`},
		{`^.*Admin`, `[Admin] 2 true`},
		{`^A$B`, `[A] 2 true`}, // never matches: any pin holds
		{`^(A|.)$`, `[] 0 false`},
		{`(?i)^getuser$`, `[] 0 false`},
		{`^$`, `[] 0 false`},
		{`^a*$`, `[] 0 false`},
		{`a|b`, `[] 0 false`},
		{`^[0-9]+`, `[] 0 false`},
	} {
		values, kind, ok := regexpPin(tc.re)
		if got := fmt.Sprintf("%q %d %v", values, kind, ok); got != quoteWant(tc.want) {
			t.Errorf("regexpPin(%q) = %s; want %s", tc.re, got, tc.want)
		}
	}
}

// quoteWant writes the expected texts of a TestRegexpPin row as %q does.
func quoteWant(want string) string {
	list, rest, _ := strings.Cut(strings.TrimPrefix(want, "["), "] ")
	var q []string
	for _, w := range strings.Fields(list) {
		q = append(q, fmt.Sprintf("%q", w))
	}
	return "[" + strings.Join(q, " ") + "] " + rest
}
