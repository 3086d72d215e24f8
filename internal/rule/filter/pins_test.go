package filter

import (
	"fmt"
	"testing"
)

func TestPins(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`{ $.eventName = ConsoleLogin && $.userIdentity.type = "Root" }`, `[{[eventName] [ConsoleLogin] false false} {[userIdentity type] [Root] false false}]`},
		{`{ $.sourceIPAddress = "203.0.113.*" }`, `[{[sourceIPAddress] [203.0.113.] true false}]`},
		{`{ $.userAgent = "*sqlmap*" }`, `[{[userAgent] [sqlmap] false true}]`},
		{`{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }`, `[{[errorCode] [AccessDenied UnauthorizedOperation] false true}]`},
		{`{ ($.eventName = A) || ($.eventName = B) }`, `[{[eventName] [A B] false false}]`},
		{`{ ($.eventName = A) || ($.errorCode = B) }`, `[]`},
		{`{ $.userName != "root" }`, `[]`},
		{`{ $.userName = * }`, `[]`},
		{`{ $.resources[0].ARN = "x" }`, `[]`},
		{`{ $.userIdentity.invokedBy NOT EXISTS }`, `[]`},
	} {
		f, err := Compile(tc.src)
		if err != nil {
			t.Fatalf("Compile(%s): %v", tc.src, err)
		}
		if got := fmt.Sprint(f.Pins()); got != tc.want {
			t.Errorf("Pins(%s) = %s; want %s", tc.src, got, tc.want)
		}
	}
}
