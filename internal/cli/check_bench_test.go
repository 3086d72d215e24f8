package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trailwatch/trailwatch/internal/event"
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

// BenchmarkCheckEndToEnd runs what `trailwatch check` does over a gzip log
// of about 100,000 events with every built-in pack: read and gunzip the
// file, decode and parse each record, match the rule set, render summaries
// and write the alerts. The sub-benchmarks split the cost: "ingest" reads
// the file with no rules, "rules" adds matching and summaries (no output),
// "json" and "table" are the whole command with its JSON and default table
// output, written to an *os.File (the null device) as a user's terminal or
// file gets them, one write system call per write, so that output that
// writes too often shows in the figures. "table-before" is the table as
// the first release wrote it (text/tabwriter straight onto the file), kept
// here to measure the change in the same run.
//
// The command reads on every core (ingest.Map); run with -cpu 1,2 to
// compare. "json-one-goroutine" is the JSON output the way check read
// before, everything on one goroutine whatever the cores, and "gunzip" is
// klauspost's gunzip alone over the same file, the floor under all of it.
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
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()
	for _, tc := range []struct {
		name   string
		set    *rule.Set
		format string
	}{
		{"ingest", none, ""}, {"rules", all, ""}, {"json", all, "json"}, {"table", all, "table"}, {"table-before", all, "before"},
		{"json-one-goroutine", all, "one-goroutine"}, {"gunzip", none, "gunzip"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			b.SetBytes(info.Size())
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPUTime(b)
			var st checkStats
			out := &countingWriter{w: devNull}
			for b.Loop() {
				c := &checker{set: tc.set, in: &inputs{reader: ingest.New(ingest.Options{})}, errw: io.Discard}
				switch tc.format {
				case "":
					st, err = c.run(ctx, []string{name})
				case "before":
					st, err = runTabwriterTable(ctx, c, out, name)
				case "one-goroutine":
					c.out = newAlertWriter(out, "json", time.UTC, output{}, false)
					st, err = runOneGoroutine(ctx, c, name)
				case "gunzip":
					st, err = gunzipOnly([]string{name}, n)
				default:
					c.out = newAlertWriter(out, tc.format, time.UTC, output{}, false)
					st, err = c.run(ctx, []string{name})
				}
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
			b.ReportMetric(float64(out.writes)/float64(b.N), "writes/op")
		})
	}
}

// countingWriter counts the writes that reach the file: each is a system
// call.
type countingWriter struct {
	w      io.Writer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.w.Write(p)
}

// runTabwriterTable is check's table output as the first release wrote
// it: a text/tabwriter on the output itself, flushed every 100 rows, one
// write per cell. It is the "before" of BenchmarkCheckEndToEnd.
func runTabwriterTable(ctx context.Context, c *checker, w io.Writer, name string) (checkStats, error) {
	var st checkStats
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSEVERITY\tRULE\tEVENT\tPRINCIPAL\tSOURCE IP\tACCOUNT\tREGION\tSUMMARY")
	pending := 0
	for ev, err := range c.in.reader.Paths(ctx, []string{name}) {
		if err != nil {
			st.errors++
			continue
		}
		st.events++
		var werr error
		err := c.set.Each(ctx, ev, func(a *event.Alert) bool {
			st.alerts++
			p := a.Event.Principal()
			t := ""
			if ts := a.Event.Time(); !ts.IsZero() {
				t = ts.UTC().Format(timeLayout)
			}
			_, werr = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				t, a.Rule.Severity, a.Rule.ID, clean(a.Event.Name()), clean(p.String()),
				clean(a.Event.SourceIP()), clean(a.Event.Account()), clean(a.Event.Region()), clean(a.Summary))
			if pending++; werr == nil && pending >= flushEvery {
				pending = 0
				werr = tw.Flush()
			}
			return werr == nil
		})
		if werr != nil {
			return st, werr
		}
		if err != nil {
			st.errors++
		}
	}
	return st, tw.Flush()
}

// runOneGoroutine is check as it read before it used every core: one
// goroutine reads, parses and matches each event in turn and writes its
// alerts. It is the "before" of the multi-core figures.
func runOneGoroutine(ctx context.Context, c *checker, name string) (checkStats, error) {
	var st checkStats
	for ev, err := range c.in.reader.Paths(ctx, []string{name}) {
		if err != nil {
			c.report(&st, err)
			continue
		}
		st.events++
		var werr error
		err := c.set.Each(ctx, ev, func(a *event.Alert) bool {
			st.alerts++
			werr = c.out.write(a)
			return werr == nil
		})
		if werr != nil {
			return st, werr
		}
		if err != nil {
			st.errors++
		}
	}
	return st, c.out.flush()
}

// gunzipOnly decompresses the files to nowhere with klauspost's gzip, the
// fastest gunzip in Go, one reader reused from file to file, and counts
// them as n events.
func gunzipOnly(names []string, n int) (checkStats, error) {
	var zr *gzip.Reader
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			return checkStats{}, err
		}
		if zr == nil {
			zr, err = gzip.NewReader(f)
		} else {
			err = zr.Reset(f)
		}
		if err == nil {
			_, err = io.Copy(io.Discard, zr)
		}
		f.Close()
		if err != nil {
			return checkStats{}, err
		}
	}
	return checkStats{events: n}, nil
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

// BenchmarkCheckFiles runs check with every built-in pack and JSON output
// (to the null device) over the same 100,000 events in one log file and in
// 2,000 log files of 50 events each, how CloudTrail delivers a busy
// account's events to S3 (a file every five minutes per region). The
// difference is what each file costs: opening it, its gzip header and
// state, its first record. "gunzip-" runs gunzip alone over the same
// files, since small files compress less well: their difference is what
// the files cost before check does anything. Run with -cpu 1,2: on several
// cores the files are read side by side.
func BenchmarkCheckFiles(b *testing.B) {
	rs, err := rule.Load(rule.Selection{Builtin: rules.FS})
	if err != nil {
		b.Fatal(err)
	}
	set, err := rule.NewSet(rs...)
	if err != nil {
		b.Fatal(err)
	}
	const n = 100_000
	one, _ := replicaLog(b, n)
	many := b.TempDir()
	ingesttest.WriteReplicaFiles(b, many, n, 50, gzip.DefaultCompression)
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()
	names, err := filepath.Glob(filepath.Join(many, "*.json.gz"))
	if err != nil || len(names) != n/50 {
		b.Fatalf("%d files (%v)", len(names), err)
	}
	for _, tc := range []struct {
		name   string
		files  []string
		gunzip bool
	}{
		{"one-file", []string{one}, false}, {"2000-files", []string{many}, false},
		{"gunzip-one-file", []string{one}, true}, {"gunzip-2000-files", names, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPUTime(b)
			var st checkStats
			for b.Loop() {
				if tc.gunzip {
					if st, err = gunzipOnly(tc.files, n); err != nil {
						b.Fatal(err)
					}
					continue
				}
				c := &checker{set: set, in: &inputs{reader: ingest.New(ingest.Options{})}, errw: io.Discard}
				c.out = newAlertWriter(devNull, "json", time.UTC, output{}, false)
				if st, err = c.run(ctx, tc.files); err != nil {
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
		})
	}
}

// TestWriteReplicaLog writes the replica log file the benchmarks read (the
// Invictus records repeated with fresh eventIDs, gzipped) to the path in
// TRAILWATCH_REPLICA, with TRAILWATCH_REPLICA_EVENTS events (default
// 100,000), to measure the real binary on it; docs/performance.md shows
// how. Without TRAILWATCH_REPLICA it does nothing.
func TestWriteReplicaLog(t *testing.T) {
	name := os.Getenv("TRAILWATCH_REPLICA")
	if name == "" {
		t.Skip("set TRAILWATCH_REPLICA to the path of the file to write")
	}
	n := 100_000
	if s := os.Getenv("TRAILWATCH_REPLICA_EVENTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("TRAILWATCH_REPLICA_EVENTS %q is not a number of events", s)
		}
	}
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	ingesttest.WriteReplicaLog(t, f, n, gzip.DefaultCompression)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
