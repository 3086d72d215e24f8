package cli

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)}
	p := startProgress(&buf, clk.now, true)

	// Nothing during the first second: a quick run shows no progress.
	for range 1000 {
		p.event("a.json.gz")
	}
	p.tick()
	if buf.Len() != 0 {
		t.Fatalf("progress shown before %s: %q", progressDelay, buf.String())
	}

	clk.t = clk.t.Add(2 * time.Second)
	p.event("b.json.gz")
	p.alert()
	p.tick()
	want := "\rtrailwatch: 2 inputs, 1,001 events, 1 alerts, 500 events/s\x1b[K"
	if buf.String() != want {
		t.Fatalf("line %q, want %q", buf.String(), want)
	}

	// At most four redraws a second.
	buf.Reset()
	clk.t = clk.t.Add(100 * time.Millisecond)
	p.tick()
	if buf.Len() != 0 {
		t.Fatalf("redrawn after 100ms: %q", buf.String())
	}
	clk.t = clk.t.Add(200 * time.Millisecond)
	p.tick()
	if !strings.HasPrefix(buf.String(), "\rtrailwatch: ") {
		t.Fatalf("not redrawn after 300ms: %q", buf.String())
	}

	// Other output first erases the line; erasing twice writes nothing.
	buf.Reset()
	w := p.writer(&buf)
	io.WriteString(w, "trailwatch: input skipped\n")
	io.WriteString(w, "more\n")
	p.clear()
	if got := buf.String(); got != "\r\x1b[Ktrailwatch: input skipped\nmore\n" {
		t.Fatalf("output %q", got)
	}
}

// A nil progress (standard error is not a terminal) does nothing, and the
// check and events commands then write no progress.
func TestNoProgressOffTerminal(t *testing.T) {
	var p *progress
	p.event("x")
	p.alert()
	p.tick()
	p.clear()
	if w := p.writer(io.Discard); w != io.Discard {
		t.Fatal("a nil progress wrapped the writer")
	}
	if newProgress(&bytes.Buffer{}, true) != nil {
		t.Fatal("progress on a buffer")
	}
	_, errs, code := runCmd(t, newCheckCmd(), "", sampleScenario)
	if code != 0 || !regexp.MustCompile(`^529 events, \d+ alerts, 0 skipped, 0 errors\n$`).MatchString(errs) {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

func TestAppendCount(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -5: "-5"} {
		if got := string(appendCount(nil, n)); got != want {
			t.Errorf("appendCount(%d) = %q, want %q", n, got, want)
		}
	}
}
