package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/state"
)

// heapBatch measures the live heap when its batch is delivered, that is
// with every alert of the invocation pending.
type heapBatch struct {
	Batch
	live *uint64
}

func (b heapBatch) Deliver(ctx context.Context) ([]event.Origin, error) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	*b.live = max(*b.live, m.HeapAlloc)
	return b.Batch.Deliver(ctx)
}

type heapEngine struct {
	Engine
	whole bool // hold every alert whole, as the handler did before batches
	live  *uint64
}

func (e heapEngine) NewBatch() Batch {
	if e.whole {
		p := e.Engine.(pipelineEngine).Pipeline
		return heapBatch{Batch: &sliceBatch{deliver: p.Deliver}, live: e.live}
	}
	return heapBatch{Batch: e.Engine.NewBatch(), live: e.live}
}

// TestPendingAlertsHeap measures the heap held by pending alerts: 20
// alerting records, each with a 16 MiB user agent, in one invocation,
// their alerts held whole (as before) and in a batch: the live heap when
// the alerts are delivered, less the live heap once the invocation is over. Slow and
// memory-hungry, so skipped unless TRAILWATCH_MEMTEST=1:
//
//	TRAILWATCH_MEMTEST=1 go test -run TestPendingAlertsHeap -v ./internal/lambda
func TestPendingAlertsHeap(t *testing.T) {
	if os.Getenv("TRAILWATCH_MEMTEST") == "" {
		t.Skip("set TRAILWATCH_MEMTEST=1 to measure")
	}
	var detail map[string]any
	json.Unmarshal([]byte(readFile(t, "testdata/eventbridge-api-call.json")), &struct {
		Detail *map[string]any `json:"detail"`
	}{&detail})
	detail["userAgent"] = strings.Repeat("A", 16<<20)
	var recs []json.RawMessage
	for i := range 20 {
		detail["eventID"] = "24ba271e-d595-4e66-a7fd-0000000000" + string(rune('a'+i/10)) + string(rune('0'+i%10))
		b, _ := json.Marshal(detail)
		recs = append(recs, b)
	}
	payload, _ := json.Marshal(map[string]any{"Records": recs})
	recs, detail = nil, nil

	for _, whole := range []bool{true, false} {
		p, err := pipeline.Build(context.Background(), []byte(stdoutConfig), pipeline.Deps{NoDetectors: true, Stdout: io.Discard, Store: state.NewMemory(nil)})
		if err != nil {
			t.Fatal(err)
		}
		var live uint64
		var counts bytes.Buffer
		h := NewHandler(HandlerOptions{Reader: ingest.New(ingest.Options{}), Engines: staticEngines{heapEngine{Engine: pipelineEngine{p}, whole: whole, live: &live}}, Metrics: NewMetrics(&counts, "t", nil)})
		if _, err := h.Invoke(context.Background(), payload); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		how := "in a batch"
		if whole {
			how = "held whole"
		}
		t.Logf("20 alerting records of 16 MiB, alerts %s: %.1f MiB live with every alert pending (the payload itself is %.1f MiB)",
			how, float64(live-min(live, after.HeapAlloc))/(1<<20), float64(len(payload))/(1<<20))
		if !strings.Contains(counts.String(), `"Alerts":20,`) {
			t.Fatalf("metrics %s; want 20 alerts", counts.String())
		}
		p.Close()
	}
}
