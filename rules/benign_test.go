package rules_test

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/pipeline"
)

// maxBenignRate is the share of Panther's benign events that may produce a
// message with the default configuration: a team reads every message, so
// what the default packs post must nearly always be worth reading.
const maxBenignRate = 0.05

// benignEvent is one event every Panther test using it labels benign.
type benignEvent struct {
	raw   json.RawMessage
	tests []string // "RuleID: test name", for messages
}

// benignEvents reads Panther's labelled tests and returns the distinct
// events (compared as canonical JSON) that every test using them expects
// not to alert, in file order.
func benignEvents(t *testing.T) []benignEvent {
	t.Helper()
	f, err := os.Open("testdata/panther/panther-cloudtrail-tests.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		raw      json.RawMessage
		tests    []string
		positive bool
	}
	var order []string
	byKey := map[string]*entry{}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for line := 1; sc.Scan(); line++ {
		var c struct {
			RuleID   string          `json:"rule_id"`
			TestName string          `json:"test_name"`
			Expected bool            `json:"expected"`
			Event    json.RawMessage `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("Panther tests line %d: %v", line, err)
		}
		key, err := canonical(c.Event)
		if err != nil {
			t.Fatalf("Panther tests line %d: %v", line, err)
		}
		e := byKey[key]
		if e == nil {
			e = &entry{raw: c.Event}
			byKey[key] = e
			order = append(order, key)
		}
		e.tests = append(e.tests, c.RuleID+": "+c.TestName)
		e.positive = e.positive || c.Expected
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var out []benignEvent
	for _, k := range order {
		if e := byKey[k]; !e.positive {
			out = append(out, benignEvent{raw: e.raw, tests: e.tests})
		}
	}
	return out
}

// canonical returns raw re-encoded with sorted keys, so that the same event
// written by two Panther tests compares equal.
func canonical(raw json.RawMessage) (string, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// benignRate runs the benign events through a dry-run pipeline of cfg and
// returns how many produce at least one message, with the rules and
// detectors behind them.
func benignRate(t *testing.T, cfg *config.Config, evs []benignEvent) (noisy int, byRule map[string]int, examples map[string]string) {
	t.Helper()
	ctx := context.Background()
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p, err := pipeline.New(ctx, cfg, pipeline.Deps{
		DryRun:    true,
		OnMessage: func(pipeline.Message) {},
		Now:       func() time.Time { return clock },
	})
	if err != nil {
		t.Fatalf("building the default pipeline: %v", err)
	}
	defer p.Close()
	byRule, examples = map[string]int{}, map[string]string{}
	for i, b := range evs {
		ev, err := event.Parse(b.raw, event.Origin{Input: "panther benign", Index: i})
		if err != nil {
			t.Fatalf("benign event %d (%s): %v", i, b.tests[0], err)
		}
		alerts, err := p.Alerts(ctx, ev)
		if err != nil {
			t.Fatalf("benign event %d (%s): %v", i, b.tests[0], err)
		}
		msgs, err := p.Preview(ctx, alerts)
		if err != nil {
			t.Fatalf("benign event %d (%s): %v", i, b.tests[0], err)
		}
		if len(msgs) == 0 {
			continue
		}
		noisy++
		for _, m := range msgs {
			for _, a := range m.Group.Alerts {
				byRule[a.Rule.ID]++
				if _, ok := examples[a.Rule.ID]; !ok {
					examples[a.Rule.ID] = b.tests[0]
				}
			}
		}
	}
	return noisy, byRule, examples
}

// TestBenignRate counts how many of Panther's benign CloudTrail events (those
// every Panther test using them expects not to alert) produce a message with
// the default configuration: the default packs and detectors, the default
// route. docs/packs.md records the figure this test prints.
func TestBenignRate(t *testing.T) {
	evs := benignEvents(t)
	if len(evs) < 200 {
		t.Fatalf("%d benign Panther events; the corpus should hold 238", len(evs))
	}
	noisy, byRule, examples := benignRate(t, config.Default(), evs)
	rate := float64(noisy) / float64(len(evs))
	var lines []string
	for _, id := range slices.SortedFunc(maps.Keys(byRule), func(a, b string) int {
		return cmp.Or(cmp.Compare(byRule[b], byRule[a]), cmp.Compare(a, b))
	}) {
		lines = append(lines, fmt.Sprintf("  %3d %s (for example %s)", byRule[id], id, examples[id]))
	}
	t.Logf("default configuration: %d of %d benign Panther events produce a message (%.1f%%)\n%s",
		noisy, len(evs), 100*rate, strings.Join(lines, "\n"))
	if rate > maxBenignRate {
		t.Errorf("%.1f%% of benign events produce a message with the default configuration; at most %.0f%% may", 100*rate, 100*maxBenignRate)
	}
}
