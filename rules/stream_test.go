package rules_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/rule"
	"github.com/trailwatch/trailwatch/rules"
)

// TestSignInStreamTellsEachSignInOnce: every console sign-in and role
// switch among Panther's labelled tests and the packs' own test events
// fires exactly one rule of the signin-stream pack, so a channel fed by
// the stream shows each sign-in once.
func TestSignInStreamTellsEachSignInOnce(t *testing.T) {
	rs, err := rule.Load(rule.Selection{Builtin: rules.FS, Packs: []string{"signin-stream"}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := rule.NewSet(rs...)
	if err != nil {
		t.Fatal(err)
	}
	var evs []*event.Event
	f, err := os.Open("testdata/panther/panther-cloudtrail-tests.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var c struct {
			TestName string          `json:"test_name"`
			Event    json.RawMessage `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		ev, err := event.Parse(c.Event, event.Origin{Input: "Panther: " + c.TestName})
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	all, err := rule.Load(rule.Selection{Builtin: rules.FS, Packs: []string{rule.PacksAll}})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range rule.RunTests(context.Background(), all) {
		ev, err := testEvent(res)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	counts := map[string]int{}
	n := 0
	for _, ev := range evs {
		if ev.Source() != "signin.amazonaws.com" || (ev.Name() != "ConsoleLogin" && ev.Name() != "SwitchRole") {
			continue
		}
		n++
		var fired []string
		if err := set.Match(context.Background(), ev, func(r *rule.Rule, _ string) bool {
			fired = append(fired, r.ID)
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if len(fired) != 1 {
			t.Errorf("%s: %s fired %v; want exactly one sign-in stream rule", ev.Origin(), ev.Name(), fired)
			continue
		}
		counts[fired[0]]++
	}
	if n < 30 {
		t.Fatalf("only %d sign-in events found", n)
	}
	t.Logf("%d sign-in events: %v", n, counts)
}
