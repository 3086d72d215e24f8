package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/rules"
)

// BenchmarkStartup measures what a user waits for when trailwatch has
// little to do: the built binary running `check` on a log file of one
// event (the default packs, JSON output), from exec to exit. Each round
// runs every command once, in turn, so that the machine's load falls on
// all of them alike:
//
//   - check: `trailwatch check --format json FILE`;
//   - table: the same with the default table output;
//   - gzip: `gzip -dc FILE`, a process that only reads the file;
//   - baseline: when TRAILWATCH_STARTUP_BASELINE names another build of
//     trailwatch (an earlier commit's), its check, to compare in one run.
//
// It reports the median wall time of each in ms and its median CPU time
// (user + system) in cpu-ms. The binary is built once per benchmark run,
// without the release flags.
//
//	go test -run '^$' -bench Startup -benchtime 40x ./cmd/trailwatch
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "trailwatch")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	file := filepath.Join(dir, "one-event.json.gz")
	writeOneEvent(b, file)
	gz, err := exec.LookPath("gzip")
	if err != nil {
		b.Skip("gzip is not installed:", err)
	}
	cmds := []struct {
		name string
		args []string
	}{
		{"check", []string{bin, "check", "--format", "json", file}},
		{"table", []string{bin, "check", file}},
		{"gzip", []string{gz, "-dc", file}},
	}
	if base := os.Getenv("TRAILWATCH_STARTUP_BASELINE"); base != "" {
		cmds = append(cmds, struct {
			name string
			args []string
		}{"baseline", []string{base, "check", "--format", "json", file}})
	}
	wall := make([][]time.Duration, len(cmds))
	cpu := make([][]time.Duration, len(cmds))
	for b.Loop() {
		for i, c := range cmds {
			w, u := run(b, c.args)
			wall[i] = append(wall[i], w)
			cpu[i] = append(cpu[i], u)
		}
	}
	for i, c := range cmds {
		b.ReportMetric(median(wall[i]), "ms/"+c.name)
		b.ReportMetric(median(cpu[i]), "cpu-ms/"+c.name)
	}
}

// run runs args once, checks it succeeded and found the event, and returns
// its wall and CPU time.
func run(b *testing.B, args []string) (wall, cpu time.Duration) {
	b.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	wall = time.Since(start)
	if err != nil {
		b.Fatalf("%v: %v\n%s", args, err, errOut.Bytes())
	}
	if filepath.Base(args[0]) != "gzip" && !bytes.Contains(errOut.Bytes(), []byte("1 events, 2 alerts")) {
		b.Fatalf("%v did not report its event and two alerts:\n%s", args, errOut.Bytes())
	}
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// writeOneEvent writes a gzipped CloudTrail log file holding one event: the
// root console sign-in of the AWS documentation, which the built-in packs
// test with (rules/testdata/README.md names its source).
func writeOneEvent(b *testing.B, name string) {
	b.Helper()
	ev, err := fs.ReadFile(rules.FS, "testdata/signin/root-login-success.json")
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	fmt.Fprintf(zw, `{"Records":[%s]}`, bytes.TrimSpace(ev))
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
}

// median returns the median of ds in milliseconds.
func median(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	m := s[n/2]
	if n%2 == 0 {
		m = (s[n/2-1] + s[n/2]) / 2
	}
	return float64(m) / float64(time.Millisecond)
}
