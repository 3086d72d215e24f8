package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
)

// transcript is what an iteration yielded, one line per result: the event
// with its origin and bytes, or the error's type and text.
func transcript(t *testing.T, seq iter.Seq2[*event.Event, error]) []string {
	t.Helper()
	var out []string
	for ev, err := range seq {
		out = append(out, resultLine(t, ev, err))
	}
	return out
}

func resultLine(t *testing.T, ev *event.Event, err error) string {
	t.Helper()
	if (ev == nil) == (err == nil) {
		t.Fatalf("result with event %v and error %v", ev, err)
	}
	if err != nil {
		return fmt.Sprintf("error %T %v", errors.Unwrap(err), err)
	}
	o := ev.Origin()
	return fmt.Sprintf("event %s #%d %s %s %s %s", o.Input, o.Index, o.Path, o.MessageID, ev.ID(), ev.Raw())
}

// mapTranscript is transcript for Map. work describes each event as
// resultLine does and keeps every other one; a kept event must still be
// the one work saw, and the origin of every event must be its own.
func mapTranscript(t *testing.T, r *Reader, args []string, o MapOptions) []string {
	t.Helper()
	var out []string
	n := 0
	work := func(_ context.Context, ev *event.Event) (string, bool) {
		return resultLine(t, ev, nil), len(ev.Raw())%2 == 0
	}
	for res := range Map(context.Background(), r, args, o, work) {
		n++
		if res.Err != nil {
			if res.Value != "" || res.Event != nil {
				t.Fatalf("result %d: value %q or event with error %v", n, res.Value, res.Err)
			}
			out = append(out, resultLine(t, nil, res.Err))
			continue
		}
		if res.Event != nil {
			if got := resultLine(t, res.Event, nil); got != res.Value {
				t.Fatalf("result %d: kept event\n%.200s\nis not the one work saw:\n%.200s", n, got, res.Value)
			}
			if res.Origin != res.Event.Origin() {
				t.Fatalf("result %d: origin %+v for an event from %+v", n, res.Origin, res.Event.Origin())
			}
		} else if len(res.Value) > 0 && !strings.HasPrefix(res.Value, fmt.Sprintf("event %s #%d %s %s ", res.Origin.Input, res.Origin.Index, res.Origin.Path, res.Origin.MessageID)) {
			t.Fatalf("result %d: origin %+v for %.200s", n, res.Origin, res.Value)
		}
		out = append(out, res.Value)
	}
	return out
}

// writeGzip writes data gzipped to name.
func writeGzip(t *testing.T, name string, data []byte) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// badInputs writes a folder of inputs with bad records mixed into good
// ones, and returns its path.
func badInputs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rec := func(id, extra string) string {
		return `{"eventVersion":"1.08","eventTime":"2024-05-01T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","userIdentity":{"type":"IAMUser","userName":"alice"},"eventID":"` + id + `"` + extra + `}`
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A large log file, read ahead on a goroutine of its own in a Map.
	f, err := os.Create(filepath.Join(dir, "00-large.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	ingesttest.WriteReplicaLog(t, f, 4000, gzip.BestCompression)
	f.Close()
	if st, _ := os.Stat(f.Name()); st.Size() < aheadMinSize {
		t.Fatalf("large file is %d bytes, under the read-ahead size", st.Size())
	}
	// Bad records of every kind among good ones: broken JSON, a record
	// that is not an object, one that is not CloudTrail, one nested past
	// the parser's depth, one too large, an SQS record carrying a log file
	// with a bad record, and one the parser accepts though it is not
	// strict JSON (a raw tab in a string), which must be read the same
	// way whether or not a bad record came before it.
	deep := `{"eventVersion":"1.08","v":` + strings.Repeat("[", 250) + "1 2" + strings.Repeat("]", 250) + `}`
	sqsBody := strings.ReplaceAll(`{"Records":[`+rec("s1", "")+`,{"eventVersion":`+`]}`, `"`, `\"`)
	write("01-bad.json", `{"Records":[`+strings.Join([]string{
		rec("b1", ""),
		`{"eventVersion":"1.08","eventID":"x" "oops"}`,
		rec("b2", ""),
		`17`,
		`{"hello":"world"}`,
		deep,
		rec("b3", `,"big":"`+strings.Repeat("x", 70<<10)+`"`),
		`{"eventSource":"aws:sqs","messageId":"m-1","body":"` + sqsBody + `"}`,
		rec("b4", ",\"userAgent\":\"tab\there\""),
		rec("b5", ""),
	}, ",")+`]}`)
	write("02-lenient.json", `{"Records":[`+rec("l1", ",\"userAgent\":\"tab\there\"")+`,`+rec("l2", `,"n":01`)+`]}`)
	// JSON Lines with a broken line, an EventBridge envelope and events.
	eb := `{"version":"0","id":"e1","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","account":"123456789012","time":"2024-05-01T12:00:00Z","region":"us-east-1","resources":[],"detail":` + rec("j2", "") + `}`
	write("03-lines.jsonl", rec("j1", "")+"\n"+`{"eventVersion":"1.08","eventID":"j-broken"`+"\n"+eb+"\n"+rec("j3", "")+"\n")
	// More bad records than are reported one by one.
	var many []string
	for i := range 30 {
		many = append(many, rec(fmt.Sprintf("m%d", i), ""), `{"eventID":`)
	}
	write("04-many.json", `{"Records":[`+strings.Join(many, ",")+`]}`)
	// Not JSON, met in a walk: skipped. A truncated gzip file.
	writeGzip(t, filepath.Join(dir, "05-flow.log.gz"), []byte("2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1 2 ACCEPT OK\n"))
	var full bytes.Buffer
	ingesttest.WriteReplicaLog(t, &full, 200, gzip.BestSpeed)
	if err := os.WriteFile(filepath.Join(dir, "06-truncated.json.gz"), full.Bytes()[:full.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	// An empty file and a hidden one.
	write("07-empty.json", "")
	write(".hidden.json", rec("h1", ""))
	// Many small files, as S3 delivers them.
	small := filepath.Join(dir, "08-small")
	if err := os.Mkdir(small, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		writeGzip(t, filepath.Join(small, fmt.Sprintf("f%02d.json.gz", i)), []byte(`{"Records":[`+rec(fmt.Sprintf("s%d-a", i), "")+`,`+rec(fmt.Sprintf("s%d-b", i), "")+`]}`))
	}
	return dir
}

// TestMapMatchesPaths reads the package's test data and a folder of good
// and bad inputs with Paths and with Map on several cores, and checks
// that Map yields exactly what Paths does: the same events with the same
// origins and bytes, the same errors at the same places, in the same
// order, with the work function's result beside each event.
func TestMapMatchesPaths(t *testing.T) {
	bad := badInputs(t)
	// Standard input holds envelopes: SQS messages carrying a log file (a
	// bad record in it) and an EventBridge event, and a CloudWatch Logs
	// payload, read without the fast path and its fallback.
	cw, err := os.ReadFile("testdata/otel/cloudtrail_log_cw.json")
	if err != nil {
		t.Fatal(err)
	}
	stdin := string(ingesttest.SQSEvent(
		ingesttest.GoodLog("00000000-0000-4000-8000-00000000e001", "00000000-0000-4000-8000-00000000e002"),
		[]byte(`{"Records":[{"eventVersion":"1.08","eventID":"in-sqs-1"},{"eventID":]}`),
		[]byte(`{"version":"0","id":"e1","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","account":"123456789012","time":"2024-05-01T12:00:00Z","region":"us-east-1","resources":[],"detail":`+string(ingesttest.GoodRecord("00000000-0000-4000-8000-00000000e003"))+`}`),
	)) + "\n" + string(cw) + "\n" + `{"Records":[{"eventVersion":"1.08","eventID":"stdin-1"},{"eventID":]}`
	// S3 objects, named as arguments and by a notification in a file, read
	// ahead on goroutines of their own.
	var big, broken bytes.Buffer
	ingesttest.WriteReplicaLog(t, &big, 3000, gzip.BestSpeed)
	ingesttest.WriteReplicaLog(t, &broken, 500, gzip.BestSpeed)
	objects := map[string][]byte{
		"trail-bucket/AWSLogs/x.json.gz":   big.Bytes(),
		"trail-bucket/AWSLogs/bad.json.gz": broken.Bytes()[:broken.Len()*2/3],
	}
	if err := os.WriteFile(filepath.Join(bad, "09-notification.json"), ingesttest.S3Notification("trail-bucket", "AWSLogs/bad.json.gz"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{bad, "testdata", "no-such-file.json", "-", filepath.Join(bad, "01-bad.json"), "s3://trail-bucket/AWSLogs/x.json.gz", "s3://bucket-only"}
	for _, lim := range []Limits{{}, {MaxErrors: 3, MaxRecordBytes: 64 << 10, MaxRecords: 3000}} {
		t.Run(fmt.Sprintf("limits %+v", lim), func(t *testing.T) {
			r := New(Options{Limits: lim, Fetcher: &fakeFetcher{objects: objects}})
			want := transcript(t, r.paths(context.Background(), args, strings.NewReader(stdin)))
			if len(want) < 6000 {
				t.Fatalf("Paths yielded only %d results", len(want))
			}
			errs, fetched := 0, 0
			for _, l := range want {
				if strings.HasPrefix(l, "error") {
					errs++
				}
				if strings.Contains(l, "s3://trail-bucket/AWSLogs/") {
					fetched++
				}
			}
			if errs < 20 || fetched < 2500 {
				t.Fatalf("Paths yielded only %d errors and %d results from S3 objects", errs, fetched)
			}
			for _, o := range []MapOptions{{Cores: 1}, {Cores: 2}, {Cores: 2, Inputs: 1}, {Cores: 3, Inputs: 4}, {Cores: 4, Inputs: 8}} {
				o.Stdin = strings.NewReader(stdin)
				var again []string
				o.onFallback = func(input string) { again = append(again, filepath.Base(input)) }
				got := mapTranscript(t, r, args, o)
				if d := firstDiff(want, got); d != "" {
					t.Fatalf("Map with %d cores and %d inputs differs from Paths: %s", o.Cores, o.Inputs, d)
				}
				// The files with records the fast path cannot read are
				// read again, the others are not.
				if o.Cores > 1 && fmt.Sprint(again) != "[01-bad.json 09-notification.json s3-event.json 01-bad.json]" {
					t.Errorf("files read again: %q", again)
				}
			}
		})
	}
}

// firstDiff describes the first difference between two transcripts.
func firstDiff(want, got []string) string {
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			return fmt.Sprintf("result %d is\n%.300s\nwant\n%.300s", i, got[i], want[i])
		}
	}
	if len(want) != len(got) {
		return fmt.Sprintf("%d results, want %d", len(got), len(want))
	}
	return ""
}

// TestMapLenientAfterBadRecord: a record the parser accepts but strict
// JSON does not (a raw control character) is read whether or not a bad
// record came before it in the same read. Records after a failure are
// checked first, and that check follows the parser, so a Map that reads
// the second file before the first has failed yields what Paths does.
func TestMapLenientAfterBadRecord(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.json"), []byte(`{"Records":[{"eventVersion":"1.08","eventID":"a1"},{"eventID":"broken" 1}]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "b.json"), []byte("{\"Records\":[{\"eventVersion\":\"1.08\",\"eventID\":\"b1\",\"userAgent\":\"x\ty\",\"n\":-01}]}"), 0o644)
	r := New(Options{})
	got := transcript(t, r.Paths(context.Background(), []string{dir}))
	if len(got) != 3 || !strings.Contains(got[2], "b1") {
		t.Fatalf("got %q, want a1, the error, then b1", got)
	}
	if !strings.Contains(got[1], "invalid JSON: invalid character '1' after object key:value pair at byte offset") {
		t.Errorf("error %q does not say where the record goes wrong", got[1])
	}
}

// TestMapStopsEarly stops consuming part way: every goroutine Map started
// ends, and the files it opened are closed.
func TestMapStopsEarly(t *testing.T) {
	bad := badInputs(t)
	r := New(Options{})
	before := runtime.NumGoroutine()
	for _, stopAt := range []int{0, 1, 100, 3000, 4100} {
		n := 0
		for range Map(context.Background(), r, []string{bad, "testdata"}, MapOptions{Cores: 3}, func(context.Context, *event.Event) (int, bool) { return 0, true }) {
			if n++; n > stopAt {
				break
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines left running, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestMapCancel cancels the context part way through a large file: the
// read stops with a *StoppedError naming the input, and nothing follows.
func TestMapCancel(t *testing.T) {
	name := filepath.Join(t.TempDir(), "big.json.gz")
	f, _ := os.Create(name)
	ingesttest.WriteReplicaLog(t, f, 20_000, gzip.BestSpeed)
	f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := New(Options{})
	n, stops := 0, 0
	var last error
	for res := range Map(ctx, r, []string{name, name}, MapOptions{Cores: 2}, func(context.Context, *event.Event) (int, bool) { return 0, false }) {
		if n++; n == 1000 {
			cancel()
		}
		if last = res.Err; last != nil {
			var se *StoppedError
			if !errors.As(last, &se) || !errors.Is(last, context.Canceled) {
				t.Fatalf("error %v, want a stop for the canceled context", last)
			}
			stops++
		}
	}
	if stops != 1 || last == nil || n >= 20_000 {
		t.Fatalf("%d results, %d stops, last error %v; want one stop at the end, soon after the cancel", n, stops, last)
	}
}

// TestMapLiveStdin checks that a Map yields the events of a live standard
// input as their lines arrive, gzipped or not.
func TestMapLiveStdin(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprint("gzip=", gz), func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			var w io.Writer = pw
			var zw *gzip.Writer
			if gz {
				zw = gzip.NewWriter(pw)
				w = zw
			}
			r := New(Options{})
			seq := Map(context.Background(), r, []string{"-"}, MapOptions{Cores: 2, Stdin: pr}, func(_ context.Context, ev *event.Event) (string, bool) { return ev.ID(), false })
			next, stop := iter.Pull(seq)
			defer stop()
			lines := make(chan string)
			defer close(lines)
			go func() {
				for id := range lines {
					w.Write([]byte(`{"eventVersion":"1.08","eventID":"` + id + `"}` + "\n"))
					if zw != nil {
						zw.Flush()
					}
				}
			}()
			for _, id := range []string{"a", "b", "c"} {
				lines <- id
				done := make(chan string, 1)
				go func() {
					res, ok := next()
					if !ok || res.Err != nil {
						done <- fmt.Sprintf("no event: %v", res.Err)
						return
					}
					done <- res.Value
				}()
				select {
				case got := <-done:
					if got != id {
						t.Fatalf("got %q, want %q", got, id)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("event %s was not yielded while the stream stayed open", id)
				}
			}
		})
	}
}

// TestMapHostile reads the value and depth bombs of the hostile tests with
// Map: the same errors as Paths, and the good records around them.
func TestMapHostile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bomb.json.gz"), ingesttest.ValueBombLog(t, 4<<20), 0o644)
	var deep bytes.Buffer
	deep.WriteString(`{"Records":[`)
	for i := range 50 {
		if i > 0 {
			deep.WriteByte(',')
		}
		ingesttest.WriteDeepRecord(t, &deep, 290)
		deep.WriteByte(',')
		deep.Write(ingesttest.GoodRecord(fmt.Sprintf("00000000-0000-4000-8000-%012d", i)))
	}
	deep.WriteString("]}")
	os.WriteFile(filepath.Join(dir, "deep.json"), deep.Bytes(), 0o644)
	r := New(Options{})
	want := transcript(t, r.Paths(context.Background(), []string{dir}))
	got := mapTranscript(t, r, []string{dir}, MapOptions{Cores: 2})
	if d := firstDiff(want, got); d != "" {
		t.Fatal(d)
	}
	if len(want) != 103 || !strings.Contains(want[0], ingesttest.GoodBefore) || !strings.Contains(want[2], ingesttest.GoodAfter) {
		t.Fatalf("got %d results: %.200q", len(want), want)
	}
}

// TestMapPeakHeap is TestPeakHeap for Map on two cores: a log file of
// 100,000 and one of 400,000 events, read on the fast path, work keeping
// one event in eight as alerts do; the heap stays flat. It runs only with
// TRAILWATCH_MEMTEST=1:
//
//	TRAILWATCH_MEMTEST=1 go test -run TestMapPeakHeap -v ./internal/ingest
func TestMapPeakHeap(t *testing.T) {
	if os.Getenv("TRAILWATCH_MEMTEST") == "" {
		t.Skip("set TRAILWATCH_MEMTEST=1 to run")
	}
	const limit = 32 << 20
	var peaks []uint64
	for _, n := range []int{100_000, 400_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			name := synthLogFile(t, n)
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			base := ms.HeapInuse
			var peakInuse, peakSys uint64
			sample := func() {
				runtime.ReadMemStats(&ms)
				peakInuse = max(peakInuse, ms.HeapInuse)
				peakSys = max(peakSys, ms.HeapSys-ms.HeapReleased)
			}
			count := 0
			work := func(_ context.Context, ev *event.Event) (string, bool) { return ev.ID(), len(ev.ID())%8 == 0 }
			for res := range Map(context.Background(), New(Options{}), []string{name}, MapOptions{Cores: 2}, work) {
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				if count++; count%10_000 == 0 {
					sample()
				}
			}
			sample()
			if count != n {
				t.Fatalf("decoded %d events, want %d", count, n)
			}
			t.Logf("%d events: peak HeapInuse %.1f MiB (%.1f MiB before), peak HeapSys-HeapReleased %.1f MiB",
				n, float64(peakInuse)/(1<<20), float64(base)/(1<<20), float64(peakSys)/(1<<20))
			if peakInuse > limit || peakSys > limit {
				t.Errorf("peak heap over %d MiB", limit>>20)
			}
			peaks = append(peaks, peakInuse)
		})
	}
	if len(peaks) == 2 && peaks[1] > peaks[0]+4<<20 {
		t.Errorf("peak heap grew from %.1f MiB to %.1f MiB with file size", float64(peaks[0])/(1<<20), float64(peaks[1])/(1<<20))
	}
}

// TestMapHeavyRecords reads files of records each holding tens of
// thousands of values (under the limit, so parsed), on four cores and
// keeping every event or none: the heap Map needs stays within twice what
// Paths needs for the same files, since heavy records are parsed one at a
// time and what the batches in flight may hold is bounded.
func TestMapHeavyRecords(t *testing.T) {
	dir := t.TempDir()
	for f := range 4 {
		var b bytes.Buffer
		b.WriteString(`{"Records":[`)
		for i := range 12 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"eventVersion":"1.08","eventName":"X","eventSource":"x.amazonaws.com","eventID":"%d-%d","v":[`, f, i)
			b.Write(bytes.Repeat([]byte("0,"), 45_000))
			b.WriteString(`0]}`)
		}
		b.WriteString(`]}`)
		writeGzip(t, filepath.Join(dir, fmt.Sprintf("f%d.json.gz", f)), b.Bytes())
	}
	peak := func(read func(sample func())) uint64 {
		runtime.GC()
		var ms runtime.MemStats
		var p uint64
		read(func() {
			runtime.ReadMemStats(&ms)
			p = max(p, ms.HeapInuse)
		})
		return p
	}
	r := New(Options{})
	paths := peak(func(sample func()) {
		for _, err := range r.Paths(context.Background(), []string{dir}) {
			if err != nil {
				t.Fatal(err)
			}
			sample()
		}
	})
	for _, keep := range []bool{true, false} {
		n := 0
		got := peak(func(sample func()) {
			work := func(context.Context, *event.Event) (int, bool) { sample(); return 0, keep }
			for res := range Map(context.Background(), r, []string{dir}, MapOptions{Cores: 4}, work) {
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				n++
				sample()
			}
		})
		t.Logf("keep %v: peak heap %.1f MiB with Paths, %.1f MiB with Map", keep, float64(paths)/(1<<20), float64(got)/(1<<20))
		if n != 48 {
			t.Fatalf("%d events, want 48", n)
		}
		if got > 2*paths {
			t.Errorf("keep %v: Map's peak heap %.1f MiB is more than twice Paths's, %.1f MiB", keep, float64(got)/(1<<20), float64(paths)/(1<<20))
		}
	}
}
