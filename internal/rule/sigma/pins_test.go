package sigma

import (
	"fmt"
	"testing"
)

func TestPins(t *testing.T) {
	doc := func(detection string) string {
		return "title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n" + detection
	}
	for _, tc := range []struct{ detection, want string }{
		{"  sel: {eventSource: s3.amazonaws.com, eventName: [PutBucketPolicy, DeleteBucketPolicy]}\n  condition: sel\n",
			`[{[eventSource] [s3.amazonaws.com] false false} {[eventName] [DeleteBucketPolicy PutBucketPolicy] false false}]`},
		{"  sel: {userAgent|contains: [pacu, kali]}\n  condition: sel\n", `[{[userAgent] [KALI PACU] false true}]`},
		{"  sel: {userAgent|contains|cased: Pacu}\n  condition: sel\n", `[{[userAgent] [Pacu] false true}]`},
		{"  sel: {sourceIPAddress|startswith: '203.0.113.'}\n  condition: sel\n", `[{[sourceIPAddress] [203.0.113.] true false}]`},
		{"  sel: {userIdentity.type: Root}\n  condition: sel\n", `[{[userIdentity type] [Root] false false}]`},
		{"  a: {userName: alice}\n  b: {userName: bob}\n  condition: a or b\n", `[{[userName] [alice bob] false false}]`},
		{"  a: {userName: alice}\n  b: {errorCode: x}\n  condition: a or b\n", `[]`},
		{"  a: {userName: alice}\n  b: {errorCode: x}\n  condition: a and not b\n", `[{[userName] [alice] false false}]`},
		{"  sel: {userName|contains|all: [a, b]}\n  condition: sel\n", `[]`},
		{"  sel: {userName: 'a?c'}\n  condition: sel\n", `[]`},
		{"  sel: {userName: [a, null]}\n  condition: sel\n", `[]`},
	} {
		r, err := Parse([]byte(doc(tc.detection)))
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.detection, err)
		}
		if got := fmt.Sprint(r.Pins()); got != tc.want {
			t.Errorf("Pins(%q) = %s; want %s", tc.detection, got, tc.want)
		}
	}
	if got := fmt.Sprint(Groupings([]string{"a", "b", "c"})); got != "[[a.b c] [a b.c] [a.b.c]]" {
		t.Errorf("Groupings = %s", got)
	}
}
