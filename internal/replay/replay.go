// Package replay sends the deployed trailwatch queue an S3 event
// notification for each archived CloudTrail log file, exactly as S3 sends
// one when CloudTrail delivers a file, so that the Lambda functions read
// the archive in parallel with the deployed rules, state and idempotent
// delivery.
//
// Each message carries one notification of one object: a message that
// fails in the function (an unreadable file, an undeliverable alert) is
// retried and dead-lettered on its own, as a live delivery would be.
// Messages go ten to a SendMessageBatch call, calls run concurrently, and
// entries SQS refuses for a reason of its own are sent again with backoff;
// entries refused as the sender's fault, and entries that still fail after
// every attempt, are reported by object.
package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/trailwatch/trailwatch/internal/ingest/archive"
)

// Sender is the one SQS call replay makes; *sqs.Client has it.
type Sender interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// BatchSize is the most entries SendMessageBatch takes.
const BatchSize = 10

// Options configure a replay.
type Options struct {
	// QueueURL is the queue's URL.
	QueueURL string
	// Region is the bucket's region, written as the notifications'
	// awsRegion.
	Region string
	// Concurrency is how many SendMessageBatch calls run at once; 0 means 4.
	Concurrency int
	// Attempts bounds the sends of one entry; 0 means 5.
	Attempts int
	// Backoff is the first wait before sending again, doubled each time; 0
	// means 200 ms.
	Backoff time.Duration
	// DryRun counts the objects without sending anything.
	DryRun bool
	// Now stamps the notifications; nil means time.Now.
	Now func() time.Time
}

// Stats says what a replay did.
type Stats struct {
	// Objects and Bytes count the log files in range.
	Objects int
	Bytes   int64
	// Sent counts the notifications SQS accepted; Calls the
	// SendMessageBatch calls made, retries included.
	Sent, Calls int
	// Failed names the objects whose notification could not be sent.
	Failed []string
	// ListErrors are the listings that failed, so that objects under them
	// were never seen.
	ListErrors []error
}

// Run sends a notification for every object of objects (see
// archive.Source.Objects) and returns what it did. The error is non-nil
// when anything was not sent or not listed; Stats names what.
func Run(ctx context.Context, objects iter.Seq2[archive.Object, error], send Sender, o Options) (Stats, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = 200 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if !o.DryRun && (send == nil || o.QueueURL == "") {
		return Stats{}, errors.New("replay: no queue to send to")
	}
	var (
		st      Stats
		mu      sync.Mutex // guards st.Sent, st.Calls, st.Failed
		wg      sync.WaitGroup
		batches = make(chan []archive.Object)
	)
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				sent, calls, failed := sendBatch(ctx, send, o, b)
				mu.Lock()
				st.Sent += sent
				st.Calls += calls
				st.Failed = append(st.Failed, failed...)
				mu.Unlock()
			}
		}()
	}
	batch := make([]archive.Object, 0, BatchSize)
	flush := func() bool {
		if len(batch) == 0 || o.DryRun {
			batch = batch[:0]
			return true
		}
		select {
		case batches <- batch:
			batch = make([]archive.Object, 0, BatchSize)
			return true
		case <-ctx.Done():
			return false
		}
	}
	for obj, err := range objects {
		if err != nil {
			st.ListErrors = append(st.ListErrors, err)
			continue
		}
		st.Objects++
		st.Bytes += obj.Size
		batch = append(batch, obj)
		if len(batch) == BatchSize && !flush() {
			break
		}
	}
	flush()
	close(batches)
	wg.Wait()
	var errs []error
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	if n := len(st.Failed); n > 0 {
		errs = append(errs, fmt.Errorf("%d of %d notifications could not be sent", n, st.Objects))
	}
	if n := len(st.ListErrors); n > 0 {
		errs = append(errs, fmt.Errorf("%d listings failed, so the objects under them were not sent", n))
	}
	return st, errors.Join(errs...)
}

// sendBatch sends one batch, sending again the entries that fail for
// reasons not the sender's, and returns how many were accepted, the calls
// made and the objects that could not be sent.
func sendBatch(ctx context.Context, send Sender, o Options, objs []archive.Object) (sent, calls int, failed []string) {
	pending := map[string]archive.Object{}
	entries := make([]types.SendMessageBatchRequestEntry, 0, len(objs))
	for i, obj := range objs {
		body, err := Notification(obj, o.Region, o.Now())
		if err != nil {
			failed = append(failed, obj.URI())
			continue
		}
		id := strconv.Itoa(i)
		pending[id] = obj
		entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(string(body))})
	}
	wait := o.Backoff
	why := map[string]string{}
	for attempt := 1; len(entries) > 0 && attempt <= o.Attempts; attempt++ {
		if attempt > 1 {
			d := wait/2 + rand.N(wait/2+1)
			select {
			case <-time.After(d):
			case <-ctx.Done():
				attempt = o.Attempts
				continue
			}
			wait = min(2*wait, 20*time.Second)
		}
		calls++
		out, err := send.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(o.QueueURL), Entries: entries})
		if err != nil {
			for _, e := range entries {
				why[aws.ToString(e.Id)] = err.Error()
			}
			continue // the whole call failed: send every entry again
		}
		for _, s := range out.Successful {
			if _, ok := pending[aws.ToString(s.Id)]; ok {
				delete(pending, aws.ToString(s.Id))
				sent++
			}
		}
		retry := entries[:0]
		refused := map[string]bool{}
		for _, f := range out.Failed {
			id := aws.ToString(f.Id)
			why[id] = aws.ToString(f.Code) + ": " + aws.ToString(f.Message)
			if f.SenderFault {
				refused[id] = true
			}
		}
		for _, e := range entries {
			id := aws.ToString(e.Id)
			if _, ok := pending[id]; !ok {
				continue
			}
			if refused[id] {
				failed = append(failed, pending[id].URI()+" ("+why[id]+")")
				delete(pending, id)
				continue
			}
			retry = append(retry, e)
		}
		entries = retry
	}
	for id, obj := range pending {
		failed = append(failed, obj.URI()+" ("+why[id]+")")
	}
	return sent, calls, failed
}

// notification is the JSON S3 sends for an object created.
type notification struct {
	Records []record `json:"Records"`
}

type record struct {
	EventVersion string `json:"eventVersion"`
	EventSource  string `json:"eventSource"`
	AWSRegion    string `json:"awsRegion"`
	EventTime    string `json:"eventTime"`
	EventName    string `json:"eventName"`
	UserIdentity struct {
		PrincipalID string `json:"principalId"`
	} `json:"userIdentity"`
	S3 struct {
		SchemaVersion   string `json:"s3SchemaVersion"`
		ConfigurationID string `json:"configurationId"`
		Bucket          struct {
			Name string `json:"name"`
			ARN  string `json:"arn"`
		} `json:"bucket"`
		Object struct {
			Key       string `json:"key"`
			Size      int64  `json:"size"`
			Sequencer string `json:"sequencer"`
		} `json:"object"`
	} `json:"s3"`
}

// ConfigurationID names replayed notifications, so that they can be told
// from S3's own in logs.
const ConfigurationID = "trailwatch-replay"

// Notification returns the S3 event notification S3 sends when o is
// created: one ObjectCreated:Put record whose key is URL-encoded as S3
// encodes it (spaces as "+", "/" kept).
func Notification(o archive.Object, region string, now time.Time) ([]byte, error) {
	if o.Bucket == "" || o.Key == "" {
		return nil, errors.New("replay: an object needs a bucket and a key")
	}
	var r record
	r.EventVersion, r.EventSource, r.EventName = "2.1", "aws:s3", "ObjectCreated:Put"
	r.AWSRegion = region
	r.EventTime = now.UTC().Format("2006-01-02T15:04:05.000Z")
	r.UserIdentity.PrincipalID = ConfigurationID
	r.S3.SchemaVersion, r.S3.ConfigurationID = "1.0", ConfigurationID
	r.S3.Bucket.Name, r.S3.Bucket.ARN = o.Bucket, "arn:aws:s3:::"+o.Bucket
	r.S3.Object.Key = EncodeKey(o.Key)
	r.S3.Object.Size = o.Size
	r.S3.Object.Sequencer = strconv.FormatInt(now.UnixNano(), 16)
	return json.Marshal(notification{Records: []record{r}})
}

// EncodeKey encodes an object key as S3 notifications carry it.
func EncodeKey(key string) string {
	return strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
}
