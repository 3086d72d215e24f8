package ingest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fastjson"
)

// invictusRecords returns the 2,900 Invictus records as compact JSON with
// the eventID of each, read once per test binary.
var invictusRecords = sync.OnceValues(func() ([][]byte, error) {
	files, err := filepath.Glob("testdata/invictus/*.json.gz")
	if err != nil {
		return nil, err
	}
	var out [][]byte
	var p fastjson.Parser
	for _, f := range files {
		b, err := readGzipFile(f)
		if err != nil {
			return nil, err
		}
		v, err := p.ParseBytes(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, rec := range v.GetArray("Records") {
			out = append(out, rec.MarshalTo(nil))
		}
	}
	return out, nil
})

func readGzipFile(name string) ([]byte, error) {
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

// writeSynthLog writes a CloudTrail log file of n records to w, gzipped:
// the Invictus records over and over, each copy with a fresh eventID.
func writeSynthLog(tb testing.TB, w io.Writer, n int, level int) {
	tb.Helper()
	recs, err := invictusRecords()
	if err != nil {
		tb.Fatal(err)
	}
	zw, err := gzip.NewWriterLevel(w, level)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(zw, 64<<10)
	bw.WriteString(`{"Records":[`)
	var p fastjson.Parser
	var buf []byte
	for i := range n {
		if i > 0 {
			bw.WriteByte(',')
		}
		src := recs[i%len(recs)]
		v, err := p.ParseBytes(src)
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

func synthLogBytes(tb testing.TB, n int) []byte {
	var b bytes.Buffer
	writeSynthLog(tb, &b, n, gzip.DefaultCompression)
	return b.Bytes()
}
