package ingest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// parserVerdict is what parserAccepts must agree with.
func parserVerdict(b []byte) bool {
	var p fastjson.Parser
	_, err := p.ParseBytes(b)
	return err == nil
}

func TestParserAccepts(t *testing.T) {
	for _, s := range []string{
		`{}`, `[]`, `{"a":1}`, ` {"a" : [1, 2.5e3, -0, true, false, null]} `,
		"{\"a\":\"tab\there\"}", `{"a":"\q"}`, `{"a":"\\"}`, `{"a":"\\\""}`, `{"a\"b":1}`,
		`{"a":01}`, `{"a":-}`, `-`, `+1`, `1.`, `.5`, `NaN`, `nan`, `nanx`, `-Inf`, `+inf`, `Infinity`,
		`{"a":NaN}`, `{"a":-inf}`, `{"a":nul}`, `{"a":tru}`, `{"a":truex}`, `[1,]`, `[,1]`, `{,}`,
		`{"a":1,}`, `{"a" 1}`, `{"a":1 "b":2}`, `[1 2]`, `"abc`, `"abc\"`, `{"a":[}`, ``, ` `, "\x00",
		"[\x0b1]", "[1]\x0b", `{"a":1}x`, `{"a":1}{`, `1e`, `e`, `--`, `1-2`, `[-,1]`, `[-]`, `{"a":-}x`,
		strings.Repeat("[", 300) + strings.Repeat("]", 300),
		strings.Repeat("[", 301) + strings.Repeat("]", 301),
		`{"a":` + strings.Repeat("[", 299) + strings.Repeat("]", 299) + `}`,
		`{"a":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`,
	} {
		if got, want := parserAccepts([]byte(s)), parserVerdict([]byte(s)); got != want {
			t.Errorf("parserAccepts(%.80q) = %v, the parser says %v", s, got, want)
		}
	}
}

// FuzzParserAccepts holds parserAccepts to the parser: whatever the bytes,
// they agree on whether they parse.
func FuzzParserAccepts(f *testing.F) {
	for _, s := range []string{`{"eventVersion":"1.08","a":[1,{"b":"c\"d"}]}`, "{\"a\":\"\t\"}", `[NaN,-inf,01,-]`, `{"a":1} `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := parserAccepts(b), parserVerdict(b); got != want {
			t.Fatalf("parserAccepts(%q) = %v, the parser says %v", b, got, want)
		}
	})
}

// FuzzMapMatchesPaths splits the input into three files, the first of
// them gzipped, and checks that Map yields what Paths does.
func FuzzMapMatchesPaths(f *testing.F) {
	// Small seeds: a new input is minimised by running it again and again.
	for _, n := range []string{"testdata/otel/cloudtrail_log.json", "testdata/otel/cloudtrail_log_cw.json", "testdata/aws-lambda-go/s3-event.json"} {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Records":[{"eventVersion":"1.08","eventID":"a"},{"eventID":]}` + "\x00" + "{\"Records\":[{\"eventVersion\":\"1\",\"u\":\"\t\"}]}\x00{\"eventVersion\":\"1\"}\n{\"x\":"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		parts := bytes.SplitN(data, []byte{0}, 3)
		for i, p := range parts {
			name := filepath.Join(dir, string(rune('a'+i))+".json")
			if i == 0 {
				writeGzip(t, name+".gz", p)
				continue
			}
			if err := os.WriteFile(name, p, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		r := New(Options{Fetcher: selfFetcher{data}, Limits: Limits{MaxErrors: 2}})
		want := transcript(t, r.Paths(context.Background(), []string{dir}))
		got := mapTranscript(t, r, []string{dir}, MapOptions{Cores: 2, Inputs: 3})
		if d := firstDiff(want, got); d != "" {
			t.Fatal(d)
		}
	})
}
