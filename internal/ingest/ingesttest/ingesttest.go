// Package ingesttest gives tests and benchmarks of every package the real
// CloudTrail logs kept in internal/ingest/testdata/invictus (55 files, 2,900
// events from an attack simulation; see the README there), and builds large
// log files from them.
package ingesttest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fastjson"
)

// InvictusDir returns the folder holding the Invictus log files.
func InvictusDir(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("ingesttest: cannot locate its own source file")
	}
	return filepath.Join(filepath.Dir(file), "..", "testdata", "invictus")
}

// InvictusFiles returns the Invictus log files, sorted by name.
func InvictusFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(InvictusDir(tb), "*.json.gz"))
	if err != nil || len(files) != 55 {
		tb.Fatalf("ingesttest: want 55 Invictus log files, found %d (%v)", len(files), err)
	}
	return files // Glob sorts
}

var records struct {
	once sync.Once
	recs [][]byte
	err  error
}

// InvictusRecords returns the 2,900 Invictus records as compact JSON, in
// file order, read once per test binary. Callers must not modify them.
func InvictusRecords(tb testing.TB) [][]byte {
	tb.Helper()
	files := InvictusFiles(tb)
	records.once.Do(func() {
		var p fastjson.Parser
		for _, f := range files {
			b, err := ReadGzipFile(f)
			if err != nil {
				records.err = err
				return
			}
			v, err := p.ParseBytes(b)
			if err != nil {
				records.err = fmt.Errorf("%s: %w", f, err)
				return
			}
			for _, rec := range v.GetArray("Records") {
				records.recs = append(records.recs, rec.MarshalTo(nil))
			}
		}
	})
	if records.err != nil {
		tb.Fatal(records.err)
	}
	return records.recs
}

// ReadGzipFile returns the uncompressed content of a gzip file.
func ReadGzipFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// WriteReplicaLog writes to w a gzipped CloudTrail log file of n records:
// the Invictus records over and over, each copy with a fresh eventID, at
// the given gzip level.
func WriteReplicaLog(tb testing.TB, w io.Writer, n, level int) {
	tb.Helper()
	writeReplicaRange(tb, w, 0, n, level)
}

// writeReplicaRange writes to w a gzipped log file of the records from
// first to last (excluded) of the endless replica: record i is Invictus
// record i mod their count, with an eventID made from i.
func writeReplicaRange(tb testing.TB, w io.Writer, first, last, level int) {
	tb.Helper()
	recs := InvictusRecords(tb)
	zw, err := gzip.NewWriterLevel(w, level)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(zw, 64<<10)
	bw.WriteString(`{"Records":[`)
	var p fastjson.Parser
	var buf []byte
	for i := first; i < last; i++ {
		if i > first {
			bw.WriteByte(',')
		}
		v, err := p.ParseBytes(recs[i%len(recs)])
		if err != nil {
			tb.Fatal(err)
		}
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i/len(recs), i)
		v.Set("eventID", fastjson.MustParse(`"`+id+`"`))
		buf = v.MarshalTo(buf[:0])
		bw.Write(buf)
	}
	bw.WriteString("]}\n")
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
}
