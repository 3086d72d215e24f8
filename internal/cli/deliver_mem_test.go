//go:build linux

package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestCheckConfigPeakRSS runs `trailwatch check` over the replicated
// Invictus log (400,000 events; TRAILWATCH_MEMTEST_EVENTS sets another
// size) in a child process, the trailwatch binary built from this tree,
// and reports its peak resident memory: stateless, and with --config (the default
// packs and the sign-in detectors, the file store, a Slack webhook on
// loopback), which must stay within 64 MiB. Skipped unless
// TRAILWATCH_MEMTEST=1: it writes a 45 MB log file and takes about half a
// minute.
func TestCheckConfigPeakRSS(t *testing.T) {
	if os.Getenv("TRAILWATCH_MEMTEST") == "" {
		t.Skip("set TRAILWATCH_MEMTEST=1 to measure")
	}
	n := 400_000
	if s := os.Getenv("TRAILWATCH_MEMTEST_EVENTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n <= 0 {
			t.Fatalf("TRAILWATCH_MEMTEST_EVENTS=%q is not a positive number", s)
		}
	}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}))
	defer hook.Close()
	name, _ := replicaLog(t, n)
	dir := t.TempDir()
	// The binary a user runs, not this test binary, which links the
	// tests and their data too and peaks 8 MiB higher.
	bin := filepath.Join(dir, "trailwatch")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/trailwatch").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "trailwatch.yaml")
	err := os.WriteFile(cfg, []byte(`receivers:
  - name: slack
    slack:
      webhook_url: env:TW_MEMTEST_SLACK_URL
    rate: {per_second: 1000, burst: 1000}
route:
  receiver: slack
  group_by: [rule]
state:
  backend: file
  path: `+filepath.Join(dir, "state.db")+`
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	peak := func(args ...string) int64 {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "TW_MEMTEST_SLACK_URL="+hook.URL+"/services/T000/B000/memtest")
		var errb strings.Builder
		cmd.Stderr = &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("trailwatch %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		if !strings.Contains(errb.String(), fmt.Sprintf("%d events,", n)) {
			t.Fatalf("trailwatch %s did not read %d events:\n%s", strings.Join(args, " "), n, errb.String())
		}
		return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
	}
	stateless := peak("check", name)
	config := peak("check", "--config", cfg, name)
	t.Logf("%d events: peak RSS %.1f MiB stateless, %.1f MiB with --config (detectors, file store)",
		n, float64(stateless)/(1<<20), float64(config)/(1<<20))
	if config > 64<<20 {
		t.Errorf("check --config peaked at %.1f MiB; want at most 64 MiB", float64(config)/(1<<20))
	}
}
