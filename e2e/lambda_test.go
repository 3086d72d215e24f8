package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Static fake credentials; the fakes accept any.
const (
	fakeKeyID  = "AKIAE2ETESTEXAMPLE00"
	fakeSecret = "e2e/secret/access/key/not/a/real/one000"
)

// binary is the trailwatch executable under test.
var binary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if b := os.Getenv("TRAILWATCH_E2E_BINARY"); b != "" {
		binary = b
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "trailwatch-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "bootstrap")
	// The deployment build's tag (no RPC mode), as `make lambda-zip`; the
	// other release flags are left out so the build reuses the cache of
	// the tests' own.
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", binary, "../cmd/trailwatch")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building the binary failed:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: built %s in %s\n", binary, time.Since(start).Round(time.Millisecond))
	return m.Run()
}

// The Invictus log files in testdata/invictus, by what they hold.
const (
	fileTrailDeleted = "218007301253_CloudTrail_us-east-1_20230710T1210Z_6CICdbJQM3beT7n3.json.gz" // 246 events; DeleteTrail
	fileIAM          = "218007301253_CloudTrail_us-east-1_20230710T1230Z_ZtUNbBkwAu98FPZb.json.gz" // 68 events; IAM persistence
	fileFlowLogs     = "218007301253_CloudTrail_us-east-1_20230710T1205Z_SjF3IkuNXJkoHyar.json.gz" // 26 events; DeleteFlowLogs
	fileConsoleLogin = "218007301253_CloudTrail_us-east-1_20230710T1225Z_4iD2boYSOwmb6sWd.json.gz" // 12 events; ConsoleLogin without MFA
	fileLargest      = "218007301253_CloudTrail_us-east-1_20230710T1200Z_iLj9fb7yyUG9X4Bf.json.gz" // 394 events, 520 KB
)

const trailBucket = "org-trail-logs"

// The packs most tests run, and the rules each file fires among them.
const defaultPacks = "logging, signin, iam"

var (
	rulesTrailDeleted = []string{"cloudtrail-deleted"}
	rulesIAM          = []string{"iam-access-key-created", "iam-admin-policy-attached", "iam-role-trust-policy-updated", "iam-user-created", "login-profile-changed"}
	rulesFlowLogs     = []string{"vpc-flow-logs-deleted"}
	rulesConsoleLogin = []string{"console-login-without-mfa"}
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// logKey is where CloudTrail delivers a log file.
func logKey(file string) string {
	return "AWSLogs/123837392027/CloudTrail/us-east-1/2023/07/10/" + file
}

// putLog stores an Invictus file in the fake trail bucket.
func (f *fixture) putLog(t *testing.T, file string) {
	t.Helper()
	f.s3.put(t, trailBucket, logKey(file), readTestdata(t, filepath.Join("invictus", file)))
}

// s3Notification is the S3 event notification for new objects.
func s3Notification(t *testing.T, keys ...string) []byte {
	t.Helper()
	var ev events.S3Event
	for _, k := range keys {
		ev.Records = append(ev.Records, events.S3EventRecord{
			EventVersion: "2.1",
			EventSource:  "aws:s3",
			AWSRegion:    "us-east-1",
			EventTime:    time.Date(2023, 7, 10, 12, 40, 0, 0, time.UTC),
			EventName:    "ObjectCreated:Put",
			S3: events.S3Entity{
				SchemaVersion:   "1.0",
				ConfigurationID: "trailwatch",
				Bucket:          events.S3Bucket{Name: trailBucket, Arn: "arn:aws:s3:::" + trailBucket},
				Object:          events.S3Object{Key: k},
			},
		})
	}
	return mustJSON(t, ev)
}

// sqsBatch is an SQS event whose messages have the given ids and bodies.
func sqsBatch(t *testing.T, msgs ...[2]string) []byte {
	t.Helper()
	var ev events.SQSEvent
	for _, m := range msgs {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:      m[0],
			ReceiptHandle:  "handle-" + m[0],
			Body:           m[1],
			EventSource:    "aws:sqs",
			EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:trailwatch-log-files",
			AWSRegion:      "us-east-1",
			Attributes:     map[string]string{"ApproximateReceiveCount": "1"},
		})
	}
	return mustJSON(t, ev)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// batchFailures reads an SQS partial batch response.
func batchFailures(t *testing.T, inv *invocation) []string {
	t.Helper()
	if inv.failed {
		t.Fatalf("SQS invocation failed as a whole: %s", inv.response)
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(inv.response, &resp); err != nil {
		t.Fatalf("partial batch response %q: %v", inv.response, err)
	}
	ids := []string{}
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

func wantSucceeded(t *testing.T, inv *invocation) {
	t.Helper()
	if inv.failed {
		t.Fatalf("invocation %s failed: %s", inv.id, inv.response)
	}
}

func wantRules(t *testing.T, s *fakeSlack, want ...[]string) {
	t.Helper()
	w := slices.Concat(want...)
	slices.Sort(w)
	if got := s.rules(); !slices.Equal(got, w) {
		t.Fatalf("Slack received messages for rules %q; want %q", got, w)
	}
}

func TestS3NotificationDeliversOnceAcrossRedelivery(t *testing.T) {
	f := newFixture(t, defaultPacks, "env")
	f.putLog(t, fileTrailDeleted)
	fn := f.start(t)

	payload := s3Notification(t, logKey(fileTrailDeleted))
	wantSucceeded(t, f.rt.invoke(t, fn, payload, time.Minute))
	wantRules(t, f.slack, rulesTrailDeleted)
	post := f.slack.allPosts()[0]
	if !strings.Contains(post.Text, "CloudTrail") || !strings.Contains(string(post.Body), "invictus-lab") {
		t.Errorf("message text %q (body %s) should name the trail rule and the account's name", post.Text, post.Body)
	}

	// S3 and SQS deliver at least once: the same notification again sends
	// nothing, because the delivery is recorded in DynamoDB.
	wantSucceeded(t, f.rt.invoke(t, fn, payload, time.Minute))
	wantRules(t, f.slack, rulesTrailDeleted)

	m := fn.metrics(t, 2)
	if len(m) != 2 || m[0]["Events"] != 246.0 || m[0]["Alerts"] != 1.0 || m[1]["Events"] != 246.0 {
		t.Errorf("metrics %v; want two invocations of 246 events, the first with 1 alert", m)
	}
}

func TestS3NotificationViaSQSThenDirect(t *testing.T) {
	f := newFixture(t, defaultPacks, "file")
	f.putLog(t, fileIAM)
	fn := f.start(t)

	body := string(s3Notification(t, logKey(fileIAM)))
	inv := f.rt.invoke(t, fn, sqsBatch(t, [2]string{"5a1c1c5e-0001", body}), time.Minute)
	if ids := batchFailures(t, inv); len(ids) != 0 {
		t.Fatalf("batch item failures %q; want none", ids)
	}
	wantRules(t, f.slack, rulesIAM)

	// The same file announced by another path: nothing new.
	wantSucceeded(t, f.rt.invoke(t, fn, s3Notification(t, logKey(fileIAM)), time.Minute))
	wantRules(t, f.slack, rulesIAM)
}

func TestSQSPoisonMessageFailsAlone(t *testing.T) {
	f := newFixture(t, defaultPacks, "env")
	f.putLog(t, fileFlowLogs)
	f.putLog(t, fileConsoleLogin)
	fn := f.start(t)

	payload := sqsBatch(t,
		[2]string{"msg-flow-logs", string(s3Notification(t, logKey(fileFlowLogs)))},
		[2]string{"msg-poison", `{"Records":[{"eventVersion":`},
		[2]string{"msg-console-login", string(s3Notification(t, logKey(fileConsoleLogin)))},
	)
	inv := f.rt.invoke(t, fn, payload, time.Minute)
	if ids := batchFailures(t, inv); !slices.Equal(ids, []string{"msg-poison"}) {
		t.Fatalf("batch item failures %q; want only msg-poison", ids)
	}
	// The flow-log file also holds the attack's failed attempt to stop a
	// trail.
	wantRules(t, f.slack, rulesFlowLogs, rulesConsoleLogin, []string{"cloudtrail-tampering-failed"})
}

func TestEventBridgeAndCloudWatchLogs(t *testing.T) {
	f := newFixture(t, defaultPacks, "env")
	fn := f.start(t)

	// The AWS documentation's root console sign-in, as EventBridge delivers it.
	wantSucceeded(t, f.rt.invoke(t, fn, readTestdata(t, "eventbridge-signin.json"), time.Minute))
	wantRules(t, f.slack, []string{"root-console-login"})

	// A CloudWatch Logs subscription carrying a real ConsoleLogin record.
	payload := cloudWatchLogs(t, consoleLoginRecord(t))
	wantSucceeded(t, f.rt.invoke(t, fn, payload, time.Minute))
	wantRules(t, f.slack, []string{"root-console-login"}, rulesConsoleLogin)
}

// consoleLoginRecord returns the ConsoleLogin record of fileConsoleLogin.
func consoleLoginRecord(t *testing.T) json.RawMessage {
	t.Helper()
	for _, rec := range records(t, fileConsoleLogin) {
		var ev struct{ EventName string }
		json.Unmarshal(rec, &ev)
		if ev.EventName == "ConsoleLogin" {
			return rec
		}
	}
	t.Fatalf("%s holds no ConsoleLogin", fileConsoleLogin)
	return nil
}

// records returns the records of an Invictus file.
func records(t *testing.T, file string) []json.RawMessage {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(readTestdata(t, filepath.Join("invictus", file))))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Records []json.RawMessage }
	if err := json.NewDecoder(zr).Decode(&doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return doc.Records
}

// cloudWatchLogs builds the payload a CloudWatch Logs subscription filter
// sends: base64 of gzip of a DATA_MESSAGE holding the records as messages.
func cloudWatchLogs(t *testing.T, recs ...json.RawMessage) []byte {
	t.Helper()
	type logEvent struct {
		ID        string `json:"id"`
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	}
	msg := struct {
		MessageType         string     `json:"messageType"`
		Owner               string     `json:"owner"`
		LogGroup            string     `json:"logGroup"`
		LogStream           string     `json:"logStream"`
		SubscriptionFilters []string   `json:"subscriptionFilters"`
		LogEvents           []logEvent `json:"logEvents"`
	}{
		MessageType: "DATA_MESSAGE", Owner: "123837392027",
		LogGroup: "aws-cloudtrail-logs-123837392027", LogStream: "123837392027_CloudTrail_us-east-1",
		SubscriptionFilters: []string{"trailwatch"},
	}
	for i, r := range recs {
		msg.LogEvents = append(msg.LogEvents, logEvent{
			ID:        fmt.Sprintf("3719562384750934872%019d", i),
			Timestamp: time.Date(2023, 7, 10, 12, 23, 15, 0, time.UTC).UnixMilli(),
			Message:   string(r),
		})
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(mustJSON(t, msg))
	zw.Close()
	return mustJSON(t, map[string]any{"awslogs": map[string]string{"data": base64.StdEncoding.EncodeToString(gz.Bytes())}})
}

func TestSlackErrorRetriedWithinInvocation(t *testing.T) {
	f := newFixture(t, defaultPacks, "env")
	f.putLog(t, fileIAM)
	f.slack.setStatus(func(attempt int) int {
		if attempt == 1 {
			return 500
		}
		return 200
	})
	fn := f.start(t)

	wantSucceeded(t, f.rt.invoke(t, fn, s3Notification(t, logKey(fileIAM)), time.Minute))
	wantRules(t, f.slack, rulesIAM)
	if attempts, posts := f.slack.count(); attempts != posts+1 {
		t.Fatalf("Slack saw %d requests for %d messages; want exactly one retried request", attempts, posts)
	}
}

func TestSlackDownFailsInvocationAndRetryDeliversOnce(t *testing.T) {
	f := newFixture(t, defaultPacks, "env")
	f.putLog(t, fileTrailDeleted)
	f.slack.setStatus(func(int) int { return 500 })
	fn := f.start(t)
	payload := s3Notification(t, logKey(fileTrailDeleted))

	inv := f.rt.invoke(t, fn, payload, time.Minute)
	if !inv.failed {
		t.Fatalf("invocation succeeded (%s) although Slack answered 500 to every attempt", inv.response)
	}
	var answer struct{ ErrorMessage string }
	json.Unmarshal(inv.response, &answer)
	want := `receiver "security-slack" (slack) failed to deliver group "security-slack/route/{rule=cloudtrail-deleted}": gave up after 4 attempts: slack webhook answered 500 Internal Server Error: internal error`
	if answer.ErrorMessage != want {
		t.Errorf("error message %q; want %q", answer.ErrorMessage, want)
	}
	if attempts, posts := f.slack.count(); attempts != 4 || posts != 0 {
		t.Fatalf("Slack saw %d requests and accepted %d; want 4 attempts and no message", attempts, posts)
	}

	// Lambda retries the failed event once Slack is back: one message.
	f.slack.setStatus(nil)
	wantSucceeded(t, f.rt.invoke(t, fn, payload, time.Minute))
	wantRules(t, f.slack, rulesTrailDeleted)
	wantSucceeded(t, f.rt.invoke(t, fn, payload, time.Minute))
	wantRules(t, f.slack, rulesTrailDeleted)

	fn.stop()
	logs := fn.stderr.String()
	if !strings.Contains(logs, `"msg":"notify_retry"`) || !strings.Contains(logs, `"msg":"delivery_failed"`) {
		t.Errorf("the logs should show the retries and the failed delivery:\n%s", logs)
	}
	if strings.Contains(logs, f.slack.path) {
		t.Errorf("the function's logs hold the webhook URL:\n%s", logs)
	}
}

// TestStateStoreUnreachableAnswersInTime: with DynamoDB accepting
// connections and never answering, a batch of five log files, 746 events
// the detectors must look up, is answered with a partial batch response
// naming every message, before a 10 s function timeout. It used to run
// into "Task timed out", every log file retried as a whole.
func TestStateStoreUnreachableAnswersInTime(t *testing.T) {
	f := newFixture(t, defaultPacks, "env")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	f.env["AWS_ENDPOINT_URL_DYNAMODB"] = "http://" + ln.Addr().String()
	files := []string{fileTrailDeleted, fileIAM, fileFlowLogs, fileConsoleLogin, fileLargest}
	var msgs [][2]string
	for i, file := range files {
		f.putLog(t, file)
		msgs = append(msgs, [2]string{fmt.Sprintf("msg-%d", i), string(s3Notification(t, logKey(file)))})
	}
	fn := f.start(t)

	const timeout = 10 * time.Second
	start := time.Now()
	inv := f.rt.invoke(t, fn, sqsBatch(t, msgs...), timeout)
	took := inv.answeredAt.Sub(start)
	ids := batchFailures(t, inv)
	if !slices.Equal(ids, []string{"msg-0", "msg-1", "msg-2", "msg-3", "msg-4"}) {
		t.Fatalf("batch item failures %q; want all five messages", ids)
	}
	if took >= timeout {
		t.Fatalf("answered after %s, past the %s timeout", took, timeout)
	}
	if n := len(f.slack.allPosts()); n != 0 {
		t.Errorf("Slack received %d messages although nothing could be recorded as delivered", n)
	}
	t.Logf("answered in %s, every message failed", took.Round(time.Millisecond))
}

// TestTimeBombDoesNotStarveTheBatch: a log file of four million tiny
// records (a few MB gzipped, far more than the function can read in its
// time) sent first in a batch fails alone and is reported as refused; the
// real log file after it is read and delivered. Before, the bomb ate the
// whole invocation and the real file went back to the queue with it.
func TestTimeBombDoesNotStarveTheBatch(t *testing.T) {
	f := newFixture(t, defaultPacks, "env")
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw.Write([]byte(`{"Records":[`))
	rec := []byte(`{"eventVersion":"1.08","eventName":"X","eventSource":"x.amazonaws.com"},`)
	chunk := bytes.Repeat(rec, 10000)
	for range 400 {
		zw.Write(chunk)
	}
	zw.Write([]byte(`{"eventVersion":"1.08"}]}`))
	zw.Close()
	bombKey := "AWSLogs/123837392027/CloudTrail/us-east-1/2023/07/10/123837392027_CloudTrail_us-east-1_20230710T1300Z_bomb.json.gz"
	f.s3.put(t, trailBucket, bombKey, gz.Bytes())
	f.putLog(t, fileTrailDeleted)
	fn := f.start(t)

	const timeout = 10 * time.Second
	start := time.Now()
	inv := f.rt.invoke(t, fn, sqsBatch(t,
		[2]string{"msg-bomb", string(s3Notification(t, bombKey))},
		[2]string{"msg-real", string(s3Notification(t, logKey(fileTrailDeleted)))},
	), timeout)
	took := inv.answeredAt.Sub(start)
	if ids := batchFailures(t, inv); !slices.Equal(ids, []string{"msg-bomb"}) {
		t.Fatalf("batch item failures %q; want only msg-bomb", ids)
	}
	if took >= timeout {
		t.Fatalf("answered after %s, past the %s timeout", took, timeout)
	}
	wantRules(t, f.slack, rulesTrailDeleted, []string{"trailwatch-input-refused"})
	t.Logf("%.1f MB gzipped bomb: answered in %s", float64(gz.Len())/1e6, took.Round(time.Millisecond))
}
