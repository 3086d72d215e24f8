package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
)

// selfFetcher serves the same bytes for every object, so a payload that
// names an S3 object gets itself back: nesting must stay bounded.
type selfFetcher struct{ b []byte }

func (f selfFetcher) Open(context.Context, string, string) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(f.b)), nil
}

// addSeeds adds the small testdata files, and the gunzipped form of gzipped
// ones, to f's corpus.
func addSeeds(f *testing.F) {
	f.Helper()
	names, _ := filepath.Glob("testdata/otel/*.json")
	more, _ := filepath.Glob("testdata/aws-lambda-go/*.json")
	names = append(names, more...)
	names = append(names,
		"testdata/invictus/218007301253_CloudTrail_us-east-1_20230710T1215Z_5f9a6SYejzdNeREZ.json.gz",
		"testdata/invictus/218007301253_CloudTrail_us-east-1_20230710T1230Z_KV9LZlfXqBel7nqf.json.gz")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if filepath.Ext(n) == ".gz" {
			raw, err := readGzipFile(n)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(raw)
		}
	}
	for _, s := range []string{
		ebConsoleLogin,
		`{"Records":[]}`,
		`{"Records":[{"eventVersion":"1","a":"\\\"}{"},{"eventVersion":"2"}]}`,
		"{\"eventVersion\":\"1\"}\n{\"eventVersion\":\"1\"\n{\"x\":1}\n",
		`[{"eventVersion":"1"},{"s3Bucket":"b","s3ObjectKey":["k"]}]`,
		`{"Records":[{"eventSource":"aws:sqs","messageId":"m","body":"{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"k\"}}}]}"}]}`,
		`{"awslogs":{"data":"H4sIAAAAAAAAA6tWKklNzs9VslJQSs7PS8tMBwBj2o+QFAAAAA=="}}`,
		`"just a string"`, `12`, `{`, `]`, "\x1f\x8b", `{"Records":[{"eventVersion":"1"}],"x":{"y":[1,2]}}`,
	} {
		f.Add([]byte(s))
	}
	addBombSeeds(f)
}

// addBombSeeds adds small versions of the hostile inputs: a value bomb, a
// record nested past the depth limit, a flood of bad records, and the
// bomb inside a CloudWatch Logs payload in an SQS message.
func addBombSeeds(f *testing.F) {
	f.Helper()
	f.Add(ingesttest.ValueBombLog(f, 512))
	var b bytes.Buffer
	ingesttest.WriteValueBomb(f, &b, 64)
	f.Add(b.Bytes())
	b.Reset()
	ingesttest.WriteDeepRecord(f, &b, 301)
	f.Add(b.Bytes())
	b.Reset()
	ingesttest.WriteDeepLog(f, &b, 20, 301)
	f.Add(b.Bytes())
	f.Add(ingesttest.SQSEvent(ingesttest.AWSLogsValueBomb(f, 256), ingesttest.S3Notification("b", "k")))
}

// checkSeq drains seq, checking that every yield is an event or one of the
// three error types, and returns the events' raw bytes.
func checkSeq(t *testing.T, r *Reader, data []byte) (raws [][]byte, recordErrs int) {
	n := 0
	for ev, err := range r.Stream(context.Background(), "fuzz", bytes.NewReader(data)) {
		if n++; n > 1_000_000 {
			t.Fatal("more than a million yields")
		}
		if (ev == nil) == (err == nil) {
			t.Fatalf("yield with event %v and error %v", ev, err)
		}
		if err != nil {
			var se *SkipError
			var re *RecordError
			var ie *InputError
			switch {
			case errors.As(err, &se), errors.As(err, &ie):
			case errors.As(err, &re):
				recordErrs++
			default:
				t.Fatalf("error of type %T: %v", err, err)
			}
			_ = err.Error()
			continue
		}
		_ = ev.Principal()
		_ = ev.String()
		raws = append(raws, bytes.Clone(ev.Raw()))
	}
	return raws, recordErrs
}

// FuzzSniff feeds arbitrary bytes to the payload sniffer, with an S3 fake
// that answers every fetch with the same bytes.
func FuzzSniff(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := New(Options{Fetcher: selfFetcher{data}})
		checkSeq(t, r, data)
	})
}

// FuzzLogFile feeds arbitrary bytes to the streaming decoder and, when the
// input is a valid {"Records":[...]} file of CloudTrail records, checks that
// it yields exactly the records encoding/json finds.
func FuzzLogFile(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := New(Options{})
		raws, recordErrs := checkSeq(t, r, data)
		want, ok := referenceRecords(data)
		if !ok {
			return
		}
		if recordErrs != 0 || len(raws) != len(want) {
			t.Fatalf("decoded %d records with %d errors, encoding/json finds %d", len(raws), recordErrs, len(want))
		}
		for i := range want {
			var got, exp any
			if err := json.Unmarshal(raws[i], &got); err != nil {
				t.Fatalf("record %d: yielded bytes are not JSON: %v", i, err)
			}
			json.Unmarshal(want[i], &exp)
			if !reflect.DeepEqual(got, exp) {
				t.Fatalf("record %d differs:\n got %s\nwant %s", i, raws[i], want[i])
			}
		}
	})
}

// referenceRecords decodes data with encoding/json. ok is false unless data
// is an object whose one key is Records, holding only objects that look
// like CloudTrail records.
func referenceRecords(data []byte) (recs []json.RawMessage, ok bool) {
	if !json.Valid(data) || bytes.Count(data, []byte(`"Records"`)) != 1 {
		return nil, false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil || len(top) != 1 || top["Records"] == nil {
		return nil, false
	}
	if json.Unmarshal(top["Records"], &recs) != nil {
		return nil, false
	}
	for _, rec := range recs {
		var m map[string]any
		if json.Unmarshal(rec, &m) != nil {
			return nil, false
		}
		if _, ok := m["eventVersion"]; !ok {
			return nil, false
		}
		if _, ok := m["EventSource"]; ok {
			return nil, false
		}
		if s, _ := m["eventSource"].(string); len(s) > 4 && s[:4] == "aws:" {
			return nil, false
		}
		if bytes.Count(rec, []byte("{"))+bytes.Count(rec, []byte("[")) > 200 {
			return nil, false // fastjson limits nesting depth
		}
	}
	return recs, true
}

// FuzzLimits reads arbitrary bytes with every limit tight, so that the
// paths where a limit is met run often, and checks what the limits
// promise: no yielded event holds more values or bytes than allowed, each
// input and message reports at most MaxErrors record errors and one
// summary, and stops at most once.
func FuzzLimits(f *testing.F) {
	addSeeds(f)
	lim := Limits{MaxValues: 24, MaxRecordBytes: 1 << 10, MaxRecords: 6, MaxInputBytes: 16 << 10, MaxErrors: 2}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := New(Options{Fetcher: selfFetcher{data}, Limits: lim})
		type key struct{ input, msg string }
		recordErrs := map[key]int{}
		stops := map[key]int{}
		n := 0
		for ev, err := range r.Payload(context.Background(), "fuzz", data) {
			if n++; n > 100_000 {
				t.Fatal("more than 100,000 yields")
			}
			if (ev == nil) == (err == nil) {
				t.Fatalf("yield with event %v and error %v", ev, err)
			}
			if ev != nil {
				if raw := ev.Raw(); len(raw) > lim.MaxRecordBytes || checkShape(raw, lim.MaxValues) != nil {
					t.Fatalf("event of %d bytes over a limit: %s", len(raw), raw)
				}
				continue
			}
			if len(err.Error()) > 2000 {
				t.Fatalf("error of %d bytes: %.200s", len(err.Error()), err)
			}
			var re *RecordError
			var ie *InputError
			var st *StoppedError
			switch {
			case errors.As(err, &re):
				if recordErrs[key{re.Input, re.MessageID}]++; recordErrs[key{re.Input, re.MessageID}] > lim.MaxErrors+1 {
					t.Fatalf("more than %d record errors for %s %s", lim.MaxErrors+1, re.Input, re.MessageID)
				}
			case errors.As(err, &ie) && errors.As(err, &st):
				if stops[key{ie.Input, ie.MessageID}]++; stops[key{ie.Input, ie.MessageID}] > 1 {
					t.Fatalf("input %s %s stopped twice", ie.Input, ie.MessageID)
				}
			}
		}
	})
}

// FuzzShape checks the shape count against the parser: on JSON the
// parser accepts, the count is exact and no depth is refused; where the
// parser refuses a depth, so does the count.
func FuzzShape(f *testing.F) {
	addSeeds(f)
	for _, s := range []string{`[]`, `{}`, `[[],{}]`, `{"a":[1,{"b":"]"}],"c":"\\"}`, `"x"`, `[` + strings.Repeat("[", 299) + strings.Repeat("]", 299) + `]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p fastjson.Parser
		v, err := p.ParseBytes(data)
		shapeErr := checkShape(data, math.MaxInt)
		if err != nil {
			if strings.Contains(err.Error(), "too big depth") {
				var le *LimitError
				if !errors.As(shapeErr, &le) || le.Limit != LimitDepth {
					t.Fatalf("the parser refuses the depth, the count says %v", shapeErr)
				}
			}
			return
		}
		if shapeErr != nil {
			t.Fatalf("the parser accepts, the count says %v", shapeErr)
		}
		n := countValues(v)
		if err := checkShape(data, n); err != nil {
			t.Fatalf("%d values counted as more: %v", n, err)
		}
		var le *LimitError
		if err := checkShape(data, n-1); n > 1 && (!errors.As(err, &le) || le.Limit != LimitValues) {
			t.Fatalf("%d values not counted as more than %d: %v", n, n-1, err)
		}
	})
}

// countValues counts the values of a parsed tree.
func countValues(v *fastjson.Value) int {
	n := 1
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		o.Visit(func(_ []byte, c *fastjson.Value) { n += countValues(c) })
	case fastjson.TypeArray:
		a, _ := v.Array()
		for _, c := range a {
			n += countValues(c)
		}
	}
	return n
}
