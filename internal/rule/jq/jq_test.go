package jq

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
)

// consoleLogin is the IAM user console sign-in example from the CloudTrail
// user guide (see ../testdata/README.md).
const consoleLogin = `{"eventVersion":"1.05","userIdentity":{"type":"IAMUser","principalId":"AIDACKCEVSQ6C2EXAMPLE","arn":"arn:aws:iam::111122223333:user/JohnDoe","accountId":"111122223333","userName":"JohnDoe"},"eventTime":"2014-07-16T15:49:27Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-2","sourceIPAddress":"192.0.2.110","userAgent":"Mozilla/5.0","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MobileVersion":"No","LoginTo":"https://console.aws.amazon.com/s3/","MFAUsed":"No"},"eventID":"3fcfb182-98f8-4744-bd45-10a395ab61cb","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333","count":3,"ratio":0.5,"big":123456789012345678901234}`

const createUser = `{"eventVersion":"1.08","userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2023-07-10T11:50:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","requestParameters":{"userName":"backdoor"},"responseElements":{"user":{"userName":"backdoor"}},"eventID":"e1","eventType":"AwsApiCall","recipientAccountId":"111122223333"}`

func TestMatchTattletailRules(t *testing.T) {
	login := event.MustParse(consoleLogin)
	create := event.MustParse(createUser)
	tests := []struct {
		name  string
		query string
		ev    *event.Event
		match bool
		ann   string
	}{
		{"select then field annotates", `select(.eventName == "ConsoleLogin") | .userIdentity.arn`, login, true, "arn:aws:iam::111122223333:user/JohnDoe"},
		{"select on other event", `select(.eventName == "ConsoleLogin") | .userIdentity.arn`, create, false, ""},
		{"boolean true", `.eventName == "ConsoleLogin"`, login, true, ""},
		{"boolean false", `.eventName == "ConsoleLogin"`, create, false, ""},
		{"null result", `.missing`, login, false, ""},
		{"object result as compact JSON", `select(.eventName == "CreateUser") | {who: .userIdentity.type, user: .requestParameters.userName}`, create, true, `{"user":"backdoor","who":"Root"}`},
		{"number result", `.count`, login, true, "3"},
		{"float kept", `.ratio * 2`, login, true, "1"},
		{"integer arithmetic", `.count + 1`, login, true, "4"},
		{"big integer kept exactly", `.big`, login, true, "123456789012345678901234"},
		{"empty is no match", `empty`, login, false, ""},
		{"null first, later output ignored", `null, "after null"`, login, false, ""},
		{"false first, later true ignored", `false, true`, login, false, ""},
		{"first output only", `"first", "second"`, login, true, "first"},
		{"true first, later error never run", `true, error("later")`, login, true, ""},
		{"select returns the record: no annotation", `select(.eventName == "CreateUser")`, create, true, ""},
		{"identity after select: no annotation", `select(.eventName == "CreateUser") | .`, create, true, ""},
		{"a copy of the record: no annotation", `. + {}`, create, true, ""},
		{"the record rebuilt field by field: no annotation", `{eventVersion, userIdentity, eventTime, eventSource, eventName, awsRegion, sourceIPAddress, requestParameters, responseElements, eventID, eventType, recipientAccountId}`, create, true, ""},
		{"the record rebuilt with a literal: no annotation", `{eventVersion, userIdentity, eventTime, eventSource, eventName, awsRegion, sourceIPAddress, requestParameters, responseElements, eventID, eventType, recipientAccountId: "111122223333"}`, create, true, ""},
		{"the record less a field annotates", `select(.eventName == "CreateUser") | del(.eventID) | {eventName, eventType}`, create, true, `{"eventName":"CreateUser","eventType":"AwsApiCall"}`},
		{"a changed record annotates", `select(.eventName == "CreateUser") | .eventID = "x" | .eventID`, create, true, "x"},
		{"halt is no match", `halt`, login, false, ""},
		{"tattletail root usage", `select(.userIdentity.type == "Root" and .eventType != "AwsServiceEvent") | "root used \(.eventName) from \(.sourceIPAddress)"`, create, true, "root used CreateUser from 198.51.100.7"},
		{"env is empty", `env | length == 0`, login, true, ""},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Compile(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			m, ann, err := q.Match(ctx, tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			if m != tc.match || ann != tc.ann {
				t.Errorf("Match = %v, %q; want %v, %q", m, ann, tc.match, tc.ann)
			}
		})
	}
}

func TestCompileErrorNamesOffset(t *testing.T) {
	tests := []struct{ src, want string }{
		{`select(.eventName == )`, `jq: syntax error at offset 22: unexpected token ")"`},
		{`.a | `, `jq: syntax error at offset 5: unexpected EOF`},
		{`"abc`, `jq: syntax error at offset 4: unterminated string literal`},
		{`nosuchfunc(1)`, `jq: compile error: function not defined: nosuchfunc/1`},
	}
	for _, tc := range tests {
		_, err := Compile(tc.src)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Compile(%q) error = %v; want %q", tc.src, err, tc.want)
		}
	}
}

// TestFirstOutputError: an error as the first output is no match, and
// reported; an error after a first output is never reached.
func TestFirstOutputError(t *testing.T) {
	q, err := Compile(`error("boom"), true`)
	if err != nil {
		t.Fatal(err)
	}
	m, ann, err := q.Match(context.Background(), event.MustParse(createUser))
	if m || ann != "" || err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Match = %v, %q, %v; want no match and the error", m, ann, err)
	}
}

// TestWholeRecordOnSharedValue decides the select form on a Value shared
// with a query that converted only some fields first.
func TestWholeRecordOnSharedValue(t *testing.T) {
	ev := event.MustParse(createUser)
	v := NewValue(ev)
	partial, err := Compile(`.eventName`)
	if err != nil {
		t.Fatal(err)
	}
	if m, ann, err := partial.MatchValue(context.Background(), v); !m || ann != "CreateUser" || err != nil {
		t.Fatalf("partial query: %v, %q, %v", m, ann, err)
	}
	rebuilt, err := Compile(`{eventVersion, userIdentity, eventTime, eventSource, eventName, awsRegion, sourceIPAddress, requestParameters, responseElements, eventID, eventType, recipientAccountId: "111122223333"}`)
	if err != nil {
		t.Fatal(err)
	}
	if m, ann, err := rebuilt.MatchValue(context.Background(), v); !m || ann != "" || err != nil {
		t.Errorf("rebuilt record: %v, %q, %v; want a match without annotation", m, ann, err)
	}
	sel, err := Compile(`select(.eventName == "CreateUser")`)
	if err != nil {
		t.Fatal(err)
	}
	if m, ann, err := sel.MatchValue(context.Background(), v); !m || ann != "" || err != nil {
		t.Errorf("select: %v, %q, %v; want a match without annotation", m, ann, err)
	}
}

func TestRuntimeErrorIsReported(t *testing.T) {
	q, err := Compile(`.userIdentity.type + 1`)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := q.Match(context.Background(), event.MustParse(createUser))
	if m || err == nil || !strings.HasPrefix(err.Error(), "jq: runtime error: cannot add: string") {
		t.Errorf("Match = %v, %v; want a runtime error", m, err)
	}
}

func TestTimeout(t *testing.T) {
	q, err := Compile(`def f: f; f`, WithTimeout(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err = q.Match(context.Background(), event.MustParse(createUser))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("query ran %v past its timeout", d)
	}
}

func TestEventNames(t *testing.T) {
	tests := []struct {
		src   string
		names []string
		ok    bool
	}{
		{`select(.eventName == "ConsoleLogin") | .userIdentity.arn`, []string{"ConsoleLogin"}, true},
		{`.eventName == "ConsoleLogin"`, []string{"ConsoleLogin"}, true},
		{`"ConsoleLogin" == .eventName and .userIdentity.type == "Root"`, []string{"ConsoleLogin"}, true},
		{`select(.eventName == "StopLogging" or .eventName == "DeleteTrail")`, []string{"StopLogging", "DeleteTrail"}, true},
		{`select(.userIdentity.type == "Root") | select(.eventName == "CreateUser") | .x`, []string{"CreateUser"}, true},
		{`select((.eventName == "A")) | .x`, []string{"A"}, true},
		{`select(."eventName" == "A")`, []string{"A"}, true},
		{`select(.eventName == "A" or .userIdentity.type == "Root")`, nil, false},
		{`.eventName != "A"`, nil, false},
		{`(.eventName == "A") | not`, nil, false},
		{`def select(f): .; select(.eventName == "A")`, nil, false},
		{`.eventName == "A" | not`, nil, false},
		{`select(.eventName? == "A")`, nil, false},
		{`.userIdentity.arn`, nil, false},
	}
	for _, tc := range tests {
		q, err := Compile(tc.src)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tc.src, err)
		}
		names, ok := q.EventNames()
		if ok != tc.ok || !slices.Equal(names, tc.names) {
			t.Errorf("EventNames(%q) = %q, %v; want %q, %v", tc.src, names, ok, tc.names, tc.ok)
		}
	}
}

// TestEventNamesSound checks that a pinned query never matches an event whose
// name it does not list.
func TestEventNamesSound(t *testing.T) {
	srcs := []string{
		`select(.eventName == "ConsoleLogin") | .userIdentity.arn`,
		`.eventName == "ConsoleLogin" and true`,
		`select(.eventName == "CreateUser" or .eventName == "ConsoleLogin") | 1`,
	}
	evs := []*event.Event{event.MustParse(consoleLogin), event.MustParse(createUser)}
	for _, src := range srcs {
		q, err := Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		names, ok := q.EventNames()
		if !ok {
			t.Fatalf("%q not pinned", src)
		}
		for _, ev := range evs {
			m, _, err := q.Match(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if m && !slices.Contains(names, ev.Name()) {
				t.Errorf("%q matched %s outside its names %q", src, ev.Name(), names)
			}
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`select(.eventName == "ConsoleLogin") | .userIdentity.arn`,
		`.eventName == "A" and .b`, `"\(1)"`, `select(.userIdentity.type == "IAMUser" and .requestParameters == null)`,
		`.additionalEventData.MFAUsed == "No" and .readOnly == false`, `{eventName, n: (.count + 1)}`,
		`if .eventName == "X" then .a else .userIdentity end`, `select(.a) | keys`, `.userIdentity | keys`,
		`. as $e | $e.eventName`, `[.[]]`, `"\(.userIdentity.arn) at \(.eventTime)"`, `@json`, `.userIdentity.type == "IAMUser" and .readOnly == null`,
		`select(.eventName == "ConsoleLogin") | select(.additionalEventData.MFAUsed == "No") | .userIdentity.userName`,
		`select(.eventName == "ConsoleLogin") | .responseElements`, `select(.eventName == "ConsoleLogin") | .eventName.x`, `def f: .; f`, `.[`, `..`, `.a as $x | $x`,
	} {
		f.Add(s)
	}
	ev := event.MustParse(consoleLogin)
	f.Fuzz(func(t *testing.T, src string) {
		q, err := Compile(src, WithTimeout(50*time.Millisecond))
		if err != nil {
			return
		}
		m, ann, err := q.MatchInput(context.Background(), Input(ev))
		// Converting only the fields the query reads changes nothing.
		pm, pann, perr := q.MatchValue(context.Background(), NewValue(ev))
		if pm != m || pann != ann || (perr == nil) != (err == nil) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(perr, context.DeadlineExceeded) {
				t.Errorf("%q: partial input gives %v %q %v; whole event gives %v %q %v", src, pm, pann, perr, m, ann, err)
			}
		}
		if err == nil && m {
			if names, ok := q.EventNames(); ok && !slices.Contains(names, ev.Name()) {
				t.Errorf("%q matched outside its pinned names %q", src, names)
			}
			if q.Rejects(ev) {
				t.Errorf("%q matched an event its guards reject", src)
			}
		}
		// What Quick decides without gojq is what gojq says.
		if r, qann := q.Quick(ev); r != Undecided && err == nil {
			if (r == Matched) != m || qann != ann {
				t.Errorf("%q: Quick gives %v %q; gojq gives %v %q", src, r, qann, m, ann)
			}
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	q, err := Compile(`select(.eventName == "ConsoleLogin") | .userIdentity.arn`)
	if err != nil {
		b.Fatal(err)
	}
	ev := event.MustParse(consoleLogin)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if m, _, err := q.Match(ctx, ev); !m || err != nil {
			b.Fatal(m, err)
		}
	}
}

func TestGuards(t *testing.T) {
	login := event.MustParse(consoleLogin)
	tests := []struct {
		src     string
		rejects bool
	}{
		{`select(.userIdentity.type == "Root") | .eventName`, true},
		{`select(.userIdentity.type == "IAMUser") | .eventName`, false},
		{`select(.eventName == "ConsoleLogin" and .additionalEventData.MFAUsed == "Yes")`, true},
		{`select(.eventName == "ConsoleLogin" and .additionalEventData.MFAUsed == "No")`, false},
		{`select(.requestParameters == null) | 1`, false},
		{`select(.responseElements == null) | 1`, true},
		{`.readOnly == false`, true},
		{`select(."userIdentity"."type" == "Root")`, true},
		{`select(.userIdentity.type == "Root" or true)`, false},
		{`select(.userIdentity.type? == "Root")`, false},
		{`.userIdentity.type == "Root" | not`, false},
		{`select(.x == 1)`, false},
	}
	for _, tc := range tests {
		q, err := Compile(tc.src)
		if err != nil {
			t.Fatal(err)
		}
		if got := q.Rejects(login); got != tc.rejects {
			t.Errorf("Rejects(%q) = %v; want %v", tc.src, got, tc.rejects)
		}
		// A rejected event must not match when the query runs anyway.
		if m, _, err := q.MatchInput(context.Background(), Input(login)); tc.rejects && m && err == nil {
			t.Errorf("%q matches an event its guards reject", tc.src)
		}
	}
}

func TestRootKeys(t *testing.T) {
	tests := []struct {
		src  string
		keys []string
		ok   bool
	}{
		{`select(.eventName == "ConsoleLogin") | .userIdentity.arn`, []string{"eventName", "userIdentity"}, true},
		{`select(.userIdentity.type == "Root" and .eventType != "AwsServiceEvent") | "root used \(.eventName) from \(.sourceIPAddress)"`, []string{"eventName", "eventType", "sourceIPAddress", "userIdentity"}, true},
		{`{eventName, who: .userIdentity.arn}`, []string{"eventName", "userIdentity"}, true},
		{`.userIdentity | keys`, []string{"userIdentity"}, true},
		{`.requestParameters[.eventName]`, []string{"eventName", "requestParameters"}, true},
		{`if .a then .b else .c end`, []string{"a", "b", "c"}, true},
		{`.userIdentity as $u | select($u.type == "Root") | .eventName`, []string{"eventName", "userIdentity"}, true},
		{`select(.eventName == "ConsoleLogin")`, nil, false},
		{`.`, nil, false},
		{`keys`, nil, false},
		{`tostring`, nil, false},
		{`..`, nil, false},
		{`. as $e | $e.eventName`, nil, false},
		{`if .a then .b end`, nil, false},
		{`.[]`, nil, false},
		{`.[.k]`, nil, false},
		{`@json`, nil, false},
		{`def f: .; f`, nil, false},
		{`.a |= 1`, nil, false},
		{`reduce .a[] as $x (0; . + $x)`, nil, false},
		{`select(.a) | select(.b)`, nil, false},
		{`select(.a) | .b`, []string{"a", "b"}, true},
	}
	for _, tc := range tests {
		q, err := Compile(tc.src)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tc.src, err)
		}
		if q.partial != tc.ok || !slices.Equal(q.keys, tc.keys) {
			t.Errorf("rootKeys(%q) = %q, %v; want %q, %v", tc.src, q.keys, q.partial, tc.keys, tc.ok)
		}
	}
}

func TestValueSharedAcrossQueries(t *testing.T) {
	ev := event.MustParse(createUser)
	v := NewValue(ev)
	a, _ := Compile(`select(.eventName == "CreateUser") | .requestParameters.userName`)
	b, _ := Compile(`.userIdentity | keys | join(",")`)
	c, _ := Compile(`keys | length`)
	for _, tc := range []struct {
		q    *Query
		want string
	}{{a, "backdoor"}, {b, "accountId,arn,type"}, {c, "12"}, {a, "backdoor"}} {
		m, ann, err := tc.q.MatchInput(context.Background(), v.For(tc.q))
		if err != nil || !m || ann != tc.want {
			t.Errorf("%s = %v %q %v; want %q", tc.q, m, ann, err, tc.want)
		}
	}
}

func TestQuick(t *testing.T) {
	login := event.MustParse(consoleLogin)
	tests := []struct {
		src string
		out Outcome
		ann string
	}{
		{`select(.eventName == "ConsoleLogin") | .userIdentity.arn`, Matched, "arn:aws:iam::111122223333:user/JohnDoe"},
		{`select(.eventName == "CreateUser") | .userIdentity.arn`, NotMatched, ""},
		{`select(.eventName == "ConsoleLogin") | .userIdentity.missing`, NotMatched, ""},
		{`select(.eventName == "ConsoleLogin") | .requestParameters.x`, NotMatched, ""},
		{`select(.eventName == "ConsoleLogin") | select(.additionalEventData.MFAUsed == "No") | .userIdentity.userName`, Matched, "JohnDoe"},
		{`.eventName == "ConsoleLogin" and .userIdentity.type == "IAMUser"`, Matched, ""},
		{`.eventName == "ConsoleLogin" and .userIdentity.type == "Root"`, NotMatched, ""},
		// Results that are not text are written as gojq writes them.
		{`select(.eventName == "ConsoleLogin") | .responseElements`, Matched, `{"ConsoleLogin":"Success"}`},
		{`select(.eventName == "ConsoleLogin") | .count`, Matched, "3"},
		{`select(.eventName == "ConsoleLogin") | .userIdentity.arn | ascii_downcase`, Matched, "arn:aws:iam::111122223333:user/johndoe"},
		{`select(.eventName == "ConsoleLogin" or .x == "y") | .eventName`, Matched, "ConsoleLogin"},
		// Paths through text, where gojq stops with an error, and
		// functions Quick does not know go to gojq.
		{`select(.eventName == "ConsoleLogin") | .eventName.x`, Undecided, ""},
		{`select(.eventName.x == "y")`, Undecided, ""},
		{`select(.eventName | length > 3)`, Undecided, ""},
		{`select(.eventName | ascii_downcase | startswith("console")) | "\(.userIdentity.userName) signed in, MFA \(.additionalEventData.MFAUsed)"`, Matched, "JohnDoe signed in, MFA No"},
		{`select(.userIdentity.type | IN("Root", "IAMUser")) | select(has("errorCode") | not) | .sourceIPAddress`, Matched, "192.0.2.110"},
		{`select(.errorCode // "" | test("^AccessDenied|UnauthorizedOperation$"))`, NotMatched, ""},
		{`.count | startswith("3")`, Undecided, ""},
		{`select(.count == 3)`, Undecided, ""},
	}
	for _, tc := range tests {
		q, err := Compile(tc.src)
		if err != nil {
			t.Fatal(err)
		}
		out, ann := q.Quick(login)
		if out != tc.out || ann != tc.ann {
			t.Errorf("Quick(%q) = %v %q; want %v %q", tc.src, out, ann, tc.out, tc.ann)
		}
		// Match agrees with gojq whatever Quick decided.
		m, mann, merr := q.Match(context.Background(), login)
		g, gann, gerr := q.MatchInput(context.Background(), Input(login))
		if m != g || mann != gann || (merr == nil) != (gerr == nil) {
			t.Errorf("%q: Match = %v %q %v; gojq = %v %q %v", tc.src, m, mann, merr, g, gann, gerr)
		}
	}
}
