package archive

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
)

// TestPeakHeapObjects reads 1, 1,000 and 2,000 log files from a fake S3 in
// another process (so the heap measured is the reader's alone) and samples
// the heap while it does: the peak must not grow with the number of
// objects.
// It takes several seconds under the race detector, so it runs only with
// TRAILWATCH_MEMTEST=1, as `make memtest` (part of `make test`) sets:
//
//	TRAILWATCH_MEMTEST=1 go test -run TestPeakHeapObjects -v ./internal/ingest/archive
func TestPeakHeapObjects(t *testing.T) {
	if os.Getenv("TRAILWATCH_MEMTEST") == "" {
		t.Skip("set TRAILWATCH_MEMTEST=1 to run")
	}
	// The fake S3 runs in a child process, so that the heap measured here
	// is the reader's alone, not the fake's copy of 2,000 objects.
	cmd := exec.Command(os.Args[0], "-test.run=^TestFakeS3Process$")
	cmd.Env = append(os.Environ(), "TRAILWATCH_FAKES3_PROCESS=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://127.0.0.1:") {
		t.Fatalf("fake S3 process said %q, %v", line, err)
	}
	client := newClient(strings.TrimSpace(line))

	var peaks, live [3]uint64
	for i, account := range []string{memOne, memSome, memMany} {
		s, err := New(client, Options{Accounts: []string{account}, Concurrency: 8})
		if err != nil {
			t.Fatal(err)
		}
		// Twice: buffers pooled by the previous run survive one collection.
		runtime.GC()
		runtime.GC()
		sm := newHeapSampler()
		before := sm.sample()
		objects, events := 0, 0
		last := ""
		start := time.Now()
		for ev, err := range s.Events(context.Background(), bucket, "AWSLogs/") {
			if err != nil {
				t.Fatal(err)
			}
			if in := ev.Origin().Input; in != last {
				objects++
				last = in
			}
			if events++; events%4 == 0 {
				sm.sample()
			}
		}
		sm.sample()
		if want := map[string]int{memOne: 1, memSome: memObjects / 2, memMany: memObjects}[account]; objects != want || events != want*5 {
			t.Fatalf("read %d objects and %d events, want %d and %d", objects, events, want, want*5)
		}
		peaks[i], live[i] = sm.peak, sm.peakLive
		t.Logf("%d objects in %v: heap objects %.1f MiB before, peak %.1f MiB; peak live heap %.1f MiB",
			objects, time.Since(start).Round(time.Millisecond), mib(before), mib(sm.peak), mib(sm.peakLive))
	}
	// From 1 object to many, the heap gains what reading at all costs: a
	// listing page of 1,000 keys and 8 downloads in flight. From half
	// of the objects (one full listing page) to all of them, it gains nothing.
	if live[2] > live[0]+4<<20 || peaks[2] > peaks[0]+6<<20 {
		t.Errorf("heap for %d objects: peak %.1f MiB (live %.1f MiB), for 1 object %.1f MiB (live %.1f MiB)",
			memObjects, mib(peaks[2]), mib(live[2]), mib(peaks[0]), mib(live[0]))
	}
	if live[2] > live[1]+1<<20 || peaks[2] > peaks[1]+2<<20 {
		t.Errorf("heap grew with the number of objects: peak %.1f MiB (live %.1f MiB) for %d, %.1f MiB (live %.1f MiB) for %d",
			mib(peaks[1]), mib(live[1]), memObjects/2, mib(peaks[2]), mib(live[2]), memObjects)
	}
}

const (
	memOne     = "111111111111" // one log file
	memSome    = "222222222222" // memObjects/2 log files
	memMany    = "333333333333" // memObjects log files
	memObjects = 2000
)

// TestFakeS3Process is the fake S3 of TestPeakHeapObjects when run as its
// child process: it fills a bucket, prints its URL, and serves until its
// standard input closes.
func TestFakeS3Process(t *testing.T) {
	if os.Getenv("TRAILWATCH_FAKES3_PROCESS") == "" {
		t.Skip("the fake S3 process of TestPeakHeapObjects")
	}
	f := newFakeS3(t, bucket)
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	put := func(account string, i int) {
		at := base.Add(time.Duration(i) * 5 * time.Minute)
		key := trailKey("AWSLogs/", account, "us-east-1", at, fmt.Sprintf("m%05d", i))
		f.put(t, bucket, key, logFile(t, key, account, "us-east-1", at, 5))
	}
	put(memOne, 0)
	for i := range memObjects / 2 {
		put(memSome, i)
	}
	for i := range memObjects {
		put(memMany, i)
	}
	fmt.Println(f.srv.URL)
	io.Copy(io.Discard, os.Stdin)
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// heapSampler keeps the highest heap figures it has read.
type heapSampler struct {
	s              []metrics.Sample
	peak, peakLive uint64
}

func newHeapSampler() *heapSampler {
	return &heapSampler{s: []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}}
}

// sample reads the heap now and returns the bytes in heap objects.
func (h *heapSampler) sample() uint64 {
	metrics.Read(h.s)
	v := h.s[0].Value.Uint64()
	h.peak = max(h.peak, v)
	h.peakLive = max(h.peakLive, h.s[1].Value.Uint64())
	return v
}
