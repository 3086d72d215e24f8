package pattern

import (
	"fmt"
	"testing"
)

func TestPins(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`{"eventName": ["ConsoleLogin"], "userIdentity": {"type": ["Root", "IAMUser"]}}`, `[{[eventName] [ConsoleLogin] false false} {[userIdentity type] [IAMUser Root] false false}]`},
		{`{"sourceIPAddress": [{"prefix": "203.0.113."}]}`, `[{[sourceIPAddress] [203.0.113.] true false}]`},
		{`{"sourceIPAddress": ["192.0.2.1", {"prefix": "203.0.113."}]}`, `[{[sourceIPAddress] [192.0.2.1 203.0.113.] true false}]`},
		{`{"userAgent": [{"wildcard": "*sqlmap*"}]}`, `[{[userAgent] [sqlmap] false true}]`},
		{`{"userAgent": [{"wildcard": "Boto3/*/kali*"}]}`, `[{[userAgent] [Boto3/] true false}]`},
		{`{"errorCode": [{"suffix": "UnauthorizedOperation"}, {"prefix": "AccessDenied"}]}`, `[{[errorCode] [AccessDenied UnauthorizedOperation] false true}]`},
		{`{"userName": [{"equals-ignore-case": "Mallory"}]}`, `[{[userName] [Mallory] false false}]`},
		{`{"userName": [{"equals-ignore-case": "Mällory"}]}`, `[]`},
		{`{"userName": [{"prefix": {"equals-ignore-case": "adm"}}]}`, `[{[userName] [adm] true false}]`},
		{`{"userName": [{"anything-but": "root"}]}`, `[]`},
		{`{"userName": ["a", {"exists": false}]}`, `[]`},
		{`{"userAgent": [{"wildcard": "*"}]}`, `[]`},
		{`{"$or": [{"userName": ["a"]}, {"userName": ["b"], "errorCode": ["x"]}]}`, `[{[userName] [a b] false false}]`},
		{`{"$or": [{"userName": ["a"]}, {"errorCode": ["x"]}]}`, `[]`},
		{`{"source": ["aws.s3"], "detail": {"userName": ["a"]}}`, `[]`},
	} {
		p, err := Compile([]byte(tc.src))
		if err != nil {
			t.Fatalf("Compile(%s): %v", tc.src, err)
		}
		if got := fmt.Sprint(p.Pins()); got != tc.want {
			t.Errorf("Pins(%s) = %s; want %s", tc.src, got, tc.want)
		}
	}
}
