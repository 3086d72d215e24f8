package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/state"
)

// BenchmarkCheckConfig runs `trailwatch check --config` as a user does,
// through Main, over the replicated Invictus log of 100,000 and 400,000
// events, with the default packs and the sign-in detectors, alerts written
// as a table to the null device and delivered to a Slack webhook on
// loopback. The sub-benchmarks differ in where state is kept:
//
//   - stateless: plain `trailwatch check` with the same packs, the rate
//     the others are compared with;
//   - dry-run: `--dry-run` (a fresh memory store, messages rendered and
//     dropped);
//   - memory: state.backend memory;
//   - file: state.backend file, the CLI's default, a fresh state file each
//     run (a run over events already delivered does less work);
//   - file-per-write: the same run loop over the file store as the first
//     release used it, every write its own transaction and no batched
//     reads or writes (perWrite), to measure the change in the same run.
//
// TRAILWATCH_BENCH_EVENTS sets other sizes: "1600000", or a list such as
// "100000,400000,1600000".
func BenchmarkCheckConfig(b *testing.B) {
	var posts atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		posts.Add(1)
		io.WriteString(w, "ok")
	}))
	defer hook.Close()
	b.Setenv("TW_BENCH_SLACK_URL", hook.URL+"/services/T000/B000/bench")
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()

	sizes := []int{100_000, 400_000}
	if s := os.Getenv("TRAILWATCH_BENCH_EVENTS"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				b.Fatalf("TRAILWATCH_BENCH_EVENTS=%q is not a list of positive numbers", s)
			}
			sizes = append(sizes, n)
		}
	}
	for _, size := range sizes {
		name, n := replicaInput(b, size)
		for _, mode := range []string{"stateless", "dry-run", "memory", "file", "file-per-write"} {
			b.Run(fmt.Sprintf("%dk/%s", size/1000, mode), func(b *testing.B) {
				dir := b.TempDir()
				cpu := processCPUTime(b)
				var errb strings.Builder
				run := 0
				for b.Loop() {
					run++
					if mode == "file-per-write" {
						st, err := runPerWrite(b, writeBenchConfig(b, dir, run, "file"), name, devNull)
						if err != nil || st.events != n || st.errors != 0 {
							b.Fatalf("read %d events with %d errors, %v; want %d", st.events, st.errors, err, n)
						}
						continue
					}
					args := []string{"check", name}
					switch mode {
					case "dry-run":
						args = []string{"check", "--config", writeBenchConfig(b, dir, run, mode), "--dry-run", name}
					case "memory", "file":
						args = []string{"check", "--config", writeBenchConfig(b, dir, run, mode), name}
					}
					errb.Reset()
					if code := Main(args, strings.NewReader(""), devNull, &errb); code != 0 {
						b.Fatalf("exit %d:\n%s", code, errb.String())
					}
					if !strings.Contains(errb.String(), fmt.Sprintf("%d events,", n)) {
						b.Fatalf("summary does not count %d events:\n%s", n, errb.String())
					}
				}
				used := processCPUTime(b) - cpu
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(float64(n)*float64(b.N)/used.Seconds(), "events/cpu-s")
			})
		}
	}
	b.Logf("webhook posts: %d", posts.Load())
}

// replicaFile is the most events replicaInput puts in one file: a log file
// of 400,000 replicated records is 500 MB decompressed, and ingest reads
// at most 1 GiB of one input.
const replicaFile = 400_000

// replicaInput returns a gzip log file of n replicated Invictus events
// (replicaLog), or for more than replicaFile events a folder of such files,
// every event with its own eventID.
func replicaInput(tb testing.TB, n int) (string, int) {
	tb.Helper()
	if n <= replicaFile {
		return replicaLog(tb, n)
	}
	dir := tb.TempDir()
	ingesttest.WriteReplicaFiles(tb, dir, n, replicaFile, gzip.DefaultCompression)
	return dir, n
}

// writeBenchConfig writes the configuration of one run of
// BenchmarkCheckConfig: the default packs, one Slack receiver, alerts
// grouped by rule, state in memory or in a state file of its own. The
// receiver's rate is raised so that the run measures trailwatch, not the
// pace Slack asks for.
func writeBenchConfig(b *testing.B, dir string, run int, mode string) string {
	b.Helper()
	backend := "file"
	if mode == "memory" {
		backend = "memory"
	}
	state := "state:\n  backend: " + backend + "\n"
	if backend == "file" {
		state += "  path: " + filepath.Join(dir, fmt.Sprintf("state-%d.db", run)) + "\n"
	}
	cfg := filepath.Join(dir, fmt.Sprintf("trailwatch-%d.yaml", run))
	err := os.WriteFile(cfg, []byte(`receivers:
  - name: slack
    slack:
      webhook_url: env:TW_BENCH_SLACK_URL
    rate: {per_second: 1000, burst: 1000}
route:
  receiver: slack
  group_by: [rule]
`+state), 0o600)
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// runPerWrite is `trailwatch check --config cfg name` with the file store
// the configuration names wrapped in perWrite: the "before" of
// BenchmarkCheckConfig.
func runPerWrite(b *testing.B, cfgPath, name string, out io.Writer) (checkStats, error) {
	ctx := context.Background()
	cfg, err := loadConfig(ctx, cfgPath, nil)
	if err != nil {
		return checkStats{}, err
	}
	path, err := cfg.FilePath()
	if err != nil {
		return checkStats{}, err
	}
	f, err := state.OpenFile(path, nil)
	if err != nil {
		return checkStats{}, err
	}
	defer f.Close()
	p, err := pipeline.New(ctx, cfg, pipeline.Deps{ConfigName: cfgPath, Store: perWrite{f}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return checkStats{}, err
	}
	defer p.Close()
	c := &checker{in: &inputs{reader: ingest.New(ingest.Options{})}, errw: io.Discard,
		out: newAlertWriter(out, "table", time.UTC, output{}, false)}
	r := &pipelineRun{checker: c, p: p}
	return r.run(ctx, []string{name})
}

// perWrite is the file store as the first release used it: each write
// its own transaction (one fsync), and no batched reads or writes (it is
// no state.Batcher), so a delivery reads and writes its records one by
// one.
type perWrite struct{ f *state.File }

func (s perWrite) sync(err error) error {
	if err != nil {
		return err
	}
	return s.f.Flush(context.Background())
}

func (s perWrite) Get(ctx context.Context, key string) ([]byte, bool, error) {
	return s.f.Get(ctx, key)
}

func (s perWrite) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return s.sync(s.f.Put(ctx, key, value, ttl))
}

func (s perWrite) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	ok, err := s.f.PutIfAbsent(ctx, key, value, ttl)
	return ok, s.sync(err)
}

func (s perWrite) CompareAndSwap(ctx context.Context, key string, old, new []byte, ttl time.Duration) (bool, error) {
	ok, err := s.f.CompareAndSwap(ctx, key, old, new, ttl)
	return ok, s.sync(err)
}

func (s perWrite) Add(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error) {
	n, err := s.f.Add(ctx, key, delta, ttl)
	return n, s.sync(err)
}

func (s perWrite) Delete(ctx context.Context, key string) error {
	return s.sync(s.f.Delete(ctx, key))
}

func (s perWrite) Close() error { return nil } // runPerWrite closes the file
