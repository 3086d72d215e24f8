package ingest

import (
	"bytes"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
)

// readGzipFile returns the uncompressed content of a gzip file.
func readGzipFile(name string) ([]byte, error) { return ingesttest.ReadGzipFile(name) }

// writeSynthLog writes a CloudTrail log file of n records to w, gzipped:
// the Invictus records over and over, each copy with a fresh eventID.
func writeSynthLog(tb testing.TB, w io.Writer, n int, level int) {
	tb.Helper()
	ingesttest.WriteReplicaLog(tb, w, n, level)
}

func synthLogBytes(tb testing.TB, n int) []byte {
	var b bytes.Buffer
	writeSynthLog(tb, &b, n, gzip.DefaultCompression)
	return b.Bytes()
}
