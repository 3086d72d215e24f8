package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
)

// TestHostileIngestLambda is the Lambda half of docs/security.md's
// parse-complexity test: the real binary, run as a 128 MB function
// (GOMEMLIMIT=108MiB), is sent one SQS batch holding a log file with a
// 4 MiB or 31 MiB value bomb between two good records (through S3), a
// CloudWatch Logs payload with the same bomb between two good log events,
// and a real log file. Its peak resident memory stays under 128 MiB, the
// bombs are named in its log with their input and record and raise the
// input-refused alert, the good records around them are read, the real log
// file's alert is delivered, and only the two hostile messages are reported
// as failed (so SQS retries, then dead-letters, them alone).
func TestHostileIngestLambda(t *testing.T) {
	if os.Getenv(hostileEnv) == "" {
		t.Skip("set " + hostileEnv + "=1 to run")
	}
	for _, size := range []int{4 << 20, 31 << 20} {
		mib := size >> 20
		t.Run(fmt.Sprintf("%d MiB", mib), func(t *testing.T) {
			f := newFixture(t, defaultPacks, "env")
			f.env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "128"
			f.env["GOMEMLIMIT"] = "108MiB"
			bombKey := fmt.Sprintf("AWSLogs/123837392027/CloudTrail/us-east-1/2023/07/10/123837392027_CloudTrail_us-east-1_20230710T1300Z_bomb%d.json.gz", mib)
			f.s3.put(t, trailBucket, bombKey, ingesttest.ValueBombLog(t, size))
			f.putLog(t, fileTrailDeleted)
			fn := f.start(t)

			inv := f.rt.invoke(t, fn, sqsBatch(t,
				[2]string{"msg-bomb", string(s3Notification(t, bombKey))},
				[2]string{"msg-awslogs", string(ingesttest.AWSLogsValueBomb(t, size))},
				[2]string{"msg-real", string(s3Notification(t, logKey(fileTrailDeleted)))},
			), time.Minute)
			peak := fn.peakRSS(t)
			t.Logf("peak RSS (VmHWM) %.1f MiB", float64(peak)/mib1)
			if peak >= 128*mib1 {
				t.Errorf("peak RSS %.1f MiB; want under 128 MiB", float64(peak)/mib1)
			}
			if ids := batchFailures(t, inv); !slices.Equal(ids, []string{"msg-awslogs", "msg-bomb"}) {
				t.Errorf("batch item failures %q; want msg-awslogs and msg-bomb", ids)
			}
			wantRules(t, f.slack, rulesTrailDeleted, []string{"trailwatch-input-refused"})

			// The log names the bomb's input and record.
			logs := fn.stderr.String()
			bombInput := "s3://" + trailBucket + "/" + bombKey
			if !strings.Contains(logs, `"input":"`+bombInput+`","index":1`) {
				t.Errorf("the function's log does not name %s record 1:\n%s", bombInput, tail(logs, 4000))
			}
			// The records around each bomb are read: the real file's 246
			// events, the two good records of the log file and, under
			// 8 MiB, the two good log events of the CloudWatch Logs payload
			// (over 8 MiB the payload is refused whole).
			want := 246 + 2 + 2
			if size > 8<<20 {
				want = 246 + 2
			}
			m := fn.metrics(t, 1)
			if got := m[0]["Events"]; got != float64(want) {
				t.Errorf("events read %v; want %d", got, want)
			}
		})
	}
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
