package stdout

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/trailwatch/trailwatch/internal/render"
)

func TestLines(t *testing.T) {
	var buf bytes.Buffer
	n, err := New(Options{W: &buf})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, body := range []string{`{"a":1}`, "{\"b\":2}\n", ""} {
		if _, err := n.Notify(ctx, &render.Payload{Body: []byte(body)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if buf.String() != "{\"a\":1}\n{\"b\":2}\n\n" {
		t.Errorf("output = %q", buf.String())
	}
	buf.Reset()
	n, _ = New(Options{W: &buf, Text: true})
	_, _ = n.Notify(ctx, &render.Payload{Body: []byte(`{}`), Text: "Root user signed in"}, nil)
	if buf.String() != "Root user signed in\n" {
		t.Errorf("text output = %q", buf.String())
	}
}

// countingWriter records each Write separately.
type countingWriter struct {
	mu     sync.Mutex
	writes []string
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, string(p))
	return len(p), nil
}

func TestConcurrentLinesDoNotInterleave(t *testing.T) {
	w := &countingWriter{}
	n, _ := New(Options{W: w})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			body := strings.Repeat(string(rune('a'+i%26)), 1000)
			if _, err := n.Notify(context.Background(), &render.Payload{Body: []byte(body)}, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(w.writes) != 50 {
		t.Fatalf("%d writes, want 50", len(w.writes))
	}
	for _, s := range w.writes {
		if len(s) != 1001 || strings.Count(s, s[:1]) != 1000 || !strings.HasSuffix(s, "\n") {
			t.Errorf("write %q is not one whole line", s[:10])
		}
	}
}

type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriteError(t *testing.T) {
	n, _ := New(Options{W: brokenWriter{}})
	retry, err := n.Notify(context.Background(), &render.Payload{Body: []byte("{}")}, nil)
	if retry || err == nil || err.Error() != "stdout write failed: broken pipe" {
		t.Errorf("retry = %v, err = %v", retry, err)
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New accepted no writer")
	}
}
