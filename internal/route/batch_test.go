package route

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/state"
)

// TestBatchKeepsAGroupOneMessage: 2,500 alerts of one group added to one
// Batch are one message counting 2,500, however they arrive; a second
// batch of the same alerts sends nothing.
func TestBatchKeepsAGroupOneMessage(t *testing.T) {
	tr := newTree(t, byRuleConfig)
	clk := &clock{now: t0}
	rec := &recorder{}
	st := state.NewMemory(clk.Now)
	d := newDispatcher(t, tr, st, clk, rec)
	alerts := alertsFor(events(t, "access-denied.json", 2500), "access-denied", event.SeverityMedium)
	b := d.NewBatch()
	for _, a := range alerts {
		b.Add(a)
	}
	res, err := b.Dispatch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sent := rec.sent()
	if len(sent) != 1 || sent[0].Count != 2500 || len(sent[0].Alerts) != 5 {
		t.Fatalf("sent %d messages, the first counting %d with %d alerts; want one counting 2500", len(sent), sent[0].Count, len(sent[0].Alerts))
	}
	if res != (Result{Alerts: 2500, Sent: 2500, Groups: 1}) {
		t.Errorf("result %+v", res)
	}
	b = d.NewBatch()
	for _, a := range alerts {
		b.Add(a)
	}
	if res, err := b.Dispatch(context.Background()); err != nil || res.Duplicate != 2500 || len(rec.sent()) != 1 {
		t.Errorf("the same alerts again: %+v, %v, %d messages", res, err, len(rec.sent()))
	}
}

// TestBatchListsAnEventOnce: the same events added twice to one batch
// (one event arriving by two paths in one invocation, or a log file read
// twice) are one message that lists each event once and counts it once.
func TestBatchListsAnEventOnce(t *testing.T) {
	tr := newTree(t, byRuleConfig)
	clk := &clock{now: t0}
	rec := &recorder{}
	d := newDispatcher(t, tr, state.NewMemory(clk.Now), clk, rec)
	alerts := alertsFor(events(t, "access-denied.json", 3), "access-denied", event.SeverityMedium)
	b := d.NewBatch()
	for range 2 {
		for _, a := range alerts {
			b.Add(a)
		}
	}
	res, err := b.Dispatch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sent := rec.sent()
	if len(sent) != 1 || sent[0].Count != 3 || len(sent[0].Alerts) != 3 {
		t.Fatalf("sent %d messages, the first counting %d with %d alerts; want one counting 3, listing 3", len(sent), sent[0].Count, len(sent[0].Alerts))
	}
	if res.Sent != 3 || res.Duplicate != 3 {
		t.Errorf("result %+v; want 3 sent, 3 duplicates", res)
	}
}

// TestBatchHoldsLittle: a batch of alerts on 256 KiB records keeps a few of
// them, cut, and 48 bytes for each of the rest; Bytes says so. (Before, a
// pending alert held its whole record: 10 MiB here, twice over parsed.)
func TestBatchHoldsLittle(t *testing.T) {
	tr := newTree(t, byRuleConfig)
	clk := &clock{now: t0}
	d := newDispatcher(t, tr, state.NewMemory(clk.Now), clk, &recorder{})
	big := strings.Repeat("x", 256<<10)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b := d.NewBatch()
	for i := range 40 {
		ev := event.MustParse(fmt.Sprintf(`{"eventID":"e%d","eventName":"GetObject","userAgent":%q}`, i, big))
		b.Add(&event.Alert{Rule: event.RuleInfo{ID: "r"}, Event: ev})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(big)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("40 alerts on 256 KiB records: the batch holds %d bytes by its count, the heap grew by %d", b.Bytes(), held)
	runtime.KeepAlive(b)
	if b.Bytes() > 1<<20 {
		t.Errorf("Bytes = %d; want under 1 MiB", b.Bytes())
	}
	if held > 4<<20 {
		t.Errorf("the heap grew by %d bytes holding 40 alerts; want a few MiB at most", held)
	}
}

// pacer allows a fixed number of messages per receiver.
type pacer map[string]int

func (p pacer) Capacity(receiver string, _ time.Time) int { return p[receiver] }

// TestPacedReceiverFoldsTheRest: a receiver that can take 3 messages gets
// the two most severe groups on their own and one summary of the other
// eight, counting them all; every alert is recorded as delivered.
func TestPacedReceiverFoldsTheRest(t *testing.T) {
	tr := newTree(t, byRuleConfig)
	clk := &clock{now: t0}
	rec := &recorder{}
	st := state.NewMemory(clk.Now)
	d, err := NewDispatcher(tr, DispatcherOptions{Store: st, Renderer: rec, Deliverer: rec, Now: clk.Now, Pacer: pacer{"slack": 3}})
	if err != nil {
		t.Fatal(err)
	}
	evs := events(t, "access-denied.json", 100)
	b := d.NewBatch()
	for i, ev := range evs {
		sev := event.SeverityLow
		if i%10 == 7 || i%10 == 3 {
			sev = event.SeverityHigh
		}
		b.Add(&event.Alert{Rule: event.RuleInfo{ID: fmt.Sprintf("rule-%d", i%10), Severity: sev}, Event: ev})
	}
	res, err := b.Dispatch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sent := rec.sent()
	if len(sent) != 3 {
		t.Fatalf("%d messages; want 3", len(sent))
	}
	var summary int
	for _, g := range sent {
		if strings.HasSuffix(g.Key, FoldedRuleID) {
			summary++
			if g.Count != 81 || g.Alerts[0].Rule.ID != FoldedRuleID || len(g.Alerts) != 5 {
				t.Errorf("summary counts %d with %d alerts (first %s); want 80 alerts and itself", g.Count, len(g.Alerts), g.Alerts[0].Rule.ID)
			}
			continue
		}
		if g.Alerts[0].Rule.Severity != event.SeverityHigh {
			t.Errorf("group %s was sent on its own ahead of the high ones", g.Key)
		}
	}
	if summary != 1 || res.Sent != 100 || res.Groups != 3 {
		t.Errorf("summaries %d, result %+v", summary, res)
	}
	b = d.NewBatch()
	for _, ev := range evs[:10] {
		b.Add(&event.Alert{Rule: event.RuleInfo{ID: "rule-0"}, Event: ev})
	}
	if res, _ := b.Dispatch(context.Background()); res.Duplicate != 1 {
		t.Errorf("a folded alert again: %+v; want it a duplicate", res)
	}
}

// countingStore fails every call and counts them.
type countingStore struct {
	state.Store
	calls atomic.Int64
}

var errDown = errors.New("connection refused")

func (c *countingStore) Get(context.Context, string) ([]byte, bool, error) {
	c.calls.Add(1)
	return nil, false, errDown
}

// TestUnreachableStoreFailsFast: with the store down, one Dispatch of 1,000
// alerts makes a handful of calls, not one per alert, and names every
// input in its errors.
func TestUnreachableStoreFailsFast(t *testing.T) {
	tr := newTree(t, throttleConfig)
	clk := &clock{now: t0}
	st := &countingStore{Store: state.NewMemory(clk.Now)}
	d := newDispatcher(t, tr, st, clk, &recorder{})
	b := d.NewBatch()
	for i, ev := range events(t, "access-denied.json", 1000) {
		ev.SetOrigin(event.Origin{Input: "payload", Path: "sqs", MessageID: fmt.Sprintf("m%d", i%7)})
		b.Add(&event.Alert{Rule: event.RuleInfo{ID: fmt.Sprintf("r%d", i%10)}, Event: ev})
	}
	res, err := b.Dispatch(context.Background())
	if err == nil || res.Failed != 1000 {
		t.Fatalf("result %+v, %v", res, err)
	}
	// The delivery records are read in one call, which fails.
	if n := st.calls.Load(); n > 2 {
		t.Errorf("%d store calls for 1000 alerts; want at most 2", n)
	}
	ids := map[string]bool{}
	for _, e := range flattenErrs(err) {
		var de *DeliveryError
		if !errors.As(e, &de) {
			t.Fatalf("error %v is not a DeliveryError", e)
		}
		for _, o := range de.Origins {
			ids[o.MessageID] = true
		}
	}
	if len(ids) != 7 {
		t.Errorf("errors name messages %v; want all 7", ids)
	}
}

func flattenErrs(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flattenErrs(e)...)
		}
		return out
	}
	return []error{err}
}
