package rule_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/trailwatch/trailwatch/internal/rule"
)

// BenchmarkSigmaVsPattern matches the Invictus events against the same
// rules written twice, as Sigma rules and as EventBridge patterns: every
// event name of the logs, each with a second condition on the principal
// type and an unpinned user-agent rule. Compare the two within one run.
func BenchmarkSigmaVsPattern(b *testing.B) {
	evs := parsedInvictus(b)
	var names []string
	for _, ev := range evs {
		if !slices.Contains(names, ev.Name()) {
			names = append(names, ev.Name())
		}
	}
	var sg, pt strings.Builder
	sg.WriteString("rules:\n")
	pt.WriteString("rules:\n")
	for i, n := range names {
		fmt.Fprintf(&sg, "  - id: s-%04d\n    sigma: {title: s, logsource: {product: aws, service: cloudtrail}, detection: {sel: {eventName: %s, userIdentity.type: [Root, IAMUser]}, condition: sel}}\n", i, n)
		fmt.Fprintf(&pt, "  - id: p-%04d\n    title: p\n    severity: low\n    pattern: {eventName: [%s], userIdentity: {type: [Root, IAMUser]}}\n", i, n)
	}
	sg.WriteString("  - id: s-ua\n    sigma: {title: s, logsource: {product: aws, service: cloudtrail}, detection: {sel: {userAgent|contains: stratus-red-team}, condition: sel}}\n")
	pt.WriteString("  - id: p-ua\n    title: p\n    severity: low\n    pattern: {userAgent: [{wildcard: \"*stratus-red-team*\"}]}\n")
	for _, c := range []struct{ name, src string }{{"sigma", sg.String()}, {"pattern", pt.String()}} {
		rs, err := rule.LoadFS(fstest.MapFS{"gen.yaml": {Data: []byte(c.src)}}, ".")
		if err != nil {
			b.Fatal(err)
		}
		set, err := rule.NewSet(rs...)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s/rules=%d", c.name, len(rs)), func(b *testing.B) { benchMatch(b, set, evs) })
	}
}
