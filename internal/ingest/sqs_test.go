package ingest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
)

// TestSplitSQS: each message of a batch becomes a payload of its own that
// reads as the message did in the batch, so a handler can give each its
// own deadline and, when one stops, name exactly the messages not read.
func TestSplitSQS(t *testing.T) {
	logFile := bombLog(t, 0)
	batch := ingesttest.SQSEvent(logFile, []byte(ebConsoleLogin), ingesttest.AWSLogsValueBomb(t, 1<<20))
	msgs, ok, err := SplitSQS(batch)
	if !ok || err != nil || len(msgs) != 3 {
		t.Fatalf("%d messages, ok %v, error %v", len(msgs), ok, err)
	}
	r := New(Options{})
	whole := payload(t, r, "batch", batch)
	var ids []string
	var events []string
	for _, m := range msgs {
		ids = append(ids, m.ID)
		c := payload(t, r, "batch", m.Payload)
		for _, ev := range c.events {
			if ev.Origin().MessageID != m.ID {
				t.Errorf("event from %+v in message %s", ev.Origin(), m.ID)
			}
			events = append(events, ev.ID())
		}
	}
	if !slices.Equal(ids, []string{"m0", "m1", "m2"}) || !slices.Equal(events, eventIDs(whole)) || len(events) != 6 {
		t.Errorf("ids %v, events %v; the whole batch gives %v", ids, events, eventIDs(whole))
	}

	t.Run("a stop names what was not read", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		c := collect(t, r.Payload(ctx, "batch", msgs[1].Payload))
		var st *StoppedError
		if len(c.inputs) != 1 || c.inputs[0].Input != "batch" || !errors.As(c.inputs[0], &st) || st.Index != 0 || !errors.Is(st, context.Canceled) {
			t.Errorf("errors %v", c.inputs)
		}
	})
	t.Run("not SQS", func(t *testing.T) {
		for _, p := range []string{ebConsoleLogin, `{"Records":[{"eventVersion":"1.08"}]}`, `[1]`, ``, `{"Records":[]}`} {
			if msgs, ok, err := SplitSQS([]byte(p)); ok || err != nil || msgs != nil {
				t.Errorf("%.40s: %v %v %v", p, msgs, ok, err)
			}
		}
	})
	t.Run("broken", func(t *testing.T) {
		for p, want := range map[string]string{
			`{"Records":[{"eventSource":"aws:sqs","messageId":"a","body":"{}"},{"eventSource":"aws:sqs","body":"{}"}]}`: "SQS event record 1: the SQS message has no messageId",
			`{"Records":[{"eventSource":"aws:sqs","messageId":"a","body":"{}"},{"eventSource":"aws:s3"}]}`:              "SQS event record 1: the record is not an SQS message, unlike the first",
			`{"Records":[{"eventSource":"aws:sqs","messageId":"a","body":"{}"}`:                                         "SQS event record 1: the event ends inside its Records array",
			`{"Records":[{"eventSource":"aws:sqs","messageId":"a","body":"{}"},{"eventSource":"aws:sqs",}]}`:            "SQS event record 1: invalid JSON: ",
		} {
			_, ok, err := SplitSQS([]byte(p))
			if !ok || err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("%s: ok %v, error %v; want %q", p, ok, err, want)
			}
		}
	})
}

// FuzzSplitSQS: whenever SplitSQS splits a payload, reading its messages
// one by one yields what reading the whole payload yields.
func FuzzSplitSQS(f *testing.F) {
	addSeeds(f)
	f.Add(ingesttest.SQSEvent([]byte(ebConsoleLogin), []byte(`{"Records":[{"eventVersion":"1.08","eventID":"x"}]}`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		msgs, ok, err := SplitSQS(data)
		if !ok || err != nil {
			return
		}
		r := New(Options{})
		var whole, parts []string
		for ev, err := range r.Payload(context.Background(), "p", data) {
			if err == nil {
				whole = append(whole, string(ev.Raw()))
			}
		}
		for _, m := range msgs {
			for ev, err := range r.Payload(context.Background(), "p", m.Payload) {
				if err == nil {
					parts = append(parts, string(ev.Raw()))
				}
			}
		}
		if !slices.Equal(whole, parts) {
			t.Fatalf("whole payload gives %d events, its %d messages %d", len(whole), len(msgs), len(parts))
		}
	})
}
