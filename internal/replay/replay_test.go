package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/ingest/archive"
)

// queue is an in-memory SendMessageBatch that fails as told: whole calls,
// entries for SQS's own reasons (sent again), entries as the sender's
// fault (not sent again).
type queue struct {
	mu          sync.Mutex
	bodies      []string
	calls       int
	failCalls   int             // the first calls fail outright
	flaky       map[string]int  // body substring: times to fail as SQS's fault
	refuse      map[string]bool // body substring: refused as the sender's fault
	maxInFlight int
	inFlight    int
}

func (q *queue) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	q.mu.Lock()
	q.calls++
	q.inFlight++
	q.maxInFlight = max(q.maxInFlight, q.inFlight)
	call := q.calls
	q.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.inFlight--
	if len(in.Entries) > BatchSize {
		return nil, errors.New("too many entries")
	}
	if call <= q.failCalls {
		return nil, errors.New("connection reset")
	}
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		body := aws.ToString(e.MessageBody)
		fail := ""
		for k, n := range q.flaky {
			if strings.Contains(body, k) && n > 0 {
				q.flaky[k] = n - 1
				fail = "InternalError"
			}
		}
		for k := range q.refuse {
			if strings.Contains(body, k) {
				out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InvalidMessageContents"), Message: aws.String("refused"), SenderFault: true})
				fail = "-"
			}
		}
		switch fail {
		case "":
			q.bodies = append(q.bodies, body)
			out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String(fmt.Sprint(len(q.bodies)))})
		case "InternalError":
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String(fail), Message: aws.String("try again"), SenderFault: false})
		}
	}
	return out, nil
}

func objects(n int, listErr bool) iter.Seq2[archive.Object, error] {
	return func(yield func(archive.Object, error) bool) {
		for i := range n {
			key := fmt.Sprintf("AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/111122223333_CloudTrail_us-east-1_20240501T%04dZ_k%03d.json.gz", i%2400, i)
			if !yield(archive.Object{Bucket: "trail", Key: key, Size: 100}, nil) {
				return
			}
		}
		if listErr {
			yield(archive.Object{}, &ingest.InputError{Input: "s3://trail/AWSLogs/x/", Err: errors.New("denied")})
		}
	}
}

// TestEveryObjectOnce: 95 objects become 95 notifications in 10 calls,
// with at most Concurrency calls at once; the entries SQS fails are sent
// again, the calls that fail are made again.
func TestEveryObjectOnce(t *testing.T) {
	q := &queue{failCalls: 1, flaky: map[string]int{"k007": 2, "k050": 1}}
	st, err := Run(context.Background(), objects(95, false), q, Options{QueueURL: "https://sqs/q", Region: "us-east-1", Concurrency: 3, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if st.Objects != 95 || st.Sent != 95 || len(q.bodies) != 95 || st.Bytes != 9500 {
		t.Errorf("%+v, %d bodies", st, len(q.bodies))
	}
	seen := map[string]bool{}
	for _, b := range q.bodies {
		if seen[b] {
			t.Errorf("sent twice: %s", b)
		}
		seen[b] = true
	}
	if q.maxInFlight > 3 {
		t.Errorf("%d calls at once, want at most 3", q.maxInFlight)
	}
	if st.Calls != 10+1+3 {
		t.Errorf("%d calls, want 10 batches, 1 failed call and 3 resends (twice for k007, once for k050)", st.Calls)
	}
}

// TestFailuresNamed: an entry refused as the sender's fault and one that
// keeps failing are named; a failed listing is counted; the error says so.
func TestFailuresNamed(t *testing.T) {
	q := &queue{flaky: map[string]int{"k003": 100}, refuse: map[string]bool{"k004": true}}
	st, err := Run(context.Background(), objects(12, true), q, Options{QueueURL: "https://sqs/q", Attempts: 3, Backoff: time.Millisecond})
	if err == nil || err.Error() != "2 of 12 notifications could not be sent\n1 listings failed, so the objects under them were not sent" {
		t.Errorf("error %v", err)
	}
	if st.Sent != 10 || len(st.Failed) != 2 || len(st.ListErrors) != 1 {
		t.Fatalf("%+v", st)
	}
	joined := strings.Join(st.Failed, "\n")
	if !strings.Contains(joined, "k003.json.gz (InternalError: try again)") || !strings.Contains(joined, "k004.json.gz (InvalidMessageContents: refused)") {
		t.Errorf("failed %q", st.Failed)
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	st, err := Run(context.Background(), objects(25, false), nil, Options{DryRun: true})
	if err != nil || st.Objects != 25 || st.Bytes != 2500 || st.Calls != 0 {
		t.Errorf("%+v %v", st, err)
	}
}

// fetcher serves one object's body for any key, recording the keys asked.
type fetcher struct {
	body []byte
	keys []string
}

func (f *fetcher) Open(_ context.Context, bucket, key string) (io.ReadCloser, error) {
	f.keys = append(f.keys, bucket+"/"+key)
	return io.NopCloser(bytes.NewReader(f.body)), nil
}

// TestNotificationReadByIngest: a notification, delivered by SQS to the
// Lambda function, makes ingest fetch exactly the object it names, keys
// with spaces and pluses included.
func TestNotificationReadByIngest(t *testing.T) {
	key := "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/odd key+name=1.json.gz"
	body, err := Notification(archive.Object{Bucket: "trail", Key: key, Size: 10}, "eu-west-1", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var n struct {
		Records []struct {
			EventSource, EventName, AWSRegion string
			S3                                struct{ Object struct{ Key string } }
		}
	}
	if err := json.Unmarshal(body, &n); err != nil || len(n.Records) != 1 || n.Records[0].EventName != "ObjectCreated:Put" ||
		n.Records[0].S3.Object.Key != "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/odd+key%2Bname%3D1.json.gz" {
		t.Fatalf("%s: %v", body, err)
	}
	f := &fetcher{body: []byte(`{"Records":[{"eventVersion":"1.08","eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","eventTime":"2024-05-01T00:00:00Z","eventID":"e1"}]}`)}
	quoted, _ := json.Marshal(string(body))
	lambdaEvent := fmt.Sprintf(`{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":%s}]}`, quoted)
	var ids []string
	for ev, err := range ingest.New(ingest.Options{Fetcher: f}).Payload(context.Background(), "sqs", []byte(lambdaEvent)) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.ID())
	}
	if len(f.keys) != 1 || f.keys[0] != "trail/"+key || len(ids) != 1 {
		t.Errorf("fetched %q, events %q", f.keys, ids)
	}
}
