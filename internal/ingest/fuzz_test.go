package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
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
