package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
)

// fakeEngine alerts once per event and fails delivery of alerts whose event
// name is in failNames; it remembers what it delivered.
type fakeEngine struct {
	mu         sync.Mutex
	failNames  map[string]bool
	delivered  []string
	deliverErr error
}

func (f *fakeEngine) Alerts(_ context.Context, ev *event.Event) ([]*event.Alert, error) {
	return []*event.Alert{{Rule: event.RuleInfo{ID: "any"}, Event: ev.Clone()}}, nil
}

func (f *fakeEngine) NewBatch() Batch { return &sliceBatch{deliver: f.Deliver} }

// sliceBatch holds every alert and hands them to deliver.
type sliceBatch struct {
	alerts  []*event.Alert
	deliver func(context.Context, []*event.Alert) ([]*event.Alert, error)
}

func (b *sliceBatch) Add(alerts ...*event.Alert) { b.alerts = append(b.alerts, alerts...) }
func (b *sliceBatch) Len() int                   { return len(b.alerts) }
func (b *sliceBatch) Bytes() int                 { return len(b.alerts) * 100 }
func (b *sliceBatch) Deliver(ctx context.Context) ([]event.Origin, error) {
	failed, err := b.deliver(ctx, b.alerts)
	var out []event.Origin
	for _, a := range failed {
		out = append(out, a.Event.Origin())
	}
	return out, err
}

func (f *fakeEngine) Deliver(_ context.Context, alerts []*event.Alert) ([]*event.Alert, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.deliverErr != nil {
		return nil, f.deliverErr
	}
	var failed []*event.Alert
	for _, a := range alerts {
		if f.failNames[a.Event.Name()] {
			failed = append(failed, a)
			continue
		}
		f.delivered = append(f.delivered, a.Event.Name())
	}
	if len(failed) > 0 {
		return failed, errors.New("slack: 500")
	}
	return nil, nil
}

type staticEngines struct{ e Engine }

func (s staticEngines) Engine(context.Context) (Engine, error) { return s.e, nil }

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sqsEvent(t *testing.T, bodies map[string]string, order []string) []byte {
	t.Helper()
	var ev events.SQSEvent
	for _, id := range order {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:      id,
			Body:           bodies[id],
			EventSource:    "aws:sqs",
			EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:trailwatch",
			AWSRegion:      "us-east-1",
		})
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newTestHandler(e Engine, metrics *bytes.Buffer) *Handler {
	clock := func() time.Time { return time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC) }
	return NewHandler(HandlerOptions{
		Reader:  ingest.New(ingest.Options{}),
		Engines: staticEngines{e},
		Metrics: NewMetrics(metrics, "trailwatch", clock),
		Now:     clock,
	})
}

func TestSQSPartialBatch(t *testing.T) {
	signin := readFile(t, "testdata/eventbridge-signin.json")
	apiCall := readFile(t, "testdata/eventbridge-api-call.json")
	payload := sqsEvent(t, map[string]string{
		"m-ok":     signin,
		"m-poison": `{"Records":[{"eventVersion":`,
		"m-fails":  apiCall,
	}, []string{"m-ok", "m-poison", "m-fails"})

	eng := &fakeEngine{failNames: map[string]bool{"CreateBucket": true}}
	var metrics bytes.Buffer
	out, err := newTestHandler(eng, &metrics).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	if got := strings.Join(ids, ","); got != "m-fails,m-poison" {
		t.Fatalf("batch item failures = %s; want m-fails,m-poison", got)
	}
	if got := strings.Join(eng.delivered, ","); got != "ConsoleLogin" {
		t.Fatalf("delivered %s; want ConsoleLogin", got)
	}
	var m map[string]any
	if err := json.Unmarshal(metrics.Bytes(), &m); err != nil {
		t.Fatalf("metrics line %q: %v", metrics.String(), err)
	}
	if m["Events"] != 2.0 || m["FailedMessages"] != 2.0 || m["FailedDeliveries"] != 1.0 || m["RecordErrors"] != 1.0 {
		t.Fatalf("metrics %v", m)
	}
	if _, ok := m["_aws"].(map[string]any)["CloudWatchMetrics"]; !ok {
		t.Fatalf("metrics line lacks the embedded metric directive: %s", metrics.String())
	}
}

func TestSQSEngineFailureBlamesItsMessages(t *testing.T) {
	payload := sqsEvent(t, map[string]string{
		"a": readFile(t, "testdata/eventbridge-signin.json"),
		"b": readFile(t, "testdata/eventbridge-api-call.json"),
	}, []string{"a", "b"})
	eng := &fakeEngine{deliverErr: errors.New("state store unavailable")}
	out, err := newTestHandler(eng, &bytes.Buffer{}).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if !strings.Contains(string(out), `"itemIdentifier":"a"`) || !strings.Contains(string(out), `"itemIdentifier":"b"`) {
		t.Fatalf("response %s should name both messages", out)
	}
}

func TestEventBridgeFailureReturnsError(t *testing.T) {
	payload := []byte(readFile(t, "testdata/eventbridge-api-call.json"))
	eng := &fakeEngine{failNames: map[string]bool{"CreateBucket": true}}
	_, err := newTestHandler(eng, &bytes.Buffer{}).Invoke(context.Background(), payload)
	if err == nil || !strings.Contains(err.Error(), "slack: 500") {
		t.Fatalf("Invoke error = %v; want the delivery failure so Lambda retries", err)
	}

	eng = &fakeEngine{}
	out, err := newTestHandler(eng, &bytes.Buffer{}).Invoke(context.Background(), payload)
	if err != nil || out != nil {
		t.Fatalf("Invoke = %s, %v; want nil, nil", out, err)
	}
	if len(eng.delivered) != 1 {
		t.Fatalf("delivered %v", eng.delivered)
	}
}

// flakyEngine fails Alerts with a temporary error for one event name.
type flakyEngine struct {
	fakeEngine
	failName string
}

type tempErr struct{}

func (tempErr) Error() string   { return "state store throttled" }
func (tempErr) Temporary() bool { return true }

func (f *flakyEngine) Alerts(ctx context.Context, ev *event.Event) ([]*event.Alert, error) {
	a, _ := f.fakeEngine.Alerts(ctx, ev)
	if ev.Name() == f.failName {
		return a, tempErr{}
	}
	if ev.Name() == "ConsoleLogin" {
		return a, errors.New("jq rule x: type error") // a rule bug: reported, not retried
	}
	return a, nil
}

func TestTemporaryEngineErrorFailsTheMessage(t *testing.T) {
	payload := sqsEvent(t, map[string]string{
		"a": readFile(t, "testdata/eventbridge-signin.json"),
		"b": readFile(t, "testdata/eventbridge-api-call.json"),
	}, []string{"a", "b"})
	eng := &flakyEngine{failName: "CreateBucket"}
	out, err := newTestHandler(eng, &bytes.Buffer{}).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out); !strings.Contains(got, `"itemIdentifier":"b"`) || strings.Contains(got, `"itemIdentifier":"a"`) {
		t.Fatalf("response %s; want only b (temporary error), not a (rule bug)", got)
	}
}
