package cli

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/render"
)

// writeMessage prints one message of a dry run or of render --config: a
// line naming receiver, kind and group, then the message as its reader
// sees it (render.Preview), or with raw exactly what would be sent.
func writeMessage(w io.Writer, m pipeline.Message, raw, pretty bool) {
	pl, g := m.Payload, m.Group
	if raw {
		fmt.Fprintf(w, "--- receiver %s (%s), %d alerts, group %s\n", pl.Receiver, pl.Kind, g.Count, clean(g.Key))
	} else {
		count := ""
		if g.Count > 1 {
			count = fmt.Sprintf(", %d in the group", g.Count)
		}
		fmt.Fprintf(w, "=== to %s (%s)%s, group %s\n", pl.Receiver, pl.Kind, count, clean(g.Key))
	}
	if err := printPayload(w, pl, raw, pretty); err != nil {
		fmt.Fprintf(w, "(cannot print the message: %s)\n", clean(err.Error()))
	}
	if !raw {
		fmt.Fprintln(w)
	}
}

// printPayload prints p as a person reads it, or with raw as it is sent
// (JSON bodies indented when pretty). Text from events is shown with its
// control characters made visible: a preview goes to a terminal.
func printPayload(w io.Writer, p *render.Payload, raw, pretty bool) error {
	if raw {
		return writePayload(w, p, pretty)
	}
	s, err := render.Preview(p)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, cleanLines(s))
	return err
}

// messagePrinter prints a dry run's messages. The pipeline hands them over
// as each group is sent, several at a time; the printer keeps those of one
// delivery and prints them in the order of their events, so that the same
// input always prints the same way.
type messagePrinter struct {
	w   io.Writer
	raw bool

	mu   sync.Mutex
	msgs []pipeline.Message
}

// add keeps a message; the pipeline may call it from several goroutines.
func (mp *messagePrinter) add(m pipeline.Message) {
	mp.mu.Lock()
	defer mp.mu.Unlock()
	mp.msgs = append(mp.msgs, m)
}

// print writes the messages kept, earliest event first, and forgets them.
func (mp *messagePrinter) print() {
	if mp == nil {
		return
	}
	mp.mu.Lock()
	msgs := mp.msgs
	mp.msgs = nil
	mp.mu.Unlock()
	first := func(m pipeline.Message) time.Time {
		var t time.Time
		for _, a := range m.Group.Alerts {
			if et := a.Event.Time(); !et.IsZero() && (t.IsZero() || et.Before(t)) {
				t = et
			}
		}
		return t
	}
	slices.SortStableFunc(msgs, func(a, b pipeline.Message) int {
		return cmp.Or(first(a).Compare(first(b)), cmp.Compare(a.Group.Receiver, b.Group.Receiver), cmp.Compare(a.Group.Key, b.Group.Key))
	})
	var buf bytes.Buffer
	for _, m := range msgs {
		writeMessage(&buf, m, mp.raw, false)
	}
	mp.w.Write(buf.Bytes())
}
