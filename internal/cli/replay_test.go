package cli

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/trailwatch/trailwatch/internal/ingest"
)

// fakeSQS speaks the two SQS calls replay makes over the AWS JSON 1.0
// protocol (X-Amz-Target AmazonSQS.*), answering with the MD5 digests the
// SDK checks, and keeps every message body it accepted.
type fakeSQS struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []string
	calls  int
}

func newFakeSQS(t *testing.T) *fakeSQS {
	f := &fakeSQS{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.0") {
			http.Error(w, `{"__type":"com.amazonaws.sqs#InvalidAction"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		switch r.Header.Get("X-Amz-Target") {
		case "AmazonSQS.GetQueueUrl":
			var in struct{ QueueName, QueueOwnerAWSAccountId string }
			json.NewDecoder(r.Body).Decode(&in)
			fmt.Fprintf(w, `{"QueueUrl":%q}`, f.srv.URL+"/"+in.QueueOwnerAWSAccountId+"/"+in.QueueName)
		case "AmazonSQS.SendMessageBatch":
			var in struct {
				QueueURL string `json:"QueueUrl"`
				Entries  []struct{ Id, MessageBody string }
			}
			json.NewDecoder(r.Body).Decode(&in)
			if len(in.Entries) == 0 || len(in.Entries) > 10 || !strings.HasSuffix(in.QueueURL, "/111122223333/trailwatch-log-files") {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"__type":"com.amazonaws.sqs#TooManyEntriesInBatchRequest","message":"bad batch"}`)
				return
			}
			type ok struct{ Id, MessageId, MD5OfMessageBody string }
			var out struct{ Successful []ok }
			f.mu.Lock()
			f.calls++
			for _, e := range in.Entries {
				f.bodies = append(f.bodies, e.MessageBody)
				sum := md5.Sum([]byte(e.MessageBody))
				out.Successful = append(out.Successful, ok{e.Id, fmt.Sprint(len(f.bodies)), hex.EncodeToString(sum[:])})
			}
			f.mu.Unlock()
			json.NewEncoder(w).Encode(out)
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"com.amazonaws.sqs#InvalidAction","message":"unknown action"}`)
		}
	}))
	t.Cleanup(f.srv.Close)
	t.Setenv("AWS_ENDPOINT_URL_SQS", f.srv.URL)
	return f
}

// TestReplaySendsNotificationsTheFunctionReads: replay over the sample
// trail sends one S3 notification per log file in range, ten to a call;
// fed to the Lambda ingest path as an SQS batch, they make it read exactly
// those files.
func TestReplaySendsNotificationsTheFunctionReads(t *testing.T) {
	e := newS3Env(t, "trail")
	victim, attacker, broken, other := sampleTrail(t, e)
	for i := range 25 { // enough for several batches
		e.putFile(t, "trail", fmt.Sprintf("AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/11/218007301253_CloudTrail_us-east-1_20230711T%02d%02dZ_c%d.json.gz", i/6, i%6*10, i),
			"../../testdata/sample/invictus/218007301253_CloudTrail_us-east-1_20230710T1230Z_ZtUNbBkwAu98FPZb.json.gz")
	}
	q := newFakeSQS(t)

	out, errOut, code := runCmd(t, newRootCmd(), "", "replay", "s3://trail/AWSLogs/", "--dry-run", "--account", "493859302102")
	if code != 0 || !strings.HasPrefix(out, "3 log files (") || !strings.Contains(out, "replay would send 3 notifications in 1 SendMessageBatch call") || q.calls != 0 {
		t.Errorf("dry run: exit %d, %q %q, %d calls", code, out, errOut, q.calls)
	}

	out, errOut, code = runCmd(t, newRootCmd(), "", "replay", "s3://trail/AWSLogs/", "--since", "2020-10-29",
		"--queue", "arn:aws:sqs:us-east-1:111122223333:trailwatch-log-files")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "sent 28 notifications for 28 log files") || q.calls != 3 {
		t.Errorf("%q, %d calls", out, q.calls)
	}
	// The notifications, as the function receives them from SQS.
	var records []string
	for i, b := range q.bodies {
		quoted, _ := json.Marshal(b)
		records = append(records, fmt.Sprintf(`{"messageId":"m%d","eventSource":"aws:sqs","body":%s}`, i, quoted))
	}
	batch := `{"Records":[` + strings.Join(records, ",") + `]}`
	read := map[string]bool{}
	for ev, err := range ingest.New(ingest.Options{Fetcher: &lazyS3Fetcher{}}).Payload(context.Background(), "sqs", []byte(batch)) {
		if err == nil {
			read[ev.Origin().Input] = true
		}
	}
	if read["s3://trail/"+victim] || !read["s3://trail/"+attacker] || !read["s3://trail/"+other] || len(read) != 28 {
		t.Errorf("the function read %d files, want the 28 in range (the truncated %s in part)", len(read), broken)
	}
	var keys []string
	for _, b := range q.bodies {
		var n struct {
			Records []struct {
				EventSource, EventName string
				S3                     struct {
					Bucket struct{ Name string }
					Object struct{ Key string }
				}
			}
		}
		if err := json.Unmarshal([]byte(b), &n); err != nil || len(n.Records) != 1 || n.Records[0].EventSource != "aws:s3" || n.Records[0].S3.Bucket.Name != "trail" {
			t.Fatalf("notification %s", b)
		}
		keys = append(keys, n.Records[0].S3.Object.Key)
	}
	if !slices.Contains(keys, broken) {
		t.Errorf("the truncated object was not sent: replay sends every object in range")
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"s3://trail/AWSLogs/"}, "--queue is required (the queue's URL or ARN), unless --dry-run"},
		{[]string{"s3://trail/AWSLogs/", "--queue", "https://sqs.us-east-1.amazonaws.com/1/q.fifo"}, "--queue https://sqs.us-east-1.amazonaws.com/1/q.fifo is a FIFO queue; replay sends to the standard log-file queue the stack deploys"},
		{[]string{"s3://trail/AWSLogs/", "--queue", "arn:aws:sns:us-east-1:1:t"}, "--queue arn:aws:sns:us-east-1:1:t is not an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)"},
		{[]string{"AWSLogs/", "--dry-run"}, `"AWSLogs/" is not an S3 prefix: replay reads s3://bucket/prefix/`},
	} {
		_, errOut, code := runCmd(t, newRootCmd(), "", append([]string{"replay"}, tc.args...)...)
		if code != 1 || strings.TrimSpace(errOut) != tc.want {
			t.Errorf("%q: exit %d, %q", tc.args, code, errOut)
		}
	}
}

func TestQueueAddress(t *testing.T) {
	for q, want := range map[string]string{
		"https://sqs.eu-west-1.amazonaws.com/111122223333/tw":   "eu-west-1",
		"https://eu-west-1.queue.amazonaws.com/111122223333/tw": "eu-west-1",
		"http://127.0.0.1:4566/111122223333/tw":                 "",
		"arn:aws:sqs:ap-northeast-1:111122223333:tw":            "ap-northeast-1",
	} {
		region, _, _, err := queueAddress(q)
		if err != nil || region != want {
			t.Errorf("%s: %q %v", q, region, err)
		}
	}
}
