package pattern

import (
	"testing"
)

// BenchmarkMatch matches typical rule patterns against every record of a
// real CloudTrail log file (394 records from the Invictus AWS dataset),
// loaded and parsed once. One op is one Match call.
//
//	go test -run '^$' -bench BenchmarkMatch -benchmem ./internal/rule/pattern/
func BenchmarkMatch(b *testing.B) {
	evs := invictusEvents(b)
	cases := []struct{ name, src string }{
		{"exact", `{"eventName":["ConsoleLogin"],"userIdentity":{"type":["Root"]}}`},
		{"envelope", `{"source":["aws.signin"],"detail-type":["AWS Console Sign In via CloudTrail"],"detail":{"eventName":["ConsoleLogin"],"userIdentity":{"type":["Root"]}}}`},
		{"anything-but", `{"eventSource":["secretsmanager.amazonaws.com"],"userAgent":[{"anything-but":{"prefix":"aws-internal"}}],"errorCode":[{"exists":false}]}`},
		{"prefix-suffix", `{"eventName":[{"prefix":"Get"},{"prefix":"Describe"}],"userIdentity":{"arn":[{"suffix":":user/bert-jan"}]}}`},
		{"wildcard-fold", `{"userAgent":[{"wildcard":"*stratus-red-team*"}],"eventName":[{"equals-ignore-case":"assumerole"}]}`},
		{"or-many-names", `{"$or":[{"eventName":["StopLogging","DeleteTrail","UpdateTrail","PutEventSelectors","DeleteFlowLogs","LeaveOrganization","CreateAccessKey","CreateLoginProfile","PutRolePolicy"]},{"errorCode":[{"prefix":"AccessDenied"}]}]}`},
		{"cidr-numeric", `{"sourceIPAddress":[{"cidr":"192.168.0.0/16"},{"cidr":"2001:db8::/32"}],"requestParameters":{"durationSeconds":[{"numeric":[">=",900,"<=",3600]}]}}`},
	}
	for _, c := range cases {
		p := mustCompile(b, c.src)
		b.Run(c.name, func(b *testing.B) {
			matched := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if p.Match(evs[i%len(evs)]) {
					matched++
				}
			}
			b.ReportMetric(float64(matched)/float64(b.N), "matches/op")
		})
	}
}

// BenchmarkCompile compiles the envelope root-login pattern.
func BenchmarkCompile(b *testing.B) {
	src := []byte(`{"source":["aws.signin"],"detail-type":["AWS Console Sign In via CloudTrail"],"detail":{"eventName":["ConsoleLogin"],"userIdentity":{"type":["Root"]}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(src); err != nil {
			b.Fatal(err)
		}
	}
}
