package e2e

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

const mib = 1 << 20

// TestColdStartAndPeakMemory runs the largest Invictus file through a fresh
// process and reports the time from process start to the first answer and
// the process's peak resident memory.
func TestColdStartAndPeakMemory(t *testing.T) {
	f := newFixture(t, defaultPacks+", secrets", "env")
	f.putLog(t, fileLargest)
	fn := f.start(t)
	inv := f.rt.invoke(t, fn, s3Notification(t, logKey(fileLargest)), time.Minute)
	wantSucceeded(t, inv)
	// SecureString parameters and secrets read in bulk by the attack
	// tooling, and a burst of AccessDenied answers to its discovery calls:
	// one message each.
	wantRules(t, f.slack, []string{"access-denied-burst", "secrets-read-in-bulk", "ssm-parameter-decrypted"})

	t.Logf("DynamoDB requests: %v", f.ddb.ops())
	peak := fn.peakRSS(t)
	initDone := f.rt.polledAt.Sub(fn.started)
	first := inv.answeredAt.Sub(fn.started)
	t.Logf("largest Invictus file (394 events, 520 KB): init %s, process start to first answer %s, peak RSS (VmHWM) %.1f MiB",
		initDone.Round(time.Millisecond), first.Round(time.Millisecond), float64(peak)/mib)
	if peak > 128*mib {
		t.Errorf("peak RSS %.1f MiB does not fit a 128 MB function", float64(peak)/mib)
	}
}

// TestLargeLogFileIn128MB streams a 100 MB (uncompressed) log file, made of
// repeated Invictus records, through a function limited as a 128 MB one is,
// and checks that its peak resident memory stays under 128 MiB.
func TestLargeLogFileIn128MB(t *testing.T) {
	// The sign-in pack brings the stateful detectors, whose DynamoDB traffic
	// is part of what this measures; its rules fire on none of these events.
	f := newFixture(t, "logging, signin", "env")
	f.env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "128" // the function sets its Go memory limit from this
	data, events, copies := largeLogFile(t, 100*1000*1000)
	key := "AWSLogs/123837392027/CloudTrail/us-east-1/2023/07/10/123837392027_CloudTrail_us-east-1_20230710T1300Z_e2eLargeFile0000.json.gz"
	f.s3.put(t, trailBucket, key, data)
	fn := f.start(t)

	start := time.Now()
	inv := f.rt.invoke(t, fn, s3Notification(t, key), 5*time.Minute)
	elapsed := time.Since(start)
	wantSucceeded(t, inv)
	// The copies repeat event ids: each alert is sent once, however many
	// times its event appears.
	wantRules(t, f.slack, rulesTrailDeleted, rulesFlowLogs, []string{"access-denied-burst", "cloudtrail-tampering-failed"})

	m := fn.metrics(t, 1)
	if len(m) != 1 || m[0]["Events"] != float64(events) || m[0]["Alerts"].(float64) < float64(2*copies) {
		t.Fatalf("metrics %v; want %d events and at least %d alerts", m, events, 2*copies)
	}
	t.Logf("alerts raised: %v (rules: %d); DynamoDB requests: %v", m[0]["Alerts"], 2*copies, f.ddb.ops())
	peak := fn.peakRSS(t)
	t.Logf("100 MB log file (%d events, %.1f MB gzipped): processed in %s (%.0f events/s), peak RSS (VmHWM) %.1f MiB",
		events, float64(len(data))/1e6, elapsed.Round(time.Millisecond), float64(events)/elapsed.Seconds(), float64(peak)/mib)
	if peak > 128*mib {
		t.Errorf("peak RSS %.1f MiB exceeds a 128 MB function's memory", float64(peak)/mib)
	}
}

// largeLogFile builds a gzipped CloudTrail log file of at least size bytes
// uncompressed by repeating the records of three Invictus files, and returns
// it with its event count and the number of copies.
func largeLogFile(t *testing.T, size int) (data []byte, events, copies int) {
	t.Helper()
	var recs []json.RawMessage
	for _, file := range []string{fileTrailDeleted, fileFlowLogs, fileLargest} {
		recs = append(recs, records(t, file)...)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := zw.Write([]byte(`{"Records":[`))
	written := n
	for written < size {
		for _, r := range recs {
			if events > 0 {
				zw.Write([]byte{','})
				written++
			}
			n, _ := zw.Write(r)
			written += n
			events++
		}
		copies++
	}
	zw.Write([]byte("]}"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), events, copies
}
