package route

import (
	"context"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/state"
)

// BenchmarkMatch measures labelling and routing one alert through the
// example tree (continue, severity ordering, tag regex, nested routes).
func BenchmarkMatch(b *testing.B) {
	tr := newTree(&testing.T{}, treeConfig)
	a := alertsFor(events(&testing.T{}, "root-console-login.json", 1), "root-console-login", event.SeverityCritical, "cis-1.7", "mitre-T1078.004")[0]
	b.ReportAllocs()
	for b.Loop() {
		if len(tr.Match(tr.Labels(a))) != 2 {
			b.Fatal("wrong routes")
		}
	}
}

// BenchmarkDispatchBurst measures one batch of 300 alerts from one role:
// idempotency reads, one group, one delivery, 300 delivery records.
func BenchmarkDispatchBurst(b *testing.B) {
	tr := newTree(&testing.T{}, throttleConfig)
	alerts := alertsFor(events(&testing.T{}, "access-denied.json", 300), "access-denied-burst", event.SeverityMedium)
	b.ReportAllocs()
	for b.Loop() {
		clk := &clock{now: t0}
		d := newDispatcher(&testing.T{}, tr, state.NewMemory(clk.Now), clk, &recorder{})
		if res, err := d.Dispatch(context.Background(), alerts); err != nil || res.Sent != 300 {
			b.Fatal(res, err)
		}
	}
}
