package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// fakeFetcher serves objects from a map keyed "bucket/key" and records
// every Open.
type fakeFetcher struct {
	mu      sync.Mutex
	objects map[string][]byte
	opened  []string
}

func (f *fakeFetcher) Open(_ context.Context, bucket, key string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened = append(f.opened, bucket+"/"+key)
	b, ok := f.objects[bucket+"/"+key]
	if !ok {
		return nil, fmt.Errorf("NoSuchKey: %s/%s", bucket, key)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonString returns s as a JSON string literal.
func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func payload(t *testing.T, r *Reader, name string, p []byte) collected {
	t.Helper()
	return collect(t, r.Payload(context.Background(), name, p))
}

func TestOTelEdgeCases(t *testing.T) {
	r := New(Options{})
	c := payload(t, r, "cloudtrail_log.json", mustRead(t, "testdata/otel/cloudtrail_log.json"))
	if len(c.events) != 7 || c.errs() != 0 || len(c.skips) != 0 {
		t.Fatalf("got %d events, %v %v %v; want 7 events", len(c.events), c.skips, c.records, c.inputs)
	}
	var insight, boolMFA, noType, errCode bool
	for _, ev := range c.events {
		if ev.Type() == "AwsCloudTrailInsight" {
			insight = true
		}
		if v := ev.Value().Get("additionalEventData", "MFAUsed"); v != nil && v.Type().String() == "true" {
			used, known := ev.MFAUsed()
			boolMFA = used && known
		}
		if ev.Value().Get("userIdentity") != nil && ev.Str("userIdentity", "type") == "" {
			noType = true
			if ev.Principal().Type == "" {
				t.Errorf("identity without a type gave an empty principal type")
			}
		}
		if ev.ErrorCode() != "" {
			errCode = true
		}
		if o := ev.Origin(); o.Input != "cloudtrail_log.json" || o.Path != "payload" {
			t.Errorf("origin %+v", o)
		}
	}
	if !insight || !boolMFA || !noType || !errCode {
		t.Errorf("insight=%v boolean MFAUsed=%v identity without type=%v errorCode=%v; want all true", insight, boolMFA, noType, errCode)
	}

	t.Run("digest file is skipped", func(t *testing.T) {
		c := payload(t, r, "digest.json", mustRead(t, "testdata/otel/cloudtrail_digest.json"))
		if len(c.events) != 0 || c.errs() != 0 || len(c.skips) != 1 || !strings.Contains(c.skips[0].Reason, "digest") {
			t.Fatalf("got %d events, skips %v, errors %v %v", len(c.events), c.skips, c.records, c.inputs)
		}
	})
	t.Run("control message is skipped", func(t *testing.T) {
		c := payload(t, r, "control.json", mustRead(t, "testdata/otel/valid_cloudwatch_log_control.json"))
		if len(c.events) != 0 || c.errs() != 0 || len(c.skips) != 1 || !strings.Contains(c.skips[0].Reason, "control message") {
			t.Fatalf("got %d events, skips %v, errors %v %v", len(c.events), c.skips, c.records, c.inputs)
		}
	})
	t.Run("decoded CloudWatch Logs payload", func(t *testing.T) {
		c := payload(t, r, "cw.json", mustRead(t, "testdata/otel/cloudtrail_log_cw.json"))
		if len(c.events) != 1 || c.errs() != 0 || len(c.skips) != 0 {
			t.Fatalf("got %d events, skips %v, errors %v %v", len(c.events), c.skips, c.records, c.inputs)
		}
		if ev := c.events[0]; ev.Name() != "PutObject" || ev.Origin().Path != "cloudwatch-logs" {
			t.Errorf("event %s origin %+v", ev, ev.Origin())
		}
	})
	t.Run("raw awslogs payload", func(t *testing.T) {
		c := payload(t, r, "awslogs", awslogsPayload(t, mustRead(t, "testdata/otel/cloudtrail_log_cw.json")))
		if len(c.events) != 1 || c.errs() != 0 || len(c.skips) != 0 {
			t.Fatalf("got %d events, skips %v, errors %v %v", len(c.events), c.skips, c.records, c.inputs)
		}
		if ev := c.events[0]; ev.Name() != "PutObject" || ev.Origin().Path != "cloudwatch-logs" || ev.Origin().Index != 0 {
			t.Errorf("event %s origin %+v", ev, ev.Origin())
		}
	})
}

// awslogsPayload wraps a decoded CloudWatch Logs payload as Lambda receives
// it: base64 of gzip.
func awslogsPayload(t *testing.T, decoded []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(decoded)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return []byte(`{"awslogs":{"data":"` + base64.StdEncoding.EncodeToString(z.Bytes()) + `"}}`)
}

func TestAWSDocsExamples(t *testing.T) {
	f, err := os.Open("testdata/aws-docs-examples.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := New(Options{})
	kinds := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var ex struct {
			Kind    string          `json:"kind"`
			Example json.RawMessage `json:"example"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ex); err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		kinds[ex.Kind]++
		name := fmt.Sprintf("aws-docs-examples.jsonl:%d", line)
		c := payload(t, r, name, ex.Example)
		switch ex.Kind {
		case "cloudtrail_event":
			if len(c.events) != 1 || c.errs()+len(c.skips) != 0 {
				t.Errorf("%s: %s gave %d events, %v %v %v", name, ex.Kind, len(c.events), c.skips, c.records, c.inputs)
			}
		case "records_file":
			var rf struct{ Records []json.RawMessage }
			json.Unmarshal(ex.Example, &rf)
			if len(c.events) != len(rf.Records) || c.errs()+len(c.skips) != 0 {
				t.Errorf("%s: records file with %d records gave %d events, %v %v %v", name, len(rf.Records), len(c.events), c.skips, c.records, c.inputs)
			}
		case "eventbridge_cloudtrail_envelope":
			var eb struct {
				Detail struct {
					EventName string `json:"eventName"`
				} `json:"detail"`
			}
			json.Unmarshal(ex.Example, &eb)
			if len(c.events) != 1 || c.errs()+len(c.skips) != 0 {
				t.Fatalf("%s: EventBridge envelope gave %d events, %v %v %v", name, len(c.events), c.skips, c.records, c.inputs)
			}
			if ev := c.events[0]; ev.Name() != eb.Detail.EventName || ev.Origin().Path != "eventbridge" {
				t.Errorf("%s: got %s via %q, want %s via eventbridge", name, ev.Name(), ev.Origin().Path, eb.Detail.EventName)
			}
		case "eventbridge_other_event":
			if len(c.events) != 0 || c.errs() != 0 || len(c.skips) != 1 || !strings.Contains(c.skips[0].Reason, "not a CloudTrail event") {
				t.Errorf("%s: non-CloudTrail EventBridge event gave %d events, %v %v %v", name, len(c.events), c.skips, c.records, c.inputs)
			}
		case "cloudwatch_logs_subscription_payload":
			var cw struct{ LogEvents []json.RawMessage }
			json.Unmarshal(ex.Example, &cw)
			if len(c.events) != 0 || len(c.records) != len(cw.LogEvents) || len(c.inputs) != 0 {
				t.Fatalf("%s: truncated CloudWatch Logs messages gave %d events and %d record errors, want 0 and %d", name, len(c.events), len(c.records), len(cw.LogEvents))
			}
			for i, re := range c.records {
				if re.Index != i || re.Input != name || !strings.Contains(re.Error(), fmt.Sprintf("log event %d", i)) {
					t.Errorf("record error %d: %v", i, re)
				}
			}
		default:
			t.Errorf("%s: unknown kind %q", name, ex.Kind)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"cloudtrail_event": 31, "records_file": 9, "eventbridge_cloudtrail_envelope": 2, "eventbridge_other_event": 148, "cloudwatch_logs_subscription_payload": 3}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d examples of kind %s, want %d", kinds[k], k, n)
		}
	}
}

func TestOTRFJSONLines(t *testing.T) {
	r := New(Options{})
	c := collect(t, r.Paths(context.Background(), []string{"testdata/otrf-ec2-proxy-s3-exfiltration-2020-09-14.ndjson.gz"}))
	if len(c.events) != 103 || c.errs()+len(c.skips) != 0 {
		t.Fatalf("got %d events, %v %v %v; want 103", len(c.events), c.skips, c.records, c.inputs)
	}
	for i, ev := range c.events {
		if ev.Origin().Index != i || ev.Name() == "" {
			t.Fatalf("event %d: %s %+v", i, ev, ev.Origin())
		}
	}
}

func TestLambdaGoS3EventIsANotification(t *testing.T) {
	p := mustRead(t, "testdata/aws-lambda-go/s3-event.json")
	t.Run("fetches the URL-decoded key", func(t *testing.T) {
		ff := &fakeFetcher{objects: map[string][]byte{"sourcebucket/Happy Face.jpg": []byte("\x89PNG\r\n")}}
		c := payload(t, New(Options{Fetcher: ff}), "s3-event.json", p)
		if !slices.Equal(ff.opened, []string{"sourcebucket/Happy Face.jpg"}) {
			t.Fatalf("opened %q", ff.opened)
		}
		// The object is not JSON: skipped as a non-CloudTrail object.
		if len(c.events) != 0 || c.errs() != 0 || len(c.skips) != 1 || c.skips[0].Input != "s3://sourcebucket/Happy Face.jpg" {
			t.Fatalf("got %d events, %v %v %v", len(c.events), c.skips, c.records, c.inputs)
		}
	})
	t.Run("without a fetcher", func(t *testing.T) {
		c := payload(t, New(Options{}), "s3-event.json", p)
		if len(c.events) != 0 || len(c.inputs) != 1 || c.inputs[0].Input != "s3://sourcebucket/Happy Face.jpg" ||
			!strings.Contains(c.inputs[0].Error(), "no S3 client") {
			t.Fatalf("got %d events, %v %v %v", len(c.events), c.skips, c.records, c.inputs)
		}
	})
}

func TestLambdaGoCloudWatchLogsEvent(t *testing.T) {
	c := payload(t, New(Options{}), "cloudwatch-logs-event.json", mustRead(t, "testdata/aws-lambda-go/cloudwatch-logs-event.json"))
	if len(c.events) != 0 || len(c.records) != 2 || len(c.inputs) != 0 {
		t.Fatalf("got %d events, %v %v %v; want 2 record errors", len(c.events), c.skips, c.records, c.inputs)
	}
	for i, re := range c.records {
		if re.Index != i || !strings.Contains(re.Error(), "is not a CloudTrail JSON event") {
			t.Errorf("record error %d: %v", i, re)
		}
	}
}

// invictusFile is one small real log file, gzipped as CloudTrail delivers it.
const invictusFile = "testdata/invictus/218007301253_CloudTrail_us-east-1_20230710T1230Z_KV9LZlfXqBel7nqf.json.gz"

func invictusCount(t *testing.T, name string) int {
	t.Helper()
	raw, err := readGzipFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var rf struct{ Records []json.RawMessage }
	if err := json.Unmarshal(raw, &rf); err != nil {
		t.Fatal(err)
	}
	return len(rf.Records)
}

const ebConsoleLogin = `{"version":"0","id":"6f87d04b","detail-type":"AWS Console Sign In via CloudTrail","source":"aws.signin","account":"123456789012","time":"2016-01-05T18:21:27Z","region":"us-east-1","resources":[],"detail":{"eventVersion":"1.02","userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012"},"eventTime":"2016-01-05T18:21:27Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"0.0.0.0","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"},"eventID":"e-root-login","eventType":"AwsConsoleSignIn"}}`

func s3Notification(bucket, key string) string {
	return `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"` + bucket + `"},"object":{"key":"` + key + `"}}}]}`
}

func snsRaw(t *testing.T, msg string) string {
	return `{"Type":"Notification","MessageId":"sns-1","TopicArn":"arn:aws:sns:us-east-1:123456789012:trail","Message":` + jsonString(t, msg) + `}`
}

func TestSNSAndSQS(t *testing.T) {
	const bucket, key = "trail-bucket", "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/218007301253_CloudTrail_us-east-1_20230710T1230Z_KV9LZlfXqBel7nqf.json.gz"
	ff := &fakeFetcher{objects: map[string][]byte{bucket + "/" + key: mustRead(t, invictusFile)}}
	r := New(Options{Fetcher: ff})
	n := invictusCount(t, invictusFile)
	encKey := strings.ReplaceAll(key, "_", "%5F") // keys arrive URL-encoded

	lambdaSNS := func(msg string) string {
		return `{"Records":[{"EventSource":"aws:sns","EventVersion":"1.0","Sns":{"Type":"Notification","MessageId":"m1","Message":` + jsonString(t, msg) + `}}]}`
	}
	cases := []struct {
		name, payload string
		events        int
		path          string
	}{
		{"SNS raw wrapping EventBridge", snsRaw(t, ebConsoleLogin), 1, "sns"},
		{"Lambda SNS wrapping EventBridge", lambdaSNS(ebConsoleLogin), 1, "sns"},
		{"Lambda SNS wrapping CloudTrail notification", lambdaSNS(`{"s3Bucket":"` + bucket + `","s3ObjectKey":["` + key + `"]}`), n, "sns"},
		{"Lambda SNS wrapping S3 notification", lambdaSNS(s3Notification(bucket, encKey)), n, "sns"},
		{"S3 notification", s3Notification(bucket, encKey), n, "s3"},
		{"EventBridge Object Created", `{"version":"0","detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"` + bucket + `"},"object":{"key":"` + key + `"}}}`, n, "eventbridge"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := payload(t, r, "payload", []byte(tc.payload))
			if len(c.events) != tc.events || c.errs()+len(c.skips) != 0 {
				t.Fatalf("got %d events, %v %v %v; want %d", len(c.events), c.skips, c.records, c.inputs, tc.events)
			}
			for _, ev := range c.events {
				if ev.Origin().Path != tc.path {
					t.Fatalf("path %q, want %q", ev.Origin().Path, tc.path)
				}
			}
		})
	}

	t.Run("SQS with a poison message", func(t *testing.T) {
		msgs := []struct{ id, body string }{
			{"msg-eventbridge", ebConsoleLogin},
			{"msg-poison", `{"Records":[{"eventSource":"aws:s3", broken`},
			{"msg-s3-sns", snsRaw(t, s3Notification(bucket, encKey))},
			{"msg-s3", s3Notification(bucket, encKey)},
		}
		var b strings.Builder
		b.WriteString(`{"Records":[`)
		for i, m := range msgs {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"messageId":%q,"receiptHandle":"h","body":%s,"attributes":{},"eventSource":"aws:sqs","awsRegion":"us-east-1"}`, m.id, jsonString(t, m.body))
		}
		b.WriteString(`]}`)
		c := payload(t, r, "sqs-batch", []byte(b.String()))
		// The body is a log file, read record by record: the error names
		// the record within it, and the message.
		if len(c.records) != 1 || c.records[0].MessageID != "msg-poison" || c.records[0].Index != 0 || len(c.inputs)+len(c.skips) != 0 {
			t.Fatalf("errors %v %v skips %v; want one record error for msg-poison", c.records, c.inputs, c.skips)
		}
		if !strings.Contains(c.records[0].Error(), "sqs-batch record 0 (SQS message msg-poison)") {
			t.Errorf("error %q does not name the input and message", c.records[0])
		}
		if len(c.events) != 1+2*n {
			t.Fatalf("got %d events, want %d", len(c.events), 1+2*n)
		}
		perMsg := map[string]int{}
		for _, ev := range c.events {
			o := ev.Origin()
			if o.Path != "sqs" {
				t.Fatalf("origin %+v", o)
			}
			perMsg[o.MessageID]++
		}
		if perMsg["msg-eventbridge"] != 1 || perMsg["msg-s3-sns"] != n || perMsg["msg-s3"] != n {
			t.Errorf("events per message %v", perMsg)
		}
	})
}

func TestSQSBodyWithMissingObject(t *testing.T) {
	r := New(Options{Fetcher: &fakeFetcher{}})
	body := s3Notification("b", "AWSLogs/1/CloudTrail/x.json.gz")
	p := `{"Records":[{"messageId":"m-1","body":` + jsonString(t, body) + `,"eventSource":"aws:sqs"}]}`
	c := payload(t, r, "sqs", []byte(p))
	if len(c.inputs) != 1 || c.inputs[0].MessageID != "m-1" || c.inputs[0].Input != "s3://b/AWSLogs/1/CloudTrail/x.json.gz" {
		t.Fatalf("got %v %v", c.inputs, c.records)
	}
}

func TestS3KeysAndDigests(t *testing.T) {
	ff := &fakeFetcher{objects: map[string][]byte{
		"b/AWSLogs/1/CloudTrail/a b+c.json": []byte(`{"Records":[{"eventVersion":"1.08","eventName":"GetObject","eventID":"1"}]}`),
		"b/AWSLogs/1/other/config.json":     []byte(`{"configurationItems":[]}`),
	}}
	r := New(Options{Fetcher: ff})
	c := payload(t, r, "n", []byte(s3Notification("b", "AWSLogs/1/CloudTrail/a+b%2Bc.json")))
	if len(c.events) != 1 || c.events[0].Origin().Input != "s3://b/AWSLogs/1/CloudTrail/a b+c.json" {
		t.Fatalf("got %d events, %v %v %v", len(c.events), c.skips, c.records, c.inputs)
	}

	c = payload(t, r, "n", []byte(s3Notification("b", "AWSLogs/1/CloudTrail-Digest/us-east-1/2025/10/21/d.json.gz")))
	if len(c.skips) != 1 || c.errs() != 0 || !strings.Contains(c.skips[0].Error(), "digest") {
		t.Fatalf("digest key: %v %v %v", c.skips, c.records, c.inputs)
	}
	if slices.ContainsFunc(ff.opened, func(s string) bool { return strings.Contains(s, "Digest") }) {
		t.Errorf("digest object was fetched: %q", ff.opened)
	}

	c = payload(t, r, "n", []byte(s3Notification("b", "AWSLogs/1/other/config.json")))
	if len(c.skips) != 1 || c.errs() != 0 || len(c.events) != 0 {
		t.Fatalf("non-CloudTrail object: %v %v %v", c.skips, c.records, c.inputs)
	}

	c = payload(t, r, "n", []byte(strings.Replace(s3Notification("b", "k"), "ObjectCreated:Put", "ObjectRemoved:Delete", 1)))
	if len(c.skips) != 1 || c.errs() != 0 {
		t.Fatalf("ObjectRemoved: %v %v %v", c.skips, c.records, c.inputs)
	}
	c = payload(t, r, "n", []byte(s3Notification("b", "bad%zzkey")))
	if len(c.records) != 1 || !strings.Contains(c.records[0].Error(), "URL-encoded") {
		t.Fatalf("bad key: %v %v %v", c.skips, c.records, c.inputs)
	}
}

func TestMalformedInputs(t *testing.T) {
	r := New(Options{})
	gz := mustRead(t, invictusFile)
	n := invictusCount(t, invictusFile)

	t.Run("truncated gzip", func(t *testing.T) {
		c := collect(t, r.Stream(context.Background(), "cut.json.gz", bytes.NewReader(gz[:len(gz)/2])))
		if len(c.events) == 0 || len(c.events) >= n || len(c.records) != 1 || len(c.inputs) != 0 {
			t.Fatalf("got %d of %d events, %v %v", len(c.events), n, c.records, c.inputs)
		}
		re := c.records[0]
		if re.Input != "cut.json.gz" || re.Index != len(c.events) || !errors.Is(re, io.ErrUnexpectedEOF) {
			t.Errorf("record error %v (index %d, %d events before it)", re, re.Index, len(c.events))
		}
	})
	t.Run("not gzip after the magic bytes", func(t *testing.T) {
		c := collect(t, r.Stream(context.Background(), "x.gz", bytes.NewReader([]byte{0x1f, 0x8b, 0, 0})))
		if len(c.inputs) != 1 || !strings.Contains(c.inputs[0].Error(), "x.gz: gzip") {
			t.Fatalf("%v %v", c.inputs, c.records)
		}
	})
	t.Run("bad record inside Records", func(t *testing.T) {
		in := `{"Records":[{"eventVersion":"1","eventID":"a"},{"eventVersion":"1","eventID":},{"eventVersion":"1","eventID":"c"}, 7, {"eventVersion":"1","eventID":"d"}]}`
		c := collect(t, r.Stream(context.Background(), "f.json", strings.NewReader(in)))
		if ids := eventIDs(c); !slices.Equal(ids, []string{"a", "c", "d"}) || len(c.records) != 2 {
			t.Fatalf("ids %v errors %v", ids, c.records)
		}
		if c.records[0].Index != 1 || c.records[1].Index != 3 || !strings.HasPrefix(c.records[0].Error(), "f.json record 1: invalid JSON") {
			t.Errorf("errors %v", c.records)
		}
		if c.events[2].Origin().Index != 4 {
			t.Errorf("origin %+v", c.events[2].Origin())
		}
	})
	t.Run("broken structure inside Records stops the input", func(t *testing.T) {
		in := `{"Records":[{"eventVersion":"1","eventID":"a"} {"eventVersion":"1","eventID":"b"}]}`
		c := collect(t, r.Stream(context.Background(), "f.json", strings.NewReader(in)))
		if ids := eventIDs(c); !slices.Equal(ids, []string{"a"}) || len(c.records) != 1 || c.records[0].Index != 1 {
			t.Fatalf("ids %v errors %v", ids, c.records)
		}
	})
	t.Run("Records array cut short", func(t *testing.T) {
		c := collect(t, r.Stream(context.Background(), "f.json", strings.NewReader(`{"Records":[{"eventVersion":"1","eventID":"a"},{"eventVersion":"1","eventI`)))
		if ids := eventIDs(c); !slices.Equal(ids, []string{"a"}) || len(c.records) != 1 || c.records[0].Index != 1 {
			t.Fatalf("ids %v errors %v", ids, c.records)
		}
	})
	t.Run("JSON Lines skips a bad line", func(t *testing.T) {
		in := "{\"eventVersion\":\"1\",\"eventID\":\"a\"}\n{\"eventVersion\":\"1\",\"eventID\":\"b\"\n{\"eventVersion\":\"1\",\"eventID\":\"c\"}\n{\"eventVersion\":}\n{\"eventVersion\":\"1\",\"eventID\":\"e\"}\nnot json\n{\"eventVersion\":\"1\",\"eventID\":\"g\"}\n"
		c := collect(t, r.Stream(context.Background(), "f.jsonl", strings.NewReader(in)))
		if ids := eventIDs(c); !slices.Equal(ids, []string{"a", "c", "e", "g"}) || len(c.records) != 3 {
			t.Fatalf("ids %v errors %v", ids, c.records)
		}
		for i, want := range []int{1, 3, 5} {
			if c.records[i].Index != want {
				t.Errorf("error %d has index %d, want %d: %v", i, c.records[i].Index, want, c.records[i])
			}
		}
	})
	t.Run("JSON Lines file with a broken first line", func(t *testing.T) {
		name := filepath.Join(t.TempDir(), "events.jsonl")
		os.WriteFile(name, []byte("{\"eventVersion\":\"1\",\"eventID\":\"a\"\n{\"eventVersion\":\"1\",\"eventID\":\"b\"}\n"), 0o600)
		c := collect(t, r.Paths(context.Background(), []string{name}))
		if ids := eventIDs(c); !slices.Equal(ids, []string{"b"}) || len(c.records) != 1 || c.records[0].Index != 0 {
			t.Fatalf("ids %v errors %v", ids, c.records)
		}
	})
	t.Run("pretty-printed documents", func(t *testing.T) {
		in := "[\n  {\n    \"eventVersion\": \"1\",\n    \"eventID\": \"a\"\n  },\n  {\"eventVersion\": \"1\", \"eventID\": \"b\"}\n]\n{\n \"eventVersion\": \"1\",\n \"eventID\": \"c\"\n}\n{\n \"Records\" : [ {\"eventVersion\": \"1\", \"eventID\": \"d\\\"}\"} ] , \"x\": [1,{}] }"
		c := collect(t, r.Stream(context.Background(), "f.json", strings.NewReader(in)))
		if ids := eventIDs(c); !slices.Equal(ids, []string{"a", "b", "c", `d"}`}) || c.errs()+len(c.skips) != 0 {
			t.Fatalf("ids %v errors %v %v %v", ids, c.records, c.inputs, c.skips)
		}
	})
	t.Run("not JSON", func(t *testing.T) {
		c := collect(t, r.Stream(context.Background(), "notes.txt", strings.NewReader("hello")))
		if len(c.inputs) != 1 || !strings.Contains(c.inputs[0].Error(), `notes.txt: not a CloudTrail log`) {
			t.Fatalf("%v", c.inputs)
		}
	})
	t.Run("empty", func(t *testing.T) {
		c := collect(t, r.Stream(context.Background(), "empty.json", strings.NewReader(" \n")))
		if len(c.skips) != 1 || c.errs() != 0 {
			t.Fatalf("%v %v", c.skips, c.inputs)
		}
	})
	t.Run("bad base64 in awslogs", func(t *testing.T) {
		c := payload(t, r, "cwl", []byte(`{"awslogs":{"data":"H4sI!!!"}}`))
		if len(c.records) != 1 || !strings.Contains(c.records[0].Error(), "cwl record 0: awslogs data is not valid base64") {
			t.Fatalf("%v %v", c.records, c.inputs)
		}
	})
	t.Run("awslogs data that is not gzip", func(t *testing.T) {
		c := payload(t, r, "cwl", []byte(`{"awslogs":{"data":"`+base64.StdEncoding.EncodeToString([]byte("plain"))+`"}}`))
		if len(c.records) != 1 || !strings.Contains(c.records[0].Error(), "not a valid gzip stream") {
			t.Fatalf("%v %v", c.records, c.inputs)
		}
	})
	t.Run("record over the size limit", func(t *testing.T) {
		var b bytes.Buffer
		b.WriteString(`{"Records":[{"eventVersion":"1","eventID":"a"},{"eventVersion":"1","pad":"`)
		b.Write(bytes.Repeat([]byte("x"), DefaultMaxRecordBytes))
		b.WriteString(`"},{"eventVersion":"1","eventID":"c"}]}`)
		c := collect(t, r.Stream(context.Background(), "big.json", &b))
		if ids := eventIDs(c); !slices.Equal(ids, []string{"a", "c"}) || len(c.records) != 1 || c.records[0].Index != 1 ||
			c.records[0].Error() != "big.json record 1: the JSON value is larger than 8 MiB, the most a record may be" {
			t.Fatalf("ids %v errors %v", ids, c.records)
		}
	})
}

func eventIDs(c collected) []string {
	var ids []string
	for _, ev := range c.events {
		ids = append(ids, ev.ID())
	}
	return ids
}

func TestConsumerStopsEarly(t *testing.T) {
	r := New(Options{})
	n := 0
	for ev, err := range r.Paths(context.Background(), []string{"testdata/invictus"}) {
		if err != nil || ev == nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	if n != 3 {
		t.Fatalf("n = %d", n)
	}
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := New(Options{})
	n := 0
	var got []error
	for ev, err := range r.Paths(ctx, []string{"testdata/invictus"}) {
		if err != nil {
			got = append(got, err)
			continue
		}
		_ = ev
		if n++; n == 10 {
			cancel()
		}
	}
	if n >= 2900 || len(got) != 1 || !errors.Is(got[0], context.Canceled) {
		t.Fatalf("%d events, errors %v", n, got)
	}
}

func TestPaths(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/a.json", []byte(ebConsoleLogin), 0o600)
	os.WriteFile(dir+"/README.md", []byte("# not a log"), 0o600)
	os.Mkdir(dir+"/sub", 0o700)
	os.WriteFile(dir+"/sub/b.jsonl", []byte(`{"eventVersion":"1","eventID":"b"}`+"\n"), 0o600)
	os.WriteFile(dir+"/sub/c.gz", mustRead(t, invictusFile), 0o600)
	ff := &fakeFetcher{objects: map[string][]byte{"bk/k.json.gz": mustRead(t, invictusFile)}}
	r := New(Options{Fetcher: ff})
	c := collect(t, r.Paths(context.Background(), []string{dir, dir + "/missing.json", "s3://bk/k.json.gz", "s3://bk/"}))
	n := invictusCount(t, invictusFile)
	if len(c.events) != 2+2*n || len(c.inputs) != 2 || len(c.records)+len(c.skips) != 0 {
		t.Fatalf("got %d events, %v %v %v", len(c.events), c.skips, c.records, c.inputs)
	}
	if c.inputs[0].Input != dir+"/missing.json" || !strings.Contains(c.inputs[0].Error(), "no such file") {
		t.Errorf("%v", c.inputs[0])
	}
	if !strings.Contains(c.inputs[1].Error(), "name one S3 object") {
		t.Errorf("%v", c.inputs[1])
	}
	if o := c.events[len(c.events)-1].Origin(); o.Input != "s3://bk/k.json.gz" || o.Path != "s3" {
		t.Errorf("origin %+v", o)
	}
}

// TestForgedEventBridgeSource: only AWS may publish events with an aws.
// source, so a CloudTrail-shaped event from any other source is someone
// putting events on the bus, and is skipped rather than believed.
func TestForgedEventBridgeSource(t *testing.T) {
	forged := `{"version":"0","id":"x","detail-type":"AWS Console Sign In via CloudTrail","source":"custom.forged",` +
		`"account":"999999999999","region":"us-east-1","detail":{"eventID":"f-1","eventName":"ConsoleLogin",` +
		`"eventSource":"signin.amazonaws.com","userIdentity":{"type":"Root"},"recipientAccountId":"123456789012"}}`
	c := collect(t, New(Options{}).Payload(context.Background(), "forged", []byte(forged)))
	if len(c.events) != 0 || len(c.skips) != 1 || !strings.Contains(c.skips[0].Reason, `source "custom.forged"`) {
		t.Fatalf("events %d, skips %v; want the forged event skipped", len(c.events), c.skips)
	}
	genuine := strings.Replace(forged, "custom.forged", "aws.signin", 1)
	if c := collect(t, New(Options{}).Payload(context.Background(), "genuine", []byte(genuine))); len(c.events) != 1 {
		t.Fatalf("the same event from aws.signin: %d events, skips %v", len(c.events), c.skips)
	}
}

// TestOneLineThenPrettyPrinted: a one-line event followed by pretty-printed
// ones (files concatenated) is plain JSON, not JSON Lines, and every event
// is read.
func TestOneLineThenPrettyPrinted(t *testing.T) {
	pretty := "{\n  \"eventVersion\": \"1.08\",\n  \"eventID\": \"%s\",\n  \"eventName\": \"StopLogging\"\n}\n"
	in := `{"eventVersion":"1.08","eventID":"a","eventName":"StopLogging"}` + "\n" +
		fmt.Sprintf(pretty, "b") + fmt.Sprintf(pretty, "c")
	c := collect(t, New(Options{}).Stream(context.Background(), "cat", strings.NewReader(in)))
	if ids := eventIDs(c); !slices.Equal(ids, []string{"a", "b", "c"}) || c.errs() != 0 {
		t.Fatalf("ids %v, errors %v", ids, c.records)
	}
}

// TestWalkSkipsOtherLogs: an AWSLogs/ tree also holds VPC flow logs and
// load balancer logs; met in a folder walk they are skipped with a reason,
// while the same file named on its own is an error.
func TestWalkSkipsOtherLogs(t *testing.T) {
	dir := t.TempDir()
	flow := filepath.Join(dir, "vpcflowlogs.log.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("version account-id interface-id srcaddr\n2 123456789012 eni-1 10.0.0.1\n"))
	zw.Close()
	os.WriteFile(flow, buf.Bytes(), 0o600)
	os.WriteFile(filepath.Join(dir, "event.json"), []byte(`{"eventVersion":"1.08","eventID":"a"}`), 0o600)

	c := collect(t, New(Options{}).Paths(context.Background(), []string{dir}))
	if len(c.events) != 1 || len(c.skips) != 1 || c.errs() != 0 {
		t.Fatalf("walk: %d events, skips %v, errors %v %v", len(c.events), c.skips, c.records, c.inputs)
	}
	c = collect(t, New(Options{}).Paths(context.Background(), []string{flow}))
	if len(c.inputs) != 1 {
		t.Fatalf("the flow log named on its own: skips %v, inputs %v; want an input error", c.skips, c.inputs)
	}
}
