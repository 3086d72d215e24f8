package fold

import (
	"testing"
)

func TestFields(t *testing.T) {
	for _, tc := range []struct {
		lang, src string
		want      int
	}{
		// Event patterns.
		{"pattern", `{"eventName":["ConsoleLogin"],"userIdentity":{"type":["Root"]},"responseElements":{"ConsoleLogin":["Failure"]}}`, 3},
		{"pattern", `{"eventName":["ConsoleLogin"],"responseElements":{"ConsoleLogin":["Failure"]}}`, 2},
		{"pattern", `{"eventName":["X"],"userAgent":[{"anything-but":{"prefix":"aws-internal"}}]}`, 1},
		{"pattern", `{"eventName":["X"],"errorCode":[{"exists":false}],"sourceIPAddress":[{"exists":true}]}`, 2},
		{"pattern", `{"eventName":["X"],"userAgent":["a",{"anything-but":"b"}]}`, 1},
		{"pattern", `{"detail":{"eventName":[{"prefix":"Delete"}],"requestParameters":{"size":[{"numeric":[">",5]}]}}}`, 2},
		{"pattern", `{"eventName":["X"],"$or":[{"a":["1"],"b":["2"]},{"c":["3"]}]}`, 2},
		{"pattern", `not json`, 0},
		// Filter patterns.
		{"filter", `{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}`, 1},
		{"filter", `{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }`, 3},
		{"filter", `{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail)}`, 1},
		{"filter", `{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}`, 2},
		{"filter", `{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}`, 1},
		{"filter", `{ $.a = "x && y" && $.b IS TRUE && $.c[0] >= 3 }`, 3},
		{"filter", `{ $.a = 1 || $.b NOT EXISTS }`, 0},
		{"filter", `ERROR`, 0},
		{"filter", `{ $.a = }`, 0},
		// jq.
		{"jq", `.eventName == "CreateUser" and .userIdentity.type == "Root"`, 2},
		{"jq", `select("AccessDenied" == .errorCode) | .eventName`, 1},
		{"jq", `.eventName | startswith("Delete")`, 0},
		{"other", `x`, 0},
	} {
		if got := Fields(tc.lang, tc.src); got != tc.want {
			t.Errorf("Fields(%s, %s) = %d, want %d", tc.lang, tc.src, got, tc.want)
		}
	}
}

// FuzzFields feeds arbitrary sources to the three readers: they must never
// panic, loop or count a negative number.
func FuzzFields(f *testing.F) {
	for _, s := range []string{
		`{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS}`,
		`{ (($.a = 1) || ($.b = "x\"y")) && $.c IS NULL }`,
		`{"eventName":["X"],"$or":[{"a":["1"]},{"c":[{"exists":true}]}]}`,
		`.a == 1 and .b.c == "x"`,
		`{(((((`, `{"$or":[[[]]]}`, `{ "!`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, lang := range []string{"pattern", "filter", "jq"} {
			if n := Fields(lang, src); n < 0 {
				t.Fatalf("Fields(%s, %q) = %d", lang, src, n)
			}
		}
	})
}
