package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fastjson"

	"github.com/trailwatch/trailwatch/internal/cli"
	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
)

// BenchmarkAlertCost runs `trailwatch check` (through cli.Main, as the
// binary does) over a log of 20,000 replicated Invictus events with a rule
// file of four rules per event name of the logs (a pattern, a filter, a jq
// query and a Sigma rule, each with a summary): "firing" rules hold on
// almost every event, so each event raises about four alerts; "quiet"
// rules are the same with a condition that never holds. Both load and
// match the same number of rules, so the difference in CPU time divided by
// the difference in alerts is what one alert costs: matching the rule that
// fires, making the alert, rendering its summary and writing it out as
// JSON or as the default table, to the null device.
func BenchmarkAlertCost(b *testing.B) {
	dir := b.TempDir()
	log := filepath.Join(dir, "111122223333_CloudTrail_us-east-1_20230710T1145Z_alerts.json.gz")
	f, err := os.Create(log)
	if err != nil {
		b.Fatal(err)
	}
	const events = 20_000
	ingesttest.WriteReplicaLog(b, f, events, gzip.DefaultCompression)
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	var names []string
	for _, rec := range ingesttest.InvictusRecords(b) {
		if n := fastjson.GetString(rec, "eventName"); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()
	for _, firing := range []bool{false, true} {
		kind := "quiet"
		if firing {
			kind = "firing"
		}
		rules := filepath.Join(dir, kind+".yaml")
		if err := os.WriteFile(rules, []byte(alertRules(names, firing)), 0o644); err != nil {
			b.Fatal(err)
		}
		for _, format := range []string{"json", "table"} {
			b.Run(kind+"/"+format, func(b *testing.B) {
				args := []string{"check", "--packs", "none", "--rules", rules, "--format", format, log}
				var stderr strings.Builder
				b.ReportAllocs()
				b.ResetTimer()
				cpu := cpuTime(b)
				for b.Loop() {
					stderr.Reset()
					if code := cli.Main(args, strings.NewReader(""), devNull, &stderr); code != 0 && code != 2 {
						b.Fatalf("check exited %d: %s", code, stderr.String())
					}
				}
				used := cpuTime(b) - cpu
				var seen, alerts int
				if _, err := fmt.Sscanf(stderr.String(), "%d events, %d alerts", &seen, &alerts); err != nil || seen != events {
					b.Fatalf("summary %q: %v", stderr.String(), err)
				}
				b.ReportMetric(float64(alerts), "alerts")
				b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// alertRules writes four rules per event name, firing or not.
func alertRules(names []string, firing bool) string {
	pt, ft, jt, st := `{type: [Root]}`, `$.userIdentity.type = "Root"`, `.userIdentity.type == "Root"`, `Root`
	if firing {
		pt, ft, jt, st = `{type: [{anything-but: Root}]}`, `$.userIdentity.type != "Root"`, `.userIdentity.type != "Root"`, `[IAMUser, AssumedRole, AWSService]`
	}
	var b strings.Builder
	b.WriteString("rules:\n")
	rule := func(id, lang, match string) {
		fmt.Fprintf(&b, "  - id: %s\n    title: %s rule\n    severity: low\n    summary: '{{.Principal}} called {{.Name}} from {{.SourceIP}}'\n    %s: %s\n", id, lang, lang, match)
	}
	for i, n := range names {
		rule(fmt.Sprintf("p-%03d", i), "pattern", fmt.Sprintf("{eventName: [%s], userIdentity: %s}", n, pt))
		rule(fmt.Sprintf("f-%03d", i), "filter", fmt.Sprintf("'{ ($.eventName = %s) && (%s) }'", n, ft))
		rule(fmt.Sprintf("j-%03d", i), "jq", fmt.Sprintf(`'select(.eventName == "%s" and %s) | .userIdentity.arn'`, n, jt))
		rule(fmt.Sprintf("s-%03d", i), "sigma", fmt.Sprintf("{title: s, logsource: {product: aws, service: cloudtrail}, detection: {sel: {eventName: %s, userIdentity.type: %s}, condition: sel}}", n, st))
	}
	return b.String()
}

// cpuTime returns the CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
