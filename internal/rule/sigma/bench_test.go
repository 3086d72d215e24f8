package sigma

import (
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/rule/pattern"
)

// benchCases are Sigma detections and the EventBridge patterns that say the
// same, so that the two languages' costs can be compared in one run.
var benchCases = []struct {
	name, sigma, pattern string
}{
	{"name-and-source",
		"    s:\n        eventSource: s3.amazonaws.com\n        eventName: [PutBucketVersioning, DeleteBucket]\n    condition: s",
		`{"eventSource":["s3.amazonaws.com"],"eventName":["PutBucketVersioning","DeleteBucket"]}`},
	{"contains-in-object",
		"    s:\n        eventName: PutBucketVersioning\n        requestParameters.VersioningConfiguration.Status|contains: suspend\n    condition: s",
		`{"eventName":["PutBucketVersioning"],"requestParameters":{"VersioningConfiguration":{"Status":[{"wildcard":"*Suspend*"}]}}}`},
	{"user-agent-and-not",
		"    s:\n        userAgent|contains: trufflehog\n    f:\n        userIdentity.type: Root\n    condition: s and not f",
		`{"userAgent":[{"wildcard":"*TruffleHog*"}],"userIdentity":{"type":[{"anything-but":"Root"}]}}`},
	{"other-event",
		"    s:\n        eventSource: cloudtrail.amazonaws.com\n        eventName: StopLogging\n    condition: s",
		`{"eventSource":["cloudtrail.amazonaws.com"],"eventName":["StopLogging"]}`},
}

// BenchmarkMatch compares a Sigma rule with the equivalent pattern on the
// same event. Absolute figures depend on the machine; compare the two
// languages within one run.
func BenchmarkMatch(b *testing.B) {
	e := event.MustParse(ev)
	for _, c := range benchCases {
		r, err := Parse([]byte(doc(c.sigma)))
		if err != nil {
			b.Fatal(err)
		}
		p, err := pattern.Compile([]byte(c.pattern))
		if err != nil {
			b.Fatal(err)
		}
		if r.Match(e) != p.Match(e) {
			b.Fatalf("%s: the Sigma rule and the pattern disagree", c.name)
		}
		b.Run(c.name+"/sigma", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Match(e)
			}
		})
		b.Run(c.name+"/pattern", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Match(e)
			}
		})
	}
}
