package ingesttest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fastjson"
)

// WriteReplicaFiles writes the n records of WriteReplicaLog (the same
// records with the same eventIDs, in the same order) into gzipped log
// files of per records each in dir, as CloudTrail delivers a busy account's
// events to S3: many small files. It returns the files' paths in order;
// their names sort in that order too.
func WriteReplicaFiles(tb testing.TB, dir string, n, per, level int) []string {
	tb.Helper()
	recs := InvictusRecords(tb)
	var (
		p     fastjson.Parser
		buf   []byte
		names []string
	)
	for start := 0; start < n; start += per {
		name := filepath.Join(dir, fmt.Sprintf("111122223333_CloudTrail_us-east-1_20230710T1145Z_%06d.json.gz", start/per))
		f, err := os.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		zw, err := gzip.NewWriterLevel(f, level)
		if err != nil {
			tb.Fatal(err)
		}
		bw := bufio.NewWriterSize(zw, 64<<10)
		bw.WriteString(`{"Records":[`)
		for i := start; i < min(start+per, n); i++ {
			if i > start {
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
		if err := f.Close(); err != nil {
			tb.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}
