package ingest

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trailwatch/trailwatch/internal/event"
)

// benchEvents is the size of the benchmark log file.
const benchEvents = 100_000

// cpuTime returns the process's user+system CPU time. On a shared machine
// events per CPU second is steadier than events per wall second; with
// GOMAXPROCS=1 on an idle machine the two agree.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecodeGzip decodes a gzipped CloudTrail log file of 100,000 real
// events (the Invictus records repeated, each copy with a fresh eventID) end
// to end and reads each event's ID.
func BenchmarkDecodeGzip(b *testing.B) {
	gz := synthLogBytes(b, benchEvents)
	r := New(Options{})
	ctx := context.Background()
	b.SetBytes(int64(len(gz)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	total := 0
	for b.Loop() {
		count := 0
		for ev, err := range r.Stream(ctx, "bench.json.gz", bytes.NewReader(gz)) {
			if err != nil {
				b.Fatal(err)
			}
			if ev.ID() == "" {
				b.Fatal("event without id")
			}
			count++
		}
		if count != benchEvents {
			b.Fatalf("decoded %d events, want %d", count, benchEvents)
		}
		total += count
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(total)/cpu.Seconds(), "events/cpu-s")
}

// BenchmarkGunzipOnly is the floor under BenchmarkDecodeGzip: the same file
// decompressed to nowhere.
func BenchmarkGunzipOnly(b *testing.B) {
	gz := synthLogBytes(b, benchEvents)
	b.SetBytes(int64(len(gz)))
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, zr); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(benchEvents*b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(benchEvents*b.N)/cpu.Seconds(), "events/cpu-s")
}

// BenchmarkMap decodes the same file as BenchmarkDecodeGzip with Map,
// reading each event's ID in the work function, to compare one core with
// several: go test -bench 'DecodeGzip|Map$|GunzipOnly' -cpu 1,2.
func BenchmarkMap(b *testing.B) {
	name := filepath.Join(b.TempDir(), "bench.json.gz")
	if err := os.WriteFile(name, synthLogBytes(b, benchEvents), 0o644); err != nil {
		b.Fatal(err)
	}
	r := New(Options{})
	ctx := context.Background()
	work := func(_ context.Context, ev *event.Event) (bool, bool) { return ev.ID() != "", false }
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	total := 0
	for b.Loop() {
		count := 0
		for res := range Map(ctx, r, []string{name}, MapOptions{}, work) {
			if res.Err != nil {
				b.Fatal(res.Err)
			}
			if !res.Value {
				b.Fatal("event without id")
			}
			count++
		}
		if count != benchEvents {
			b.Fatalf("decoded %d events, want %d", count, benchEvents)
		}
		total += count
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(total)/cpu.Seconds(), "events/cpu-s")
}
