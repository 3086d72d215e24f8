package route

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/state"
)

// opStore counts the calls that reach a store, by method.
type opStore struct {
	*state.Memory
	mu  sync.Mutex
	ops map[string]int
}

func (s *opStore) count(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops[op]++
}

func (s *opStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	s.count("Get")
	return s.Memory.Get(ctx, key)
}

func (s *opStore) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	s.count("Put")
	return s.Memory.Put(ctx, key, value, ttl)
}

func (s *opStore) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	s.count("GetMany")
	return s.Memory.GetMany(ctx, keys)
}

func (s *opStore) PutMany(ctx context.Context, items []state.Item) error {
	s.count("PutMany")
	return s.Memory.PutMany(ctx, items)
}

func (s *opStore) Flush(context.Context) error {
	s.count("Flush")
	return nil
}

const byRuleConfig = `
receivers:
  - {name: slack, stdout: {}}
route:
  receiver: slack
  group_by: [rule]
`

// ruleAlerts returns n alerts of each of the rules, each on its own event
// of evs.
func ruleAlerts(evs []*event.Event, n int, rules ...string) []*event.Alert {
	var out []*event.Alert
	for i, r := range rules {
		out = append(out, alertsFor(evs[i*n:(i+1)*n], r, event.SeverityMedium)...)
	}
	return out
}

// TestDeliveryRecordsAreBatched: a Dispatch reads every delivery record in
// one call and writes each group's records in one call, then flushes once;
// nothing is read or written per alert.
func TestDeliveryRecordsAreBatched(t *testing.T) {
	clk := &clock{now: t0}
	st := &opStore{Memory: state.NewMemory(clk.Now), ops: map[string]int{}}
	rec := &recorder{}
	d := newDispatcher(t, newTree(t, byRuleConfig), st, clk, rec)
	var rules []string
	for i := range 10 {
		rules = append(rules, fmt.Sprintf("r%d", i))
	}
	evs := events(t, "access-denied.json", 1000)
	res, err := d.Dispatch(context.Background(), ruleAlerts(evs, 100, rules...))
	if err != nil || res.Sent != 1000 || res.Groups != 10 {
		t.Fatalf("result %+v, %v", res, err)
	}
	// One read of each group's record (is this a repeat?) remains.
	want := map[string]int{"GetMany": 1, "PutMany": 10, "Get": 10, "Flush": 1}
	if fmt.Sprint(st.ops) != fmt.Sprint(want) {
		t.Fatalf("store calls %v for 1,000 alerts in 10 groups; want %v", st.ops, want)
	}
	// The records are there: the same alerts again are duplicates.
	clear(st.ops)
	res, err = d.Dispatch(context.Background(), ruleAlerts(evs, 100, rules...))
	if err != nil || res.Duplicate != 1000 || res.Sent != 0 {
		t.Fatalf("again: %+v, %v", res, err)
	}
}

// crashAtFlush is a file store that crashes where a delivery's records
// would be written to the file: what it held is lost.
type crashAtFlush struct{ *state.File }

var errCrash = errors.New("the process died")

func (c crashAtFlush) Flush(context.Context) error {
	c.File.Abandon()
	return errCrash
}

// sendLog delivers, failing the groups of the rules in fail, and counts
// the alerts of every group it sent, by rule.
type sendLog struct {
	recorder
	fail  map[string]bool
	mu    sync.Mutex
	sent  map[string]int
	crash func() // called on the first send, when set
}

func (s *sendLog) Deliver(ctx context.Context, receiver string, p *render.Payload, g *render.Group) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.crash != nil {
		s.crash()
		s.crash = nil
	}
	rule := g.Labels["rule"]
	if s.fail[rule] {
		return fmt.Errorf("receiver %q refused the message", receiver)
	}
	s.sent[rule] += g.Count
	return nil
}

// TestCrashLosesOnlyTheBatchAndNeverMarksUnsent delivers a first batch,
// then a second one in which one group fails, and crashes before the
// second batch's records reach the file (at its flush, or during its
// sends). After a restart the first batch's records are all there, none
// of the second's is, and above all none of the failed group's: sending
// the second batch again delivers the failed group (and repeats the
// groups that were sent before the crash) and the first not at all.
func TestCrashLosesOnlyTheBatchAndNeverMarksUnsent(t *testing.T) {
	for _, when := range []string{"at the flush", "during the sends"} {
		t.Run(when, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			clk := &clock{now: t0}
			tr := newTree(t, byRuleConfig)
			open := func() *state.File {
				f, err := state.OpenFile(path, clk.Now)
				if err != nil {
					t.Fatal(err)
				}
				return f
			}
			dispatch := func(st state.Store, log *sendLog, alerts []*event.Alert) (Result, error) {
				d, err := NewDispatcher(tr, DispatcherOptions{Store: st, Renderer: log, Deliverer: log, Now: clk.Now})
				if err != nil {
					t.Fatal(err)
				}
				return d.Dispatch(context.Background(), alerts)
			}
			evs := events(t, "access-denied.json", 120)
			first := ruleAlerts(evs[:60], 20, "a0", "a1", "a2")
			second := ruleAlerts(evs[60:], 20, "b0", "b1", "b2")

			f := open()
			log := &sendLog{sent: map[string]int{}}
			if res, err := dispatch(f, log, first); err != nil || res.Sent != 60 {
				t.Fatalf("first batch: %+v, %v", res, err)
			}
			log = &sendLog{sent: map[string]int{}, fail: map[string]bool{"b1": true}}
			var st state.Store = crashAtFlush{f}
			if when == "during the sends" {
				st = f
				log.crash = func() { f.Abandon() }
			}
			res, err := dispatch(st, log, second)
			if err == nil {
				t.Fatalf("second batch with a failed group and a crash: %+v and no error", res)
			}

			f = open()
			defer f.Close()
			for _, a := range first {
				if _, ok, _ := f.Get(context.Background(), deliveredKey(deliveredSum("slack", a.Key()))); !ok {
					t.Fatalf("the record of %s, delivered and flushed before the crash, is lost", a.Rule.ID)
				}
			}
			for _, a := range second {
				if _, ok, _ := f.Get(context.Background(), deliveredKey(deliveredSum("slack", a.Key()))); ok {
					t.Fatalf("a record of the second batch (%s) survived the crash before its flush", a.Rule.ID)
				}
			}
			log = &sendLog{sent: map[string]int{}}
			if res, err := dispatch(f, log, append(first, second...)); err != nil || res.Duplicate != 60 || res.Sent != 60 {
				t.Fatalf("after the restart: %+v, %v; want the first batch duplicate and the second sent", res, err)
			}
			if log.sent["b1"] != 20 || log.sent["a0"] != 0 {
				t.Fatalf("after the restart sent %v; want the failed group's 20 alerts and none of the first batch", log.sent)
			}
		})
	}
}
