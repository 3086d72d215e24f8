package ingesttest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// WriteReplicaFiles writes the n records of WriteReplicaLog (the same
// records with the same eventIDs, in the same order) into gzipped log
// files of per records each in dir, as CloudTrail delivers a busy account's
// events to S3: many small files. It returns the files' paths in order;
// their names sort in that order too.
func WriteReplicaFiles(tb testing.TB, dir string, n, per, level int) []string {
	tb.Helper()
	var names []string
	for start := 0; start < n; start += per {
		name := filepath.Join(dir, fmt.Sprintf("111122223333_CloudTrail_us-east-1_20230710T1145Z_%06d.json.gz", start/per))
		f, err := os.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		writeReplicaRange(tb, f, start, min(start+per, n), level)
		if err := f.Close(); err != nil {
			tb.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}
