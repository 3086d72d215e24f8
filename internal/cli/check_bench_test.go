package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
	"github.com/trailwatch/trailwatch/internal/rule"
	"github.com/trailwatch/trailwatch/rules"
)

// replicaLog writes a gzip CloudTrail log file of n events made by
// repeating the records of the Invictus logs, each copy with fresh
// eventIDs, and returns its path and event count.
func replicaLog(tb testing.TB, n int) (string, int) {
	tb.Helper()
	name := filepath.Join(tb.TempDir(), "111122223333_CloudTrail_us-east-1_20230710T1145Z_replica.json.gz")
	f, err := os.Create(name)
	if err != nil {
		tb.Fatal(err)
	}
	ingesttest.WriteReplicaLog(tb, f, n, gzip.DefaultCompression)
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return name, n
}

// BenchmarkCheckEndToEnd runs what `trailwatch check --format json` does
// over a gzip log of about 100,000 events with every built-in pack: read and
// gunzip the file, decode and parse each record, match the rule set, render
// summaries and write the alerts as JSON lines (to io.Discard). The
// sub-benchmarks split the cost: "ingest" reads the file with no rules,
// "rules" adds matching and summaries, "json" is the whole command.
func BenchmarkCheckEndToEnd(b *testing.B) {
	rs, err := rule.Load(rule.Selection{Builtin: rules.FS})
	if err != nil {
		b.Fatal(err)
	}
	all, err := rule.NewSet(rs...)
	if err != nil {
		b.Fatal(err)
	}
	none, err := rule.NewSet()
	if err != nil {
		b.Fatal(err)
	}
	name, n := replicaLog(b, 100_000)
	info, err := os.Stat(name)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		set    *rule.Set
		format string
	}{{"ingest", none, ""}, {"rules", all, ""}, {"json", all, "json"}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			b.SetBytes(info.Size())
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPUTime(b)
			var st checkStats
			for b.Loop() {
				c := &checker{set: tc.set, in: &inputs{reader: ingest.New(ingest.Options{})}, errw: io.Discard}
				if tc.format != "" {
					c.out = newAlertWriter(io.Discard, tc.format, time.UTC)
				}
				st, err = c.run(ctx, []string{name})
				if err != nil {
					b.Fatal(err)
				}
				if st.events != n || st.errors != 0 {
					b.Fatalf("read %d events with %d errors; want %d events", st.events, st.errors, n)
				}
			}
			used := processCPUTime(b) - cpu
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(n)*float64(b.N)/used.Seconds(), "events/cpu-s")
			b.ReportMetric(float64(st.alerts), "alerts")
			b.ReportMetric(float64(tc.set.Len()), "rules")
		})
	}
}

// processCPUTime returns the CPU time the process has used (user and system, all
// threads, garbage collector included). On a shared machine it shows what
// one core does when wall-clock figures are inflated by other processes.
func processCPUTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
