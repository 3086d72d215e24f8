package lambda

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/state"
)

// lockedBuffer is a bytes.Buffer safe for the concurrent writes of a
// pipeline's receivers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// messages decodes the JSON lines a stdout receiver wrote.
func (l *lockedBuffer) messages(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.b.Bytes()))
	sc.Buffer(nil, 8<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("stdout line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// realHandler runs the real pipeline (built from config) behind a handler,
// with its messages on out.
func realHandler(t *testing.T, config string, deps pipeline.Deps, o HandlerOptions) (*Handler, *lockedBuffer) {
	t.Helper()
	out := &lockedBuffer{}
	deps.Stdout = out
	if deps.Store == nil && deps.StateTable == "" {
		deps.Store = state.NewMemory(nil)
	}
	p, err := pipeline.Build(context.Background(), []byte(config), deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	o.Reader = ingest.New(ingest.Options{})
	o.Engines = staticEngines{pipelineEngine{p}}
	return NewHandler(o), out
}

const stdoutConfig = `
rules:
  packs: [root, logging]
receivers:
  - name: out
    stdout: {format: json}
route:
  receiver: out
  group_by: [rule]
`

// TestOneGroupIsOneMessage: 2,500 alerts of one group in one invocation are
// one message saying 2,500 (the handler used to flush every 1,000 alerts:
// three messages of 999, 1,000 and 501).
func TestOneGroupIsOneMessage(t *testing.T) {
	h, out := realHandler(t, stdoutConfig, pipeline.Deps{NoDetectors: true}, HandlerOptions{})
	var detail map[string]any
	if err := json.Unmarshal([]byte(readFile(t, "testdata/eventbridge-api-call.json")), &struct {
		Detail *map[string]any `json:"detail"`
	}{&detail}); err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	for i := range 2500 {
		r := map[string]any{}
		for k, v := range detail {
			r[k] = v
		}
		r["eventID"] = fmt.Sprintf("24ba271e-d595-4e66-a7fd-%012d", i)
		recs = append(recs, r)
	}
	payload, _ := json.Marshal(map[string]any{"Records": recs})
	if _, err := h.Invoke(context.Background(), payload); err != nil {
		t.Fatal(err)
	}
	counts := map[string][]float64{}
	for _, m := range out.messages(t) {
		rule := m["labels"].(map[string]any)["rule"].(string)
		counts[rule] = append(counts[rule], m["count"].(float64))
	}
	if got := counts["root-activity"]; !slices.Equal(got, []float64{2500}) {
		t.Fatalf("root-activity messages counted %v; want one message counting 2500 (all: %v)", got, counts)
	}
}

// TestDeliveredOnceAcrossPathsNotMutedByForgery: the same real event read
// from a log file, from EventBridge and from CloudWatch Logs is delivered
// once; a forged copy with the real eventID, delivered first, does not
// make the real alert count as delivered.
func TestDeliveredOnceAcrossPathsNotMutedByForgery(t *testing.T) {
	h, out := realHandler(t, stdoutConfig, pipeline.Deps{NoDetectors: true}, HandlerOptions{})
	rec := json.RawMessage(strings.TrimSpace(readFile(t, "testdata/delete-trail.json")))
	var forged map[string]any
	json.Unmarshal(rec, &forged)
	forged["sourceIPAddress"] = "198.51.100.66"
	forged["userIdentity"].(map[string]any)["arn"] = "arn:aws:iam::123837392027:user/someone-else"
	forgedRec, _ := json.Marshal(forged)

	logFile := func(r json.RawMessage) []byte {
		b, _ := json.Marshal(map[string]any{"Records": []json.RawMessage{r}})
		return b
	}
	eventBridge, _ := json.Marshal(map[string]any{
		"version": "0", "id": "6f2a1e0c-1d7e-4b55-9c5c-0d2f5a6c1e11", "detail-type": "AWS API Call via CloudTrail",
		"source": "aws.cloudtrail", "account": "123837392027", "time": "2023-07-10T12:08:04Z", "region": "us-east-1",
		"resources": []string{}, "detail": rec,
	})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	json.NewEncoder(zw).Encode(map[string]any{
		"messageType": "DATA_MESSAGE", "owner": "123837392027", "logGroup": "aws-cloudtrail-logs", "logStream": "123837392027_CloudTrail_us-east-1",
		"subscriptionFilters": []string{"trailwatch"},
		"logEvents":           []map[string]any{{"id": "37195623847509348720000000000000000000000000000000000000", "timestamp": 1688990884000, "message": string(rec)}},
	})
	zw.Close()
	cwl, _ := json.Marshal(map[string]any{"awslogs": map[string]string{"data": base64.StdEncoding.EncodeToString(gz.Bytes())}})

	for _, p := range [][]byte{logFile(forgedRec), logFile(rec), eventBridge, cwl} {
		if _, err := h.Invoke(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	var ips []string
	for _, m := range out.messages(t) {
		for _, a := range m["alerts"].([]any) {
			ev := a.(map[string]any)["event"].(map[string]any)
			if a.(map[string]any)["rule"].(map[string]any)["id"] == "cloudtrail-deleted" {
				ips = append(ips, ev["source_ip"].(string))
			}
		}
	}
	if !slices.Equal(ips, []string{"198.51.100.66", "192.168.10.20"}) {
		t.Fatalf("cloudtrail-deleted messages came from %q; want the forged copy's and the real event's, once each", ips)
	}
}

// slowEngine stands for a stage stuck on one event: on an event named
// slowName it waits until its context ends, or for stall when ignoreCtx
// (a stage that does not honour its deadline).
type slowEngine struct {
	fakeEngine
	slowName  string
	stall     time.Duration
	ignoreCtx bool
}

func (s *slowEngine) Alerts(ctx context.Context, ev *event.Event) ([]*event.Alert, error) {
	if ev.Name() == s.slowName {
		if s.ignoreCtx {
			time.Sleep(s.stall)
		} else {
			<-ctx.Done()
			return nil, ctx.Err()
		}
	}
	return s.fakeEngine.Alerts(ctx, ev)
}

func batchFailures(t *testing.T, out []byte) []string {
	t.Helper()
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %q: %v", out, err)
	}
	ids := []string{}
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// TestDeadlineFailsEveryMessageNotHandled: a message stuck until the
// deadline fails, and so does every message that was not read because of
// it. The handler used to answer [m0] only, and SQS deleted m1 unread.
func TestDeadlineFailsEveryMessageNotHandled(t *testing.T) {
	payload := sqsEvent(t, map[string]string{
		"m0": readFile(t, "testdata/eventbridge-api-call.json"),
		"m1": readFile(t, "testdata/eventbridge-signin.json"),
	}, []string{"m0", "m1"})

	t.Run("the rest of the batch gets its share", func(t *testing.T) {
		eng := &slowEngine{slowName: "CreateBucket"}
		h := NewHandler(HandlerOptions{Reader: ingest.New(ingest.Options{}), Engines: staticEngines{eng},
			AnswerReserve: 200 * time.Millisecond, DeliveryReserve: 300 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		start := time.Now()
		out, err := h.Invoke(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 1400*time.Millisecond {
			t.Errorf("answered after %s; the deadline was at 1.5s", took)
		}
		if got := batchFailures(t, out); !slices.Equal(got, []string{"m0"}) {
			t.Fatalf("batch item failures %q; want m0 only (m1 read in its share)", got)
		}
		eng.mu.Lock()
		defer eng.mu.Unlock()
		if !slices.Contains(eng.delivered, "ConsoleLogin") || !slices.Contains(eng.delivered, "InputRefused") {
			t.Errorf("delivered %q; want m1's ConsoleLogin and the input-refused alert for m0", eng.delivered)
		}
	})

	t.Run("a stage that ignores its deadline", func(t *testing.T) {
		eng := &slowEngine{slowName: "CreateBucket", stall: 3 * time.Second, ignoreCtx: true}
		h := NewHandler(HandlerOptions{Reader: ingest.New(ingest.Options{}), Engines: staticEngines{eng},
			AnswerReserve: 200 * time.Millisecond, DeliveryReserve: 300 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		out, err := h.Invoke(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 950*time.Millisecond {
			t.Errorf("answered after %s; the deadline was at 1s", took)
		}
		if got := batchFailures(t, out); !slices.Equal(got, []string{"m0", "m1"}) {
			t.Fatalf("batch item failures %q; want m0 and the unread m1", got)
		}
	})
}

// TestUnreachableStoreAnswersInTime: with the state table unreachable (a
// listener that accepts and never answers), an SQS batch whose events the
// detectors must look up answers with a partial batch response before
// the deadline, every message failed. It used to run into "Task timed
// out": about 2.7 s of SDK retries per event, with no reserve.
func TestUnreachableStoreAnswersInTime(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + ln.Addr().String()),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	}, state.DynamoDBOptions)
	var logs lockedBuffer
	h, _ := realHandler(t, `
receivers:
  - name: out
    stdout: {format: json}
route:
  receiver: out
`, pipeline.Deps{DynamoDB: client, StateTable: "trailwatch-state"}, HandlerOptions{AnswerReserve: 300 * time.Millisecond, DeliveryReserve: 2500 * time.Millisecond, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})

	// Six messages, each a failed console sign-in the burst detectors count.
	failure := readFile(t, "testdata/eventbridge-signin.json")
	failure = strings.Replace(failure, `"ConsoleLogin": "Success"`, `"ConsoleLogin": "Failure"`, 1)
	bodies := map[string]string{}
	var order []string
	for i := range 6 {
		id := fmt.Sprintf("m%d", i)
		bodies[id] = strings.Replace(failure, `"eventID": "`, `"eventID": "`+id+`-`, 1)
		order = append(order, id)
	}
	const deadline = 4 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	out, err := h.Invoke(ctx, sqsEvent(t, bodies, order))
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if took >= deadline {
		t.Fatalf("answered after %s, past the %s deadline", took, deadline)
	}
	if got := batchFailures(t, out); !slices.Equal(got, order) {
		t.Fatalf("batch item failures %q; want every message", got)
	}
	t.Logf("answered in %s with every message failed", took.Round(time.Millisecond))
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if l := logs.b.String(); strings.Count(l, `"msg":"rule_failed"`) != 6 || strings.Contains(l, "input_refused") {
		t.Errorf("want each message failed at its first store failure, and no input called hostile:\n%s", l)
	}
}

// FuzzInvoke: whatever the payload, the handler answers without panicking,
// and an SQS answer is a partial batch response naming only messages of
// the batch.
func FuzzInvoke(f *testing.F) {
	f.Add([]byte(`{"Records":[{"eventSource":"aws:sqs","messageId":"a","body":"{}"}]}`))
	f.Add([]byte(`{"Records":[{"eventSource":"aws:sqs","messageId":"a","body":"{\"Records\":[{\"eventID\":\"e\"}]}"},{"eventSource":"aws:sqs","body":"x"}]}`))
	f.Add([]byte(`{"Records":[{"eventSource":"aws:sqs","messageId":"a"},{"eventSource":"aws:sqs","messageId":"a"}]}`))
	f.Add([]byte(`{"detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":{"eventID":"x"}}`))
	h := NewHandler(HandlerOptions{Reader: ingest.New(ingest.Options{}), Engines: staticEngines{&fakeEngine{}}})
	f.Fuzz(func(t *testing.T, payload []byte) {
		out, err := h.Invoke(context.Background(), payload)
		if err != nil || out == nil {
			return
		}
		var resp events.SQSEventResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("answer %q is not a partial batch response: %v", out, err)
		}
		var batch events.SQSEvent
		if json.Unmarshal(payload, &batch) != nil {
			return
		}
		ids := map[string]bool{}
		for _, m := range batch.Records {
			ids[m.MessageId] = true
		}
		for _, f := range resp.BatchItemFailures {
			if !ids[f.ItemIdentifier] {
				t.Fatalf("answer names %q, which is not a message of the batch", f.ItemIdentifier)
			}
		}
	})
}

// TestSplitScansTheBatch: the messages of an SQS batch are found by
// scanning it, each with its id; a repeated id cannot be reported, and a
// batch that is not made of messages is read as one message. A payload
// that is one huge array costs no parse tree: before, the whole payload
// was parsed first, and 4 MiB of "0," allocated 1 GiB.
func TestSplitScansTheBatch(t *testing.T) {
	h := NewHandler(HandlerOptions{Reader: ingest.New(ingest.Options{}), Engines: staticEngines{&slowEngine{}}})
	split := func(payload []byte) *invocation {
		inv := &invocation{h: h, byID: map[string]*message{}}
		inv.split(payload)
		return inv
	}
	ids := func(inv *invocation) []string {
		var out []string
		for _, m := range inv.msgs {
			out = append(out, m.id)
		}
		return out
	}
	body := readFile(t, "testdata/eventbridge-signin.json")
	if inv := split(sqsEvent(t, map[string]string{"m0": body, "m1": body}, []string{"m0", "m1"})); !inv.sqs || !slices.Equal(ids(inv), []string{"m0", "m1"}) {
		t.Errorf("two messages: sqs %v, ids %q", inv.sqs, ids(inv))
	}
	if inv := split(sqsEvent(t, map[string]string{"m0": body}, []string{"m0", "m0"})); !inv.sqs || !slices.Equal(ids(inv), []string{"m0", ""}) {
		t.Errorf("a repeated id: sqs %v, ids %q; want the second without an id", inv.sqs, ids(inv))
	}
	noID := bytes.Replace(sqsEvent(t, map[string]string{"m0": body, "m1": body}, []string{"m0", "m1"}), []byte(`"messageId":"m1"`), []byte(`"messageId":""`), 1)
	if inv := split(noID); inv.sqs || len(inv.msgs) != 1 || inv.msgs[0].id != "" {
		t.Errorf("a message without an id: sqs %v, ids %q; want the batch as one message", inv.sqs, ids(inv))
	}

	bomb := append([]byte(`{"Records":[[`), bytes.Repeat([]byte("0,"), 2<<20)...)
	bomb = append(bomb, "0]]}"...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	inv := split(bomb)
	runtime.ReadMemStats(&after)
	if inv.sqs || len(inv.msgs) != 1 {
		t.Fatalf("the bomb: sqs %v, %d messages", inv.sqs, len(inv.msgs))
	}
	// Scanning copies the record once or twice as it grows (about 20
	// MiB in all); the tree cost 1 GiB.
	if n := after.TotalAlloc - before.TotalAlloc; n > 8*uint64(len(bomb)) {
		t.Errorf("splitting %d MiB of one array allocated %d MiB", len(bomb)>>20, n>>20)
	}
}
