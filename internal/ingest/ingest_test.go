package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"path/filepath"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
)

// collected is everything an iterator yielded, events cloned.
type collected struct {
	events  []*event.Event
	skips   []*SkipError
	records []*RecordError
	inputs  []*InputError
}

func collect(t *testing.T, seq iter.Seq2[*event.Event, error]) collected {
	t.Helper()
	var c collected
	for ev, err := range seq {
		switch {
		case err == nil && ev == nil:
			t.Fatal("iterator yielded neither an event nor an error")
		case err == nil:
			c.events = append(c.events, ev.Clone())
		default:
			var se *SkipError
			var re *RecordError
			var ie *InputError
			switch {
			case errors.As(err, &se):
				c.skips = append(c.skips, se)
			case errors.As(err, &re):
				c.records = append(c.records, re)
			case errors.As(err, &ie):
				c.inputs = append(c.inputs, ie)
			default:
				t.Fatalf("iterator yielded an error of type %T: %v", err, err)
			}
		}
	}
	return c
}

func (c collected) errs() int { return len(c.records) + len(c.inputs) }

func TestInvictusDataset(t *testing.T) {
	files, err := filepath.Glob("testdata/invictus/*.json.gz")
	if err != nil || len(files) != 55 {
		t.Fatalf("want 55 Invictus files, found %d (%v)", len(files), err)
	}
	r := New(Options{})
	c := collect(t, r.Paths(context.Background(), []string{"testdata/invictus"}))
	if len(c.events) != 2900 || c.errs() != 0 || len(c.skips) != 0 {
		t.Fatalf("got %d events, %d skips, %v record errors, %v input errors; want 2900 events and nothing else",
			len(c.events), len(c.skips), c.records, c.inputs)
	}
	ids := map[string]bool{}
	for _, ev := range c.events {
		if ev.ID() == "" || ev.Name() == "" || ev.Time().IsZero() {
			t.Fatalf("event without id, name or time: %s", ev)
		}
		ids[ev.ID()] = true
		o := ev.Origin()
		if o.Path != "file" || filepath.Dir(o.Input) != "testdata/invictus" {
			t.Fatalf("origin %+v", o)
		}
	}
	if len(ids) != 2900 {
		t.Errorf("%d distinct event ids, want 2900", len(ids))
	}
}

// TestLiveStream checks that an event is yielded as soon as its line has
// arrived, without waiting for more input (stdin fed by a live producer).
func TestLiveStream(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	r := New(Options{})
	next, stop := iter.Pull2(r.Stream(context.Background(), "-", pr))
	defer stop()
	for _, id := range []string{"a", "b"} {
		go pw.Write([]byte(`{"eventVersion":"1.08","eventID":"` + id + `"}` + "\n"))
		done := make(chan string, 1)
		go func() {
			ev, err, ok := next()
			if !ok || err != nil {
				done <- fmt.Sprintf("no event: %v", err)
				return
			}
			done <- ev.ID()
		}()
		select {
		case got := <-done:
			if got != id {
				t.Fatalf("got %q, want %q", got, id)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %s was not yielded while the stream stayed open", id)
		}
	}
}
