package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
)

// allocated returns the bytes allocated while f ran.
func allocated(f func()) uint64 {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	f()
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc
}

// bombLines returns the three records as JSON Lines, each wrapped by wrap.
func bombLines(t *testing.T, size int, wrap func(rec []byte) []byte) []byte {
	t.Helper()
	var bomb bytes.Buffer
	ingesttest.WriteValueBomb(t, &bomb, size)
	var b bytes.Buffer
	for _, rec := range [][]byte{ingesttest.GoodRecord(ingesttest.GoodBefore), bomb.Bytes(), ingesttest.GoodRecord(ingesttest.GoodAfter)} {
		b.Write(wrap(rec))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// bombLog returns the three records as an uncompressed log file.
func bombLog(t *testing.T, size int) []byte {
	t.Helper()
	raw, err := io.ReadAll(mustGunzip(t, ingesttest.ValueBombLog(t, size)))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func mustGunzip(t *testing.T, gz []byte) io.Reader {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

// TestValueBombs feeds a record holding a 1 MiB array of zeros (half a
// million values, about 1 KB gzipped) through every way a record can
// arrive. The parser once built a tree of several hundred bytes per value
// (230 MiB here, 1 GiB for 4 MiB of zeros, 7.5 GiB for 31 MiB); now the
// record is refused by its shape before anything is built, with an error
// naming the input and the record, and the good records around it are
// still read.
func TestValueBombs(t *testing.T) {
	const size = 1 << 20
	const bucket, key = "trail-bucket", "AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/01/bomb.json.gz"
	logFile := bombLog(t, size)
	ff := &fakeFetcher{objects: map[string][]byte{bucket + "/" + key: ingesttest.ValueBombLog(t, size)}}
	eventBridge := func(rec []byte) []byte {
		return append(append([]byte(`{"version":"0","id":"e1","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","account":"123456789012","time":"2024-05-01T12:00:00Z","region":"us-east-1","resources":[],"detail":`), rec...), '}')
	}
	cases := []struct {
		name    string
		input   []byte
		payload bool   // read as a Lambda payload
		where   string // the input, record and message the error must name
	}{
		{"gzipped log file", ingesttest.ValueBombLog(t, size), false, "bomb record 1:"},
		{"log file", logFile, false, "bomb record 1:"},
		{"JSON Lines", bombLines(t, size, func(r []byte) []byte { return r }), false, "bomb record 1:"},
		{"array of events", []byte("[" + strings.ReplaceAll(strings.TrimSpace(string(bombLines(t, size, func(r []byte) []byte { return r }))), "\n", ",") + "]"), false, "bomb record 1:"},
		{"EventBridge events", bombLines(t, size, eventBridge), false, "bomb record 1:"},
		{"CloudWatch Logs payload", ingesttest.AWSLogsValueBomb(t, size), true, "bomb record 1:"},
		{"SQS body holding a log file", ingesttest.SQSEvent(logFile), true, "bomb record 1 (SQS message m0):"},
		{"SQS body holding a CloudWatch Logs payload", ingesttest.SQSEvent(ingesttest.AWSLogsValueBomb(t, size)), true, "bomb record 1 (SQS message m0):"},
		{"SNS message in an SQS body", ingesttest.SQSEvent([]byte(snsRaw(t, string(logFile)))), true, "bomb record 1 (SQS message m0):"},
		{"S3 object named by an SQS message", ingesttest.SQSEvent(ingesttest.S3Notification(bucket, key)), true, "s3://" + bucket + "/" + key + " record 1 (SQS message m0):"},
	}
	r := New(Options{Fetcher: ff})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c collected
			alloc := allocated(func() {
				if tc.payload {
					c = payload(t, r, "bomb", tc.input)
				} else {
					c = collect(t, r.Stream(context.Background(), "bomb", bytes.NewReader(tc.input)))
				}
			})
			if ids := eventIDs(c); !slices.Equal(ids, []string{ingesttest.GoodBefore, ingesttest.GoodAfter}) {
				t.Errorf("events %v; want the good records before and after the bomb", ids)
			}
			if len(c.records) != 1 || len(c.inputs) != 0 || len(c.skips) != 0 {
				t.Fatalf("errors %v %v, skips %v; want one record error", c.records, c.inputs, c.skips)
			}
			msg := c.records[0].Error()
			if !strings.HasPrefix(msg, tc.where) || !strings.Contains(msg, "more than 100000 JSON values") || len(msg) > 300 {
				t.Errorf("error %q; want it to start %q and say the record holds more than 100000 JSON values", msg, tc.where)
			}
			t.Logf("%s: %.1f MiB allocated; %s", tc.name, float64(alloc)/(1<<20), msg)
			if alloc > 24<<20 {
				t.Errorf("%.1f MiB allocated to refuse a 1 MiB record", float64(alloc)/(1<<20))
			}
		})
	}
}

// TestDeepRecord: a record nested past the parser's depth limit is refused
// with a short error that says so, not the parser's error repeated once per
// level (14 KB).
func TestDeepRecord(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	b.Write(ingesttest.GoodRecord(ingesttest.GoodBefore))
	b.WriteByte(',')
	ingesttest.WriteDeepRecord(t, &b, 301)
	b.WriteByte(',')
	ingesttest.WriteDeepRecord(t, &b, 299) // the deepest the limit allows: the record, v and 299 arrays
	b.WriteByte(',')
	b.Write(ingesttest.GoodRecord(ingesttest.GoodAfter))
	b.WriteString(`]}`)
	c := collect(t, New(Options{}).Stream(context.Background(), "deep.json", &b))
	if ids := eventIDs(c); len(ids) != 3 || ids[0] != ingesttest.GoodBefore || ids[2] != ingesttest.GoodAfter {
		t.Errorf("events %v", ids)
	}
	if len(c.records) != 1 || c.records[0].Error() != "deep.json record 1: the record nests values more than 300 levels deep, the most a record may" {
		t.Fatalf("errors %v", c.records)
	}
}

// TestErrorFlood reads 10,000 records each nested too deep (29 KB
// gzipped), which once gave 140 MB of error text and took the parser half
// a minute (its error for such a record grows at every level): the first
// errors are reported in full, the rest counted in one line at the end of
// the input, and the whole file takes well under a second.
func TestErrorFlood(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rec   []byte
		first string // the first error, after the input and record
	}{
		{"nested past the limit", deepRecord(t, 301), "the record nests values more than 300 levels deep, the most a record may"},
		{"broken 250 levels down", []byte(`{"eventVersion":"1.08","v":` + strings.Repeat("[", 250) + "1 2" + strings.Repeat("]", 250) + `}`), "invalid JSON: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gz bytes.Buffer
			ingesttest.WriteRepeatedLog(t, &gz, 10_000, func(int) []byte { return tc.rec })
			var logged countingWriter
			r := New(Options{Logger: slog.New(slog.NewJSONHandler(&logged, nil))})
			start := time.Now()
			c := collect(t, r.Stream(context.Background(), "flood.json.gz", &gz))
			elapsed := time.Since(start)
			total := 0
			for _, e := range c.records {
				total += len(e.Error())
			}
			if len(c.records) != 11 || len(c.inputs) != 0 || total > 4000 {
				t.Fatalf("%d record errors, %d input errors, %d bytes of error text; want 11 errors (10 in full and a summary)", len(c.records), len(c.inputs), total)
			}
			if first := c.records[0].Error(); !strings.HasPrefix(first, "flood.json.gz record 0: "+tc.first) {
				t.Errorf("first error %q", first)
			}
			last := c.records[10]
			if last.Error() != "flood.json.gz record 10: 9990 more bad records, the last at record 9999, are counted here instead of reported one by one" {
				t.Errorf("summary %q", last)
			}
			var om *OmittedError
			if !errors.As(last, &om) || om.Count != 9990 || om.Last != 9999 {
				t.Errorf("summary %#v", last.Err)
			}
			if logged.n > 8000 {
				t.Errorf("%d bytes logged", logged.n)
			}
			t.Logf("%s: %s, %d bytes of errors, %d bytes of log", tc.name, elapsed, total, logged.n)
			if elapsed > 10*time.Second {
				t.Errorf("took %s", elapsed)
			}
		})
	}
}

func deepRecord(t *testing.T, depth int) []byte {
	var b bytes.Buffer
	ingesttest.WriteDeepRecord(t, &b, depth)
	return b.Bytes()
}

type countingWriter struct{ n int }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// endless produces a log file whose one record carries an endless string
// or endless white space, counting what it produced; after trip bytes it
// calls cancel.
type endless struct {
	head    []byte
	fill    byte
	n, trip int
	cancel  func()
}

func (e *endless) Read(p []byte) (int, error) {
	k := 0
	if e.n < len(e.head) {
		k = copy(p, e.head[e.n:])
	}
	for i := k; i < len(p); i++ {
		p[i] = e.fill
	}
	e.n += len(p)
	if e.n >= e.trip && e.cancel != nil {
		e.cancel()
		e.cancel = nil
	}
	return len(p), nil
}

// TestLongScansStop: a cancelled context stops the reader inside one long
// value or one long run of white space, within a window or two of bytes,
// and the error says where it stopped.
func TestLongScansStop(t *testing.T) {
	for _, tc := range []struct {
		name string
		head string
		fill byte
	}{
		{"string", `{"Records":[{"eventVersion":"1.08","eventID":"a"},{"eventVersion":"1.08","pad":"`, 'x'},
		{"white space", `{"Records":[{"eventVersion":"1.08","eventID":"a"},`, ' '},
		{"white space between documents", `{"eventVersion":"1.08","eventID":"a"}`, '\n'},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			src := &endless{head: []byte(tc.head), fill: tc.fill, trip: 4 << 20, cancel: cancel}
			c := collect(t, New(Options{}).Stream(ctx, "endless.json", io.LimitReader(src, 256<<20)))
			if src.n > 5<<20 {
				t.Errorf("read %d MiB; want the reader to stop within a window of the cancellation at 4 MiB", src.n>>20)
			}
			if len(c.inputs) != 1 || !errors.Is(c.inputs[0], context.Canceled) ||
				!strings.HasPrefix(c.inputs[0].Error(), "endless.json: stopped at record 1; it and the rest of the input were not read: ") {
				t.Fatalf("events %d, errors %v %v; want one input error saying where reading stopped", len(c.events), c.records, c.inputs)
			}
		})
	}
}

// TestErrorsQuoteWhatTheyEcho: names and values an error repeats from the
// input are cut short and quoted, so they cannot carry line breaks,
// terminal controls or megabytes into a log.
func TestErrorsQuoteWhatTheyEcho(t *testing.T) {
	long := strings.Repeat("A", 100_000)
	cases := []string{
		`{"version":"0","detail-type":"` + long + `\n\u202eforged","source":"x","detail":{}}`,
		`{"Records":[{"eventSource":"aws:` + long + `"}]}`,
		`{"Type":"` + long + `","TopicArn":"t"}`,
		`{"messageType":"` + long + `","logEvents":[]}`,
	}
	for i, in := range cases {
		c := payload(t, New(Options{}), "p", []byte(in))
		var msgs []string
		for _, e := range c.skips {
			msgs = append(msgs, e.Error())
		}
		for _, e := range c.records {
			msgs = append(msgs, e.Error())
		}
		if len(msgs) != 1 {
			t.Fatalf("case %d: %v", i, msgs)
		}
		if m := msgs[0]; len(m) > 400 || strings.ContainsAny(m, "\n\u202e") {
			t.Errorf("case %d: %d bytes: %.300q", i, len(m), m)
		}
	}
}

// TestRecordLimit: an input over MaxRecords yields the records before the
// limit, then stops with an error naming the input and where it stopped;
// other inputs, and other messages of the same batch, are still read.
func TestRecordLimit(t *testing.T) {
	r := New(Options{Limits: Limits{MaxRecords: 1000}})
	var many bytes.Buffer
	ingesttest.WriteRepeatedLog(t, &many, 2500, ingesttest.TinyRecord)

	t.Run("file", func(t *testing.T) {
		c := collect(t, r.Stream(context.Background(), "many.json.gz", bytes.NewReader(many.Bytes())))
		if len(c.events) != 1000 || len(c.inputs) != 1 || len(c.records)+len(c.skips) != 0 {
			t.Fatalf("%d events, errors %v %v", len(c.events), c.records, c.inputs)
		}
		in := c.inputs[0]
		if in.Error() != "many.json.gz: stopped at record 1000; it and the rest of the input were not read: the input holds more than 1000 records, the most one input may" {
			t.Errorf("error %q", in)
		}
		var st *StoppedError
		var le *LimitError
		if !errors.As(in, &st) || st.Index != 1000 || !errors.As(in, &le) || le.Limit != LimitRecords || !errors.Is(in, ErrLimit) {
			t.Errorf("error %#v", in.Err)
		}
	})
	t.Run("SQS messages", func(t *testing.T) {
		body := bombLog(t, 0) // three records: two good ones and an empty bomb
		raw, err := io.ReadAll(mustGunzip(t, many.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		c := payload(t, r, "batch", ingesttest.SQSEvent(raw, body))
		if len(c.events) != 1003 || len(c.inputs) != 1 || c.inputs[0].MessageID != "m0" {
			t.Fatalf("%d events, errors %v %v", len(c.events), c.records, c.inputs)
		}
		if got := c.events[len(c.events)-1].Origin(); got.MessageID != "m1" {
			t.Errorf("last event from %+v; want message m1 read in full", got)
		}
	})
}

// TestInputByteLimit: an input larger than MaxInputBytes once
// decompressed stops there, even inside one value.
func TestInputByteLimit(t *testing.T) {
	r := New(Options{Limits: Limits{MaxInputBytes: 1 << 20}})
	var gz bytes.Buffer
	ingesttest.WriteRepeatedLog(t, &gz, 40_000, ingesttest.TinyRecord) // 3.4 MB
	c := collect(t, r.Stream(context.Background(), "big.json.gz", &gz))
	if len(c.events) == 0 || len(c.events) > 1<<20/80 || len(c.inputs) != 1 {
		t.Fatalf("%d events, errors %v %v", len(c.events), c.records, c.inputs)
	}
	if want := fmt.Sprintf("big.json.gz: stopped at record %d; it and the rest of the input were not read: the input is larger than 1 MiB once decompressed, the most one input may be", len(c.events)); c.inputs[0].Error() != want {
		t.Errorf("error %q\nwant  %q", c.inputs[0], want)
	}
}

// TestCancelStopsWithinAFewRecords: a context cancelled while a log file
// is read stops it within ctxEvery records, with an error saying how far
// reading got.
func TestCancelStopsWithinAFewRecords(t *testing.T) {
	var gz bytes.Buffer
	ingesttest.WriteRepeatedLog(t, &gz, 100_000, ingesttest.TinyRecord)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, after := 0, 0
	var errs []error
	for ev, err := range New(Options{}).Stream(ctx, "tiny.json.gz", &gz) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if n++; n == 50_000 {
			cancel()
		} else if n > 50_000 {
			after++
			_ = ev
		}
	}
	var st *StoppedError
	if after > ctxEvery || len(errs) != 1 || !errors.As(errs[0], &st) || st.Index != n || !errors.Is(errs[0], context.Canceled) {
		t.Fatalf("%d events after the cancellation, errors %v", after, errs)
	}
	if want := fmt.Sprintf("tiny.json.gz: stopped at record %d; it and the rest of the input were not read: context canceled", n); errs[0].Error() != want {
		t.Errorf("error %q", errs[0])
	}
}

// TestNamesAreQuoted: an input name or message id that holds characters
// which do not print plainly is quoted wherever an error shows it.
func TestNamesAreQuoted(t *testing.T) {
	ff := &fakeFetcher{objects: map[string][]byte{}}
	c := payload(t, New(Options{Fetcher: ff}), "p", ingesttest.SQSEvent(ingesttest.S3Notification("b", "x%0Aforged\u202e")))
	if len(c.inputs) != 1 {
		t.Fatalf("%v %v", c.inputs, c.records)
	}
	if msg := c.inputs[0].Error(); !strings.HasPrefix(msg, `"s3://b/x\nforged\u202e" (SQS message m0): `) {
		t.Errorf("error %q", msg)
	}
}

// TestErrorFloodAcrossFiles: a folder of files that each hold one record
// nested too deep costs the parser's slow error once, not once per file.
func TestErrorFloodAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	rec := append(append([]byte(`{"Records":[`), deepRecord(t, 301)...), "]}"...)
	for i := range 1000 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d.json", i)), rec, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	c := collect(t, New(Options{}).Paths(context.Background(), []string{dir}))
	elapsed := time.Since(start)
	if len(c.records) != 1000 || len(c.events) != 0 {
		t.Fatalf("%d events, %d errors", len(c.events), len(c.records))
	}
	t.Logf("1000 files: %s", elapsed)
	if elapsed > 5*time.Second {
		t.Errorf("took %s", elapsed)
	}
}

// TestLimitsLifted: negative limits lift every bound, for trusted replays.
func TestLimitsLifted(t *testing.T) {
	r := New(Options{Limits: Limits{MaxValues: -1, MaxRecordBytes: -1, MaxRecords: -1, MaxInputBytes: -1, MaxErrors: -1}})
	c := payload(t, r, "p", ingesttest.SQSEvent(ingesttest.AWSLogsValueBomb(t, 1024)))
	if len(c.events) != 3 || c.errs() != 0 {
		t.Fatalf("%d events, errors %v %v", len(c.events), c.records, c.inputs)
	}
	if l := r.lim; l.MaxValues != math.MaxInt || l.MaxRecordBytes != math.MaxInt || l.MaxRecords != math.MaxInt || l.MaxInputBytes != math.MaxInt64 || l.MaxErrors != math.MaxInt {
		t.Errorf("limits %+v", l)
	}
	var gz bytes.Buffer
	ingesttest.WriteDeepLog(t, &gz, 20, 301)
	if c := collect(t, r.Stream(context.Background(), "deep.json.gz", &gz)); len(c.records) != 20 {
		t.Fatalf("%d errors; want each of the 20 bad records reported", len(c.records))
	}
}
