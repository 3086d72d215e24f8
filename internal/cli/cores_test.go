package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
)

// mixedInputs writes a folder of log files with bad records mixed into real
// ones: broken JSON, a record that is not an object, one that is not
// CloudTrail, one nested past the parser's limit, more bad records than are
// reported one by one, a broken JSON Lines line, a truncated gzip file and
// a file that is not JSON at all.
func mixedInputs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "a-replica.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	ingesttest.WriteReplicaLog(t, f, 6000, gzip.BestCompression)
	f.Close()
	var good bytes.Buffer
	ingesttest.WriteReplicaLog(t, &good, 300, gzip.BestSpeed)
	writeTestFile(t, filepath.Join(dir, "b-truncated.json.gz"), good.String()[:good.Len()/2])
	deep := `{"eventVersion":"1.08","v":` + strings.Repeat("[", 400) + strings.Repeat("]", 400) + `}`
	// The first bad record comes late, so that the files after this one
	// are read on other cores before it fails.
	var recs []string
	for i := range 3000 {
		recs = append(recs, strings.Replace(listBucket, "e-list", fmt.Sprintf("e-list-%d", i), 1))
	}
	recs = append(recs, rootLogin, `{"eventVersion":"1.08","eventID":"x" "y"}`, createUser, `17`, `{"hello":"world"}`, deep, listBucket)
	for i := range 25 {
		recs = append(recs, `{"eventID":`+fmt.Sprint(i)+`,`, strings.Replace(createUser, "e-create", fmt.Sprintf("e-create-%d", i), 1))
	}
	writeTestFile(t, filepath.Join(dir, "c-bad.json"), `{"Records":[`+strings.Join(recs, ",")+`]}`)
	// A record the parser accepts though it is not strict JSON (a raw tab
	// in a string), read the same way after the bad records above as on
	// its own, and a broken line, reported the same way.
	lenient := strings.Replace(rootLogin, `"sourceIPAddress"`, "\"userAgent\":\"tab\there\",\"sourceIPAddress\"", 1)
	writeTestFile(t, filepath.Join(dir, "d-lines.jsonl"), lenient+"\n"+`{"eventID":"broken"`+"\n"+createUser+"\n")
	writeTestFile(t, filepath.Join(dir, "e-flow.log.gz"), "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1 2 ACCEPT OK\n")
	for i := range 30 {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		fmt.Fprintf(zw, `{"Records":[%s,%s]}`, strings.Replace(rootLogin, "deb1e1f9", fmt.Sprintf("small%03d", i), 1), listBucket)
		zw.Close()
		writeTestFile(t, filepath.Join(dir, "f-small", fmt.Sprintf("%03d.json.gz", i)), b.String())
	}
	return dir
}

// withProcs runs f with GOMAXPROCS set to n.
func withProcs(n int, f func()) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	f()
}

// TestCheckSameOnEveryCore runs check over the sample logs, the Invictus
// logs, standard input and a folder with bad records mixed in, on one core
// and on several: the output, the errors on standard error (the same
// errors at the same places) and the exit status are byte for byte the
// same, for the table, JSON and a dry run of a configuration with
// detectors.
func TestCheckSameOnEveryCore(t *testing.T) {
	mixed := mixedInputs(t)
	stdin := `{"Records":[` + createUser + `,{"eventID":` + `]}`
	cfg := writeTestFile(t, filepath.Join(t.TempDir(), "trailwatch.yaml"), `rules:
  packs: [signin, root, cis, iam]
receivers:
  - name: ops
    slack:
      webhook_url: env:TRAILWATCH_TEST_NO_SUCH_WEBHOOK
route:
  receiver: ops
  group_by: [rule]
`)
	inputs := []string{sampleScenario, mixed, ingesttest.InvictusDir(t), "-", filepath.Join(mixed, "c-bad.json"), "no-such-file.json"}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"table", inputs},
		{"json", append([]string{"--format", "json"}, inputs...)},
		{"dry run", append([]string{"--config", cfg, "--dry-run"}, inputs...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var wantOut, wantErr string
			var wantCode int
			withProcs(1, func() { wantOut, wantErr, wantCode = runCmd(t, newCheckCmd(), stdin, tc.args...) })
			if wantCode != 1 || !strings.Contains(wantErr, "c-bad.json record 3001: invalid JSON") || !strings.Contains(wantErr, "no-such-file.json") || len(wantOut) < 10_000 {
				t.Fatalf("one core: exit %d, %d bytes of output, stderr:\n%.2000s", wantCode, len(wantOut), wantErr)
			}
			for _, procs := range []int{2, 4} {
				var out, errs string
				var code int
				withProcs(procs, func() { out, errs, code = runCmd(t, newCheckCmd(), stdin, tc.args...) })
				if code != wantCode {
					t.Errorf("%d cores: exit %d, one core %d", procs, code, wantCode)
				}
				if errs != wantErr {
					t.Errorf("%d cores: standard error differs from one core's:\n%s", procs, lineDiff(wantErr, errs))
				}
				if out != wantOut {
					t.Errorf("%d cores: output differs from one core's:\n%s", procs, lineDiff(wantOut, out))
				}
			}
		})
	}
}

// lineDiff shows the first line where two texts differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range min(len(w), len(g)) {
		if w[i] != g[i] {
			return fmt.Sprintf("line %d:\n%.300s\nwant:\n%.300s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(g), len(w))
}
