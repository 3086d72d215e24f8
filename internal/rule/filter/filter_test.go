package filter_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/rule/filter"
)

// sample is a CloudTrail-shaped record with one field of each JSON type.
const sample = `{
  "eventName": "ConsoleLogin",
  "eventSource": "signin.amazonaws.com",
  "recipientAccountId": "012345678901",
  "errorCode": "Client.UnauthorizedOperation",
  "userAgent": "Mozilla/5.0 \"quoted\" \\ path",
  "userIdentity": {"type": "IAMUser", "userName": "Ev*ent"},
  "additionalEventData": {"MFAUsed": true},
  "requestParameters": {"instanceType": "c5.8xlarge", "count": 12, "ratio": -0.5, "big": 1e3, "maybe": null, "dotted.key": "d", "odd key": "o"},
  "resources": [{"ARN": "arn:aws:s3:::bucket"}, {"ARN": "arn:aws:s3:::other"}],
  "tags": [],
  "readOnly": false,
  "apiVersion": "2016-11-15"
}`

func TestMatchSemantics(t *testing.T) {
	ev := mustEvent(t, sample)
	tests := []struct {
		pattern string
		want    bool
	}{
		// Exact strings are case-sensitive; quoted and bare forms agree.
		{`{ $.eventName = ConsoleLogin }`, true},
		{`{ $.eventName = "ConsoleLogin" }`, true},
		{`{ $.eventName = consolelogin }`, false},
		{`{ $.eventName = Console }`, false},
		{`{ $.eventName != ConsoleLogin }`, false},
		{`{ $.eventName != SwitchRole }`, true},

		// Wildcards: leading, trailing, both; a * inside is literal.
		{`{ $.errorCode = "*UnauthorizedOperation" }`, true},
		{`{ $.errorCode = "Client.*" }`, true},
		{`{ $.errorCode = *Unauthorized* }`, true},
		{`{ $.errorCode = "AccessDenied*" }`, false},
		{`{ $.requestParameters.instanceType = *.8xlarge }`, true},
		{`{ $.requestParameters.instanceType = *.4xlarge }`, false},
		{`{ $.errorCode = "Client*Operation" }`, false},
		{`{ $.userIdentity.userName = "Ev*ent" }`, true},
		{`{ $.userIdentity.userName = "Event" }`, false},
		{`{ $.errorCode != "AccessDenied*" }`, true},
		{`{ $.errorCode = * }`, true},
		{`{ $.errorCode = "*" }`, true},

		// Escapes in quoted strings.
		{`{ $.userAgent = "Mozilla/5.0 \"quoted\" \\ path" }`, true},
		{`{ $.userAgent = "*\"quoted\"*" }`, true},

		// Numbers compare numerically with every operator.
		{`{ $.requestParameters.count = 12 }`, true},
		{`{ $.requestParameters.count = 12.0 }`, true},
		{`{ $.requestParameters.count = 1.2e1 }`, true},
		{`{ $.requestParameters.count != 12 }`, false},
		{`{ $.requestParameters.count > 11 }`, true},
		{`{ $.requestParameters.count >= 12 }`, true},
		{`{ $.requestParameters.count < 12 }`, false},
		{`{ $.requestParameters.count <= -12 }`, false},
		{`{ $.requestParameters.ratio < 0 }`, true},
		{`{ $.requestParameters.ratio = -0.5 }`, true},
		{`{ $.requestParameters.big = 1000 }`, true},
		{`{ $.requestParameters.big > 999.99 }`, true},
		// A string pattern against a number compares the number's text.
		{`{ $.requestParameters.count = "12" }`, true},
		{`{ $.requestParameters.count = 1* }`, true},
		// A number pattern against a string compares the text as written,
		// so account ids with a leading zero match.
		{`{ $.recipientAccountId = 012345678901 }`, true},
		{`{ $.recipientAccountId = 12345678901 }`, false},
		{`{ $.recipientAccountId != 12345678901 }`, true},
		// Ordering needs a JSON number.
		{`{ $.recipientAccountId > 1 }`, false},
		{`{ $.recipientAccountId < 1 }`, false},
		{`{ $.apiVersion > 2000 }`, false},

		// Booleans and null: only IS TRUE / IS FALSE / IS NULL and = * apply.
		{`{ $.additionalEventData.MFAUsed IS TRUE }`, true},
		{`{ $.additionalEventData.MFAUsed IS FALSE }`, false},
		{`{ $.readOnly IS FALSE }`, true},
		{`{ $.readOnly IS TRUE }`, false},
		{`{ $.additionalEventData.MFAUsed = "true" }`, false},
		{`{ $.additionalEventData.MFAUsed != "Yes" }`, false},
		{`{ $.additionalEventData.MFAUsed = * }`, true},
		{`{ $.requestParameters.maybe IS NULL }`, true},
		{`{ $.requestParameters.maybe = "null" }`, false},
		{`{ $.requestParameters.maybe != "x" }`, false},
		{`{ $.requestParameters.maybe NOT EXISTS }`, false},
		{`{ $.eventName IS TRUE }`, false},
		{`{ $.missing IS NULL }`, false},

		// Missing fields: = and != are both false; NOT EXISTS is true.
		{`{ $.missing = x }`, false},
		{`{ $.missing != x }`, false},
		{`{ $.missing != 5 }`, false},
		{`{ $.missing = * }`, false},
		{`{ $.missing NOT EXISTS }`, true},
		{`{ $.eventName NOT EXISTS }`, false},
		{`{ $.eventName.deeper NOT EXISTS }`, true},

		// Arrays and objects never match = or !=.
		{`{ $.userIdentity = IAMUser }`, false},
		{`{ $.userIdentity != IAMUser }`, false},
		{`{ $.resources != x }`, false},
		{`{ $.tags = * }`, false},

		// Array indexes.
		{`{ $.resources[0].ARN = "arn:aws:s3:::bucket" }`, true},
		{`{ $.resources[1].ARN = "arn:aws:s3:::*" }`, true},
		{`{ $.resources[2].ARN NOT EXISTS }`, true},
		{`{ $.resources[0] = x }`, false},
		{`{ $.userIdentity[0] NOT EXISTS }`, true},

		// Quoted property names.
		{`{ $.requestParameters.["dotted.key"] = d }`, true},
		{`{ $.requestParameters['odd key'] = o }`, true},
		{`{ $["eventName"] = ConsoleLogin }`, true},

		// %regex% values search anywhere in the text.
		{`{ $.eventSource = %amazonaws\.com$% }`, true},
		{`{ $.eventSource = %^signout% }`, false},
		{`{ $.eventSource != %^signout% }`, true},

		// Precedence: && binds tighter than ||; parentheses override.
		{`{ $.eventName = x || $.eventName = ConsoleLogin && $.eventSource = "signin.amazonaws.com" }`, true},
		{`{ $.eventName = ConsoleLogin || $.eventName = x && $.eventSource = nothing }`, true},
		{`{ ($.eventName = ConsoleLogin || $.eventName = x) && $.eventSource = nothing }`, false},
		{`{ (($.eventName = ConsoleLogin)) }`, true},

		// || lists of exact strings become one set lookup, with the same
		// rules: number fields compare by text, booleans never match.
		{`{ $.requestParameters.count = "11" || $.requestParameters.count = "12" }`, true},
		{`{ $.eventName = A || $.eventName = B || $.eventName = ConsoleLogin }`, true},
		{`{ $.eventName = A || $.eventName = B || $.eventName = consolelogin }`, false},
		{`{ $.readOnly = "false" || $.readOnly = "true" }`, false},
		{`{ $.resources = a || $.resources = b }`, false},
		{`{ $.missing = a || $.missing = b }`, false},

		// Bare words that only look like numbers are strings.
		{`{ $.apiVersion = 2016-11-15 }`, true},
		{`{ $.requestParameters.count = 1e }`, false},
		{`{ $.requestParameters.count = 12. }`, false},

		// Whitespace anywhere between tokens.
		{"{$.eventName=ConsoleLogin&&$.requestParameters.count>=12}", true},
		{"\n\t{ \n $.eventName \t = \r\n ConsoleLogin \n } \n", true},
	}
	for _, tt := range tests {
		f, err := filter.Compile(tt.pattern)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.pattern, err)
			continue
		}
		if got := f.Match(ev); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.pattern, got, tt.want)
		}
	}
}

func TestMatchNil(t *testing.T) {
	f := filter.MustCompile(`{ $.eventName NOT EXISTS }`)
	if f.Match(nil) {
		t.Error("a nil event matched")
	}
	var zero filter.Filter
	if zero.Match(mustEvent(t, sample)) || zero.String() != "" {
		t.Error("the zero Filter matched or printed")
	}
	if _, ok := zero.EventNames(); ok {
		t.Error("the zero Filter pins event names")
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		pattern string
		want    string
	}{
		{``, `filter: offset 0: the pattern is empty; only the JSON form { ... } is supported`},
		{`   `, `filter: offset 3: the pattern is empty; only the JSON form { ... } is supported`},
		{`ERROR`, `filter: offset 0: term pattern "ERROR" is not supported; only the JSON form { ... } is supported`},
		{`"Failed authentication"`, `filter: offset 0: term pattern "\"Failed authentication\"" is not supported; only the JSON form { ... } is supported`},
		{`?ERROR ?WARN`, `filter: offset 0: term pattern "?ERROR" is not supported; only the JSON form { ... } is supported`},
		{`%AUTHORIZED%`, `filter: offset 0: term pattern "%AUTHORIZED%" is not supported; only the JSON form { ... } is supported`},
		{`[ip, user, username, timestamp, request, status_code = 4*, bytes]`, `filter: offset 0: space-delimited patterns [ ... ] are not supported; only the JSON form { ... } is supported`},
		{`{ ($.eventName ConsoleLogin) }`, `filter: offset 15: expected an operator after $.eventName, got "ConsoleLogin"`},
		{`{ $.eventName == ConsoleLogin }`, `filter: offset 14: "==" is not an operator; use =`},
		{`{ $.eventName = = ConsoleLogin }`, `filter: offset 16: expected a value after =, got "="`},
		{`{ $.eventName = }`, `filter: offset 16: expected a value after =, got "}"`},
		{`{ $.eventName =`, `filter: offset 15: expected a value after =, got end of pattern`},
		{`{ $.eventName = ConsoleLogin`, `filter: offset 28: expected &&, || or "}" to close the "{" at offset 0, got end of pattern`},
		{`{ $.eventName = ConsoleLogin } x`, `filter: offset 31: unexpected "x" after the closing "}"`},
		{`{ $.eventName = ConsoleLogin $.eventSource = x }`, `filter: offset 29: expected &&, || or "}", got "$.eventSource"`},
		{`{ $.a = 1 & $.b = 2 }`, `filter: offset 10: expected &&, || or "}", got "&"`},
		{`{ ($.a = 1 }`, `filter: offset 11: expected &&, || or ")" to close the "(" at offset 2, got "}"`},
		{`{ }`, `filter: offset 2: expected a selector such as $.eventName or "(", got "}"`},
		{`{ eventName = x }`, `filter: offset 2: expected a selector such as $.eventName or "(", got "eventName"`},
		{`{ $.a = 1 && }`, `filter: offset 13: expected a selector such as $.eventName or "(", got "}"`},
		{`{ $ = 1 }`, `filter: offset 3: expected a property such as $.eventName after "$", got "="`},
		{`{ $eventName = 1 }`, `filter: offset 3: expected a property such as $.eventName after "$", got "eventName"`},
		{`{ $. = 1 }`, `filter: offset 4: expected a property name after "$.", got " "`},
		{`{ $.a. = 1 }`, `filter: offset 6: expected a property name after "$.a.", got " "`},
		{`{ $[0] = 1 }`, `filter: offset 3: an array index must follow a property name, as in $.users[0]`},
		{`{ $.users[x] = 1 }`, `filter: offset 9: expected an array index such as [0] after "$.users", got "x"`},
		{`{ $.users[0 = 1 }`, `filter: offset 9: expected an array index such as [0] after "$.users", got "0"`},
		{`{ $.users[99999999] = 1 }`, `filter: offset 10: array index 99999999 is larger than 1048576`},
		{`{ $.a.["b] = 1 }`, `filter: offset 7: unterminated quoted string; add the closing "`},
		{`{ $.a.["b" = 1 }`, `filter: offset 11: expected "]" after the quoted property name, got "="`},
		{`{ $.a IS MAYBE }`, `filter: offset 9: expected TRUE, FALSE or NULL after IS, got "MAYBE"`},
		{`{ $.a IS }`, `filter: offset 9: expected TRUE, FALSE or NULL after IS, got "}"`},
		{`{ $.a NOT NULL }`, `filter: offset 10: expected EXISTS after NOT, got "NULL"`},
		{`{ $.a EXISTS }`, `filter: offset 6: expected an operator after $.a, got "EXISTS"`},
		{`{ $.a is null }`, `filter: offset 6: expected an operator after $.a, got "is"`},
		{`{ $.latency > abc }`, `filter: offset 14: operator > needs a number, got "abc"`},
		{`{ $.latency <= "500" }`, `filter: offset 15: operator <= needs a number, got "\"500\""`},
		{`{ $.latency >= %5% }`, `filter: offset 15: operator >= needs a number, got "%5%"`},
		{`{ $.latency > 1e999 }`, `filter: offset 14: number 1e999 is out of range`},
		{`{ $.a = "unterminated }`, `filter: offset 8: unterminated quoted string; add the closing "`},
		{`{ $.a = user@example.com }`, `filter: offset 12: unexpected "@" after the value user; put values with other characters in double quotes`},
		{`{ $.a = %abc }`, `filter: offset 8: unterminated %regex% value "%abc }"`},
		{`{ $.a = %% }`, `filter: offset 8: empty %regex% value`},
		{`{ $.a = %(a|b)% }`, `filter: offset 9: parentheses are not supported in a %regex% value`},
		{`{ $.a = 1 || $.b = 2 } ` + strings.Repeat("x", 50), `filter: offset 23: unexpected "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..." after the closing "}"`},
		{`{ $.a = %[a% }`, "filter: offset 8: invalid %regex% value \"%[a%\": error parsing regexp: missing closing ]: `[a`"},
	}
	for _, tt := range tests {
		_, err := filter.Compile(tt.pattern)
		if err == nil {
			t.Errorf("Compile(%q) succeeded, want %s", tt.pattern, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Compile(%q):\n got %s\nwant %s", tt.pattern, err, tt.want)
		}
		var se *filter.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Compile(%q) error is %T, want *filter.SyntaxError", tt.pattern, err)
		}
	}
}

func TestCompileDepthLimit(t *testing.T) {
	deep := "{ "
	for range 101 {
		deep += "("
	}
	deep += "$.a = 1"
	for range 101 {
		deep += ")"
	}
	deep += " }"
	_, err := filter.Compile(deep)
	if err == nil || err.Error() != "filter: offset 102: parentheses are nested more than 100 deep" {
		t.Errorf("Compile(101 parentheses) = %v", err)
	}
	ok := "{ " + strings.Repeat("(", 100) + "$.a = 1" + strings.Repeat(")", 100) + " }"
	if _, err := filter.Compile(ok); err != nil {
		t.Errorf("Compile(100 parentheses): %v", err)
	}
}

func TestEventNames(t *testing.T) {
	tests := []struct {
		pattern string
		names   []string
		ok      bool
	}{
		{`{ $.eventName = ConsoleLogin }`, []string{"ConsoleLogin"}, true},
		{`{ $.eventName = "ConsoleLogin" && $.additionalEventData.MFAUsed = "No" }`, []string{"ConsoleLogin"}, true},
		{`{ ($.eventName = B) || ($.eventName = A) || ($.eventName = B) }`, []string{"A", "B"}, true},
		{`{ $.eventSource = kms.amazonaws.com && ($.eventName = DisableKey || $.eventName = ScheduleKeyDeletion) }`, []string{"DisableKey", "ScheduleKeyDeletion"}, true},
		{`{ ($.eventName = A || $.eventName = B) && ($.eventName = B || $.eventName = C) }`, []string{"B"}, true},
		{`{ $.eventName = A && $.eventName = B }`, []string{}, true},
		{`{ $.eventName = 123 }`, []string{"123"}, true},
		{`{ $.eventName = A || $.eventSource = x }`, nil, false},
		{`{ $.eventName = Console* }`, nil, false},
		{`{ $.eventName = *Login }`, nil, false},
		{`{ $.eventName = * }`, nil, false},
		{`{ $.eventName = %Login% }`, nil, false},
		{`{ $.eventName != ConsoleLogin }`, nil, false},
		{`{ $.eventName NOT EXISTS }`, nil, false},
		{`{ $.detail.eventName = ConsoleLogin }`, nil, false},
		{`{ $.errorCode = "AccessDenied*" }`, nil, false},
		{`{ $.eventName = A || ($.eventName = B && $.x = 1) }`, []string{"A", "B"}, true},
		{`{ $.eventName = A || ($.eventName = B* && $.x = 1) }`, nil, false},
		{`{ $["eventName"] = A }`, []string{"A"}, true},
	}
	for _, tt := range tests {
		f := filter.MustCompile(tt.pattern)
		names, ok := f.EventNames()
		if ok != tt.ok || !slices.Equal(names, tt.names) || (tt.ok && names == nil) {
			t.Errorf("%s: EventNames() = %q, %v; want %q, %v", tt.pattern, names, ok, tt.names, tt.ok)
		}
	}
	// The slice is the caller's.
	f := filter.MustCompile(`{ $.eventName = A }`)
	n, _ := f.EventNames()
	n[0] = "changed"
	if again, _ := f.EventNames(); again[0] != "A" {
		t.Error("EventNames returns shared memory")
	}
}

func TestString(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{`{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}`,
			`{ $.eventName = "ConsoleLogin" && $.errorMessage = "Failed authentication" }`},
		{`{ ($.eventName = RunInstances) && (($.requestParameters.instanceType = *.8xlarge) || ($.requestParameters.instanceType = *.4xlarge)) }`,
			`{ $.eventName = "RunInstances" && ($.requestParameters.instanceType = "*.8xlarge" || $.requestParameters.instanceType = "*.4xlarge") }`},
		{`{$.a = 1 || $.b IS NULL && $.c NOT EXISTS}`, `{ $.a = 1 || $.b IS NULL && $.c NOT EXISTS }`},
		{`{($.a = x || $.a = y) && $.b IS TRUE}`, `{ ($.a = "x" || $.a = "y") && $.b IS TRUE }`},
		{`{$.a[0][1].b != "q\"uote\\" && $.c = %^a.b$% && $.d >= -1.5e3 && $.e IS FALSE}`,
			`{ $.a[0][1].b != "q\"uote\\" && $.c = %^a.b$% && $.d >= -1.5e3 && $.e IS FALSE }`},
		{`{ $.['x.y'].z = "*" }`, `{ $.["x.y"].z = "*" }`},
	}
	for _, tt := range tests {
		f := filter.MustCompile(tt.pattern)
		if got := f.String(); got != tt.want {
			t.Errorf("String(%s):\n got %s\nwant %s", tt.pattern, got, tt.want)
		}
		again := filter.MustCompile(f.String())
		if again.String() != f.String() {
			t.Errorf("String is not stable: %s then %s", f.String(), again.String())
		}
	}
}

func TestConcurrentMatch(t *testing.T) {
	// Each goroutine has its own events; the compiled filters are shared.
	fs := make([]*filter.Filter, 0, 15)
	for _, c := range filter.CISControls() {
		fs = append(fs, filter.MustCompile(c.Pattern))
	}
	done := make(chan int)
	for range 4 {
		go func() {
			events := loadInvictus(t)
			n := 0
			for _, ev := range events {
				for _, f := range fs {
					if f.Match(ev) {
						n++
					}
				}
			}
			done <- n
		}()
	}
	first := <-done
	for range 3 {
		if n := <-done; n != first {
			t.Errorf("goroutines disagree: %d and %d matches", first, n)
		}
	}
	if first != 108 {
		t.Errorf("%d matches over the invictus records, want 108 (the sum of the CIS counts)", first)
	}
}
