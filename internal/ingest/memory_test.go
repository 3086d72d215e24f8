package ingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// TestPeakHeap decodes gzipped log files of 100,000 and 400,000 events
// streamed from disk and samples the heap while it does. It writes about
// 60 MB of temporary files and takes a while, so it runs only with
// TRAILWATCH_MEMTEST=1:
//
//	TRAILWATCH_MEMTEST=1 go test -run TestPeakHeap -v ./internal/ingest
func TestPeakHeap(t *testing.T) {
	if os.Getenv("TRAILWATCH_MEMTEST") == "" {
		t.Skip("set TRAILWATCH_MEMTEST=1 to run")
	}
	const limit = 32 << 20
	var peaks []uint64
	for _, n := range []int{100_000, 400_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			name := synthLogFile(t, n)
			st, _ := os.Stat(name)

			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			base := ms.HeapInuse
			var peakInuse, peakSys, peakRaw uint64
			sample := func() {
				runtime.ReadMemStats(&ms)
				peakInuse = max(peakInuse, ms.HeapInuse)
				peakSys = max(peakSys, ms.HeapSys-ms.HeapReleased)
				peakRaw = max(peakRaw, ms.HeapSys)
			}
			r := New(Options{})
			count := 0
			for ev, err := range r.Paths(context.Background(), []string{name}) {
				if err != nil {
					t.Fatal(err)
				}
				if ev.ID() == "" {
					t.Fatal("event without id")
				}
				if count++; count%10_000 == 0 {
					sample()
				}
			}
			sample()
			if count != n {
				t.Fatalf("decoded %d events, want %d", count, n)
			}
			t.Logf("%d events, %.1f MB gzipped: peak HeapInuse %.1f MiB (%.1f MiB before decoding), peak HeapSys-HeapReleased %.1f MiB (HeapSys %.1f MiB)",
				n, float64(st.Size())/1e6, float64(peakInuse)/(1<<20), float64(base)/(1<<20), float64(peakSys)/(1<<20), float64(peakRaw)/(1<<20))
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

// synthLogFile writes a gzipped log file of n synthetic records
// (writeSynthLog) in a temporary folder and returns its path.
func synthLogFile(t *testing.T, n int) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "big.json.gz")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	writeSynthLog(t, f, n, gzip.BestSpeed)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return name
}
