package pipeline

import (
	"bytes"
	"context"
	"io"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
	"github.com/trailwatch/trailwatch/internal/state"
	"github.com/trailwatch/trailwatch/internal/state/statetest"
)

// scopeConfig runs the default packs and the sign-in detectors, every
// alert to one receiver, grouped by rule.
const scopeConfig = `
receivers:
  - {name: out, stdout: {}}
route:
  receiver: out
  group_by: [rule]
`

// replica returns a gzipped log file of n Invictus records, each copy
// with fresh event ids.
func replica(t *testing.T, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	ingesttest.WriteReplicaLog(t, &b, n, gzip.BestSpeed)
	return b.Bytes()
}

// evaluate reads payload through p as `trailwatch check --config` does:
// alerts collected into a Batch and delivered every 1,000, and with scoped
// set, the events' state through a Scope ended every 10,000 events; else
// one Pipeline.Alerts per event, the way the first release read. It
// returns every alert raised, as "rule event-id".
func evaluate(t *testing.T, p *Pipeline, payload []byte, scoped bool) []string {
	t.Helper()
	ctx := context.Background()
	var (
		raised []string
		batch  = p.NewBatch()
		sc     = p.NewScope()
		n      int
	)
	deliver := func() {
		if failed, err := batch.Deliver(ctx); err != nil || len(failed) > 0 {
			t.Fatalf("deliver: %d inputs failed, %v", len(failed), err)
		}
		batch = p.NewBatch()
	}
	for ev, err := range ingest.New(ingest.Options{}).Payload(ctx, "replica.json.gz", payload) {
		if err != nil {
			t.Fatal(err)
		}
		var alerts []*event.Alert
		if scoped {
			if n++; n%10_000 == 0 {
				if err := sc.End(ctx); err != nil {
					t.Fatal(err)
				}
			}
			alerts, err = sc.Alerts(ctx, ev)
		} else {
			alerts, err = p.Alerts(ctx, ev)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range alerts {
			raised = append(raised, a.Rule.ID+" "+a.Event.ID())
		}
		batch.AddEvent(alerts...)
		if batch.Len() >= 1000 {
			deliver()
		}
	}
	if err := sc.End(ctx); err != nil {
		t.Fatal(err)
	}
	deliver()
	slices.Sort(raised)
	return raised
}

// TestDynamoDBRequestsOfAnInput counts the DynamoDB requests of the
// replicated Invictus log (3,000 events; TRAILWATCH_DDB_EVENTS sets
// another size) read event by event as the first release did, and through
// Scopes: the same alerts, far fewer requests.
func TestDynamoDBRequestsOfAnInput(t *testing.T) {
	n := 3000
	if s := os.Getenv("TRAILWATCH_DDB_EVENTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n <= 0 {
			t.Fatalf("TRAILWATCH_DDB_EVENTS=%q is not a positive number", s)
		}
	}
	payload := replica(t, n)
	counts := map[bool]map[string]int{}
	raised := map[bool][]string{}
	for _, scoped := range []bool{false, true} {
		client, reqs := statetest.CountedDynamoDB(t)
		deps := testDeps(t)
		deps.Store = state.NewDynamoDB(client, statetest.Table, deps.Now)
		deps.Stdout = io.Discard
		p, err := Build(context.Background(), []byte(scopeConfig), deps)
		if err != nil {
			t.Fatal(err)
		}
		raised[scoped] = evaluate(t, p, payload, scoped)
		counts[scoped] = reqs.Ops()
		counts[scoped]["total"] = reqs.Total()
	}
	t.Logf("%d events, %d alerts; DynamoDB requests event by event: %v; through Scopes: %v",
		n, len(raised[true]), counts[false], counts[true])
	if !slices.Equal(raised[false], raised[true]) || len(raised[true]) == 0 {
		t.Fatalf("Scopes raised %d alerts, event by event %d: want the same alerts", len(raised[true]), len(raised[false]))
	}
	// Every refused call is counted by a conditional write of its own
	// (its marker, and the count): those stay. What goes is the read of
	// each count before its write, and every read and write of a delivery
	// record one by one.
	before, after := counts[false]["total"], counts[true]["total"]
	if after*3 > before*2 {
		t.Errorf("%d requests through Scopes, %d event by event; want a third fewer at least", after, before)
	}
	if counts[true]["GetItem"]*4 > counts[false]["GetItem"] {
		t.Errorf("%d reads through Scopes, %d event by event; want a quarter at most", counts[true]["GetItem"], counts[false]["GetItem"])
	}
}

// TestBatchAddEventFolds: the alerts of one event added together become
// one message, as Pipeline.Deliver makes them; added one by one, one
// message each.
func TestBatchAddEventFolds(t *testing.T) {
	ctx := context.Background()
	deps := testDeps(t)
	deps.DryRun = true
	var got []Message
	deps.OnMessage = func(m Message) { got = append(got, m) }
	p, err := Build(ctx, slackConfig("signin", slackReceiver), deps)
	if err != nil {
		t.Fatal(err)
	}
	ev := events(t, "iam-user-console-login.json")[0]
	two := func(suffix string) []*event.Alert {
		return []*event.Alert{
			{Rule: event.RuleInfo{ID: "a-" + suffix, Title: "A", Severity: event.SeverityHigh}, Event: ev.Clone()},
			{Rule: event.RuleInfo{ID: "b-" + suffix, Title: "B", Severity: event.SeverityLow}, Event: ev.Clone()},
		}
	}
	for _, tc := range []struct {
		add  func(b *Batch, alerts []*event.Alert)
		want int
	}{
		{func(b *Batch, a []*event.Alert) { b.AddEvent(a...) }, 1},
		{func(b *Batch, a []*event.Alert) { b.Add(a...) }, 2},
	} {
		got = nil
		b := p.NewBatch()
		tc.add(b, two(strconv.Itoa(tc.want)))
		if failed, err := b.Deliver(ctx); err != nil || len(failed) > 0 {
			t.Fatalf("Deliver: %v %v", failed, err)
		}
		if len(got) != tc.want {
			t.Fatalf("%d messages; want %d", len(got), tc.want)
		}
	}
}
