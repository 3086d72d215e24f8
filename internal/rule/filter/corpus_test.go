package filter_test

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
)

// corpusFiles lists the JSON Lines files in testdata, each line
// {"id": ..., "event": {...}} (see testdata/README.md for their sources).
func corpusFiles() []string {
	return []string{
		"testdata/aws-docs-events.jsonl",
		"testdata/panther-events.jsonl",
		"testdata/panther-scenario-events.jsonl",
	}
}

// loadCorpus returns every event of the JSON Lines files by id.
func loadCorpus(t testing.TB) map[string]*event.Event {
	t.Helper()
	out := map[string]*event.Event{}
	for _, name := range corpusFiles() {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 1<<20), 1<<22)
		line := 0
		for sc.Scan() {
			line++
			var rec struct {
				ID    string          `json:"id"`
				Event json.RawMessage `json:"event"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("%s:%d: %v", name, line, err)
			}
			ev, err := event.Parse(rec.Event, event.Origin{Input: name, Index: line - 1})
			if err != nil {
				t.Fatalf("%s:%d: %v", name, line, err)
			}
			if _, dup := out[rec.ID]; dup {
				t.Fatalf("%s:%d: duplicate id %q", name, line, rec.ID)
			}
			out[rec.ID] = ev
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		f.Close()
	}
	return out
}

// loadInvictus returns every record of the gzipped CloudTrail log files in
// testdata/invictus, in file-name order.
func loadInvictus(t testing.TB) []*event.Event {
	t.Helper()
	names, err := filepath.Glob("testdata/invictus/*.json.gz")
	if err != nil || len(names) == 0 {
		t.Fatalf("no invictus log files: %v", err)
	}
	sort.Strings(names)
	var out []*event.Event
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var file struct {
			Records []json.RawMessage `json:"Records"`
		}
		if err := json.NewDecoder(zr).Decode(&file); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		f.Close()
		for i, raw := range file.Records {
			ev, err := event.Parse(raw, event.Origin{Input: filepath.Base(name), Index: i})
			if err != nil {
				t.Fatalf("%s record %d: %v", name, i, err)
			}
			out = append(out, ev)
		}
	}
	return out
}

// mustEvent parses a literal JSON log event.
func mustEvent(t testing.TB, raw string) *event.Event {
	t.Helper()
	ev, err := event.Parse([]byte(raw), event.Origin{Input: "literal"})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}
