package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
)

// hostileEnv gates the tests that feed the real binary the hostile inputs
// of docs/security.md. They take a few seconds, so `go test ./...` skips
// them and `make test` (CI) sets it.
const hostileEnv = "TRAILWATCH_HOSTILE"

// TestHostileIngestEvents feeds `trailwatch events` a log record holding
// 4 MiB and 31 MiB of "0," (a few KB gzipped; the parser once built a
// tree of 1 GiB and 7.5 GiB from them), in a log file, in a CloudWatch
// Logs payload in an SQS message, and in an S3 object an SQS message names,
// with the Go memory limit a 128 MB Lambda function sets. Each time the
// process's peak resident memory stays under 128 MiB, the bomb is refused
// with an error naming the input, the record and the message, and the
// good records around it, and the good message after it, are printed.
//
//	TRAILWATCH_HOSTILE=1 go test -run TestHostileIngestEvents -v ./e2e
func TestHostileIngestEvents(t *testing.T) {
	if os.Getenv(hostileEnv) == "" {
		t.Skip("set " + hostileEnv + "=1 to run")
	}
	s3 := newFakeS3(t)
	dir := t.TempDir()
	const bucket = "org-trail-logs"
	for _, size := range []int{4 << 20, 31 << 20} {
		mib := size >> 20
		logFile := ingesttest.ValueBombLog(t, size)
		key := fmt.Sprintf("AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/01/123456789012_CloudTrail_us-east-1_20240501T1200Z_bomb%d.json.gz", mib)
		s3.put(t, bucket, key, logFile)
		goodLog := ingesttest.GoodLog("00000000-0000-4000-8000-0000000000c3")

		// The record errors the bomb must produce, after the input name.
		tooMany := "record 1: the record holds more than 100000 JSON values, the most a record may"
		tooLarge := "record 1: the JSON value is larger than 8 MiB, the most a record may be"
		overRecord := tooMany
		if size > 8<<20 {
			overRecord = tooLarge
		}
		cases := []struct {
			name  string
			input []byte
			file  string
			want  string   // the error line, after "trailwatch: <file> "
			ids   []string // event ids printed
		}{
			{
				name: "log file", input: logFile, file: fmt.Sprintf("bomb-%dmib.json.gz", mib),
				want: overRecord,
				ids:  []string{ingesttest.GoodBefore, ingesttest.GoodAfter},
			},
			{
				// A CloudWatch Logs payload is one message: past 8 MiB
				// decompressed it is refused whole, and the message
				// after it is still read.
				name: "CloudWatch Logs payload in an SQS message", input: ingesttest.SQSEvent(ingesttest.AWSLogsValueBomb(t, size), goodLog),
				file: fmt.Sprintf("sqs-awslogs-%dmib.json", mib),
				want: map[bool]string{
					false: "record 1 (SQS message m0): log event 1 (id \"38190845378383978524000000000000000000000000000001\"): the record holds more than 100000 JSON values, the most a record may",
					true:  "record 0 (SQS message m0): the CloudWatch Logs data decompresses to more than 8 MiB, the most one message may",
				}[size > 8<<20],
				ids: map[bool][]string{
					false: {ingesttest.GoodBefore, ingesttest.GoodAfter, "00000000-0000-4000-8000-0000000000c3"},
					true:  {"00000000-0000-4000-8000-0000000000c3"},
				}[size > 8<<20],
			},
			{
				name: "S3 object named by an SQS message", input: ingesttest.SQSEvent(ingesttest.S3Notification(bucket, key), goodLog),
				file: fmt.Sprintf("sqs-s3-%dmib.json", mib),
				want: overRecord,
				ids:  []string{ingesttest.GoodBefore, ingesttest.GoodAfter, "00000000-0000-4000-8000-0000000000c3"},
			},
		}
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s, %d MiB", tc.name, mib), func(t *testing.T) {
				path := filepath.Join(dir, tc.file)
				if err := os.WriteFile(path, tc.input, 0o600); err != nil {
					t.Fatal(err)
				}
				want := "trailwatch: " + path + " " + tc.want
				if strings.Contains(tc.name, "S3 object") {
					want = "trailwatch: s3://" + bucket + "/" + key + " " + strings.Replace(tc.want, "record 1:", "record 1 (SQS message m0):", 1)
				}
				out, errOut, peak, elapsed := runEventsBinary(t, s3, path)
				t.Logf("%d bytes in, peak RSS %.1f MiB, %s\n%s", len(tc.input), float64(peak)/mib1, elapsed.Round(time.Millisecond), errOut)
				if peak >= 128*mib1 {
					t.Errorf("peak RSS %.1f MiB; want under 128 MiB", float64(peak)/mib1)
				}
				if !strings.Contains(errOut, want+"\n") {
					t.Errorf("stderr does not hold %q", want)
				}
				var ids []string
				for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
					if i := strings.Index(line, `"event_id":"`); i >= 0 {
						ids = append(ids, strings.SplitN(line[i+len(`"event_id":"`):], `"`, 2)[0])
					}
				}
				if strings.Join(ids, " ") != strings.Join(tc.ids, " ") {
					t.Errorf("events %v; want %v", ids, tc.ids)
				}
				// check reads on every core (ingest.Map), records parsed
				// on workers: the same refusal, within the same memory.
				_, errOut, peak, elapsed = runBinary(t, s3, "check", "--packs", "all", "--format", "json", path)
				t.Logf("check: peak RSS %.1f MiB, %s", float64(peak)/mib1, elapsed.Round(time.Millisecond))
				if peak >= 128*mib1 {
					t.Errorf("check: peak RSS %.1f MiB; want under 128 MiB", float64(peak)/mib1)
				}
				if !strings.Contains(errOut, want+"\n") {
					t.Errorf("check: stderr does not hold %q:\n%s", want, errOut)
				}
			})
		}
	}
}

const mib1 = 1 << 20

// runEventsBinary runs `trailwatch events --format json path` as a 128 MB
// function would (GOMEMLIMIT=108MiB), with S3 served by s3, and returns
// its output, its peak resident memory and how long it took.
func runEventsBinary(t *testing.T, s3 *fakeS3, path string) (stdout, stderr string, peak int64, elapsed time.Duration) {
	t.Helper()
	return runBinary(t, s3, "events", "--format", "json", path)
}

// runBinary runs the binary with args as runEventsBinary does.
func runBinary(t *testing.T, s3 *fakeS3, args ...string) (stdout, stderr string, peak int64, elapsed time.Duration) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	home := t.TempDir()
	cmd.Env = []string{
		"GOMEMLIMIT=108MiB",
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + fakeKeyID,
		"AWS_SECRET_ACCESS_KEY=" + fakeSecret,
		"AWS_ENDPOINT_URL_S3=" + s3.srv.URL,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "no-aws-credentials"),
		"HOME=" + home,
	}
	var out, errw bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errw
	start := time.Now()
	err := cmd.Run()
	elapsed = time.Since(start)
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("run %s: %v", binary, err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Skip("no resource usage on this system")
	}
	return out.String(), errw.String(), ru.Maxrss << 10, elapsed // Linux reports kB
}
