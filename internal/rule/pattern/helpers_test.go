package pattern

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/valyala/fastjson"
)

// compileGeneric compiles a pattern over arbitrary JSON documents, the way
// EventBridge matches its own events (no envelope mapping).
func compileGeneric(src string) (*Pattern, error) {
	c := compiler{generic: true}
	root, _, err := c.compile([]byte(src))
	if err != nil {
		return nil, err
	}
	return &Pattern{root: root}, nil
}

// matchDocument matches a generic pattern against a JSON document.
func matchDocument(t testing.TB, p *Pattern, doc string) bool {
	t.Helper()
	var parser fastjson.Parser
	v, err := parser.Parse(doc)
	if err != nil {
		t.Fatalf("test event is not JSON: %v\n%s", err, doc)
	}
	return p.root.match(v)
}

// docExample is one line of testdata/aws-docs-examples.jsonl.
type docExample struct {
	Name    string          `json:"name"`
	Kind    string          `json:"kind"`
	Example json.RawMessage `json:"example"`
}

// docExamples loads testdata/aws-docs-examples.jsonl by name.
func docExamples(t testing.TB) map[string]docExample {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "aws-docs-examples.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]docExample{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var d docExample
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		out[d.Name] = d
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// docRecord returns the CloudTrail record of a named AWS docs example: the
// example itself, or the detail of an EventBridge envelope.
func docRecord(t testing.TB, name string) *event.Event {
	t.Helper()
	d, ok := docExamples(t)[name]
	if !ok {
		t.Fatalf("no docs example %q in testdata", name)
	}
	raw := []byte(d.Example)
	if d.Kind == "eventbridge_cloudtrail_envelope" {
		var env struct {
			Detail json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatal(err)
		}
		raw = env.Detail
	}
	ev, err := event.Parse(raw, event.Origin{Input: name})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

const invictusFile = "218007301253_CloudTrail_us-east-1_20230710T1200Z_iLj9fb7yyUG9X4Bf.json.gz"

// invictusEvents loads the Invictus log file in testdata as events.
func invictusEvents(t testing.TB) []*event.Event {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", invictusFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.NewDecoder(zr).Decode(&file); err != nil {
		t.Fatal(err)
	}
	evs := make([]*event.Event, 0, len(file.Records))
	for i, r := range file.Records {
		ev, err := event.Parse(r, event.Origin{Input: invictusFile, Index: i})
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func mustCompile(t testing.TB, src string) *Pattern {
	t.Helper()
	p, err := Compile([]byte(src))
	if err != nil {
		t.Fatalf("Compile(%s): %v", src, err)
	}
	return p
}
