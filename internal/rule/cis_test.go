package rule_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
	"github.com/trailwatch/trailwatch/internal/rule"
)

// TestCISAsJQ checks that the jq form of the CIS controls that
// BenchmarkCISAsJQ compares with the filters is the same logic: both fire
// on exactly the same Invictus events and the packs' CIS test events.
func TestCISAsJQ(t *testing.T) {
	filters, queries := cisSets(t, cisJQ)
	_, eqs := cisSets(t, cisJQEq)
	var evs []*event.Event
	for _, rec := range ingesttest.InvictusRecords(t) {
		evs = append(evs, event.MustParse(string(rec)))
	}
	evs = append(evs, packEvents(t, "cis")...)
	ctx := context.Background()
	fired := 0
	for _, ev := range evs {
		ids := func(s *rule.Set) []string {
			var out []string
			if err := s.Match(ctx, ev, func(r *rule.Rule, _ string) bool {
				out = append(out, r.ID)
				return true
			}); err != nil {
				t.Fatal(err)
			}
			return out
		}
		f, q, e := ids(filters), ids(queries), ids(eqs)
		if !slices.Equal(f, q) || !slices.Equal(f, e) {
			t.Errorf("%s: filters fire %q, jq %q, jq with == %q", ev.Raw(), f, q, e)
		}
		fired += len(f)
	}
	if fired == 0 {
		t.Fatal("no CIS control fired: the comparison proves nothing")
	}
}

// packEvents reads the test events of a built-in pack.
func packEvents(t *testing.T, pack string) []*event.Event {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "rules", "testdata", pack, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test events for pack %s: %v", pack, err)
	}
	var evs []*event.Event
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := event.Parse(b, event.Origin{Input: f})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		evs = append(evs, ev)
	}
	return evs
}
