// Package stdout writes payloads as lines to a writer: JSON lines for
// machines (the default) or the readable text form for people.
package stdout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/trailwatch/trailwatch/internal/render"
)

// Options configure a stdout receiver.
type Options struct {
	// W receives the lines (os.Stdout in the CLI). Required.
	W io.Writer
	// Text writes p.Text instead of p.Body.
	Text bool
}

// Notifier writes to one writer. Each payload is written with a single Write
// under a mutex, so lines from concurrent deliveries never interleave.
type Notifier struct {
	mu   sync.Mutex
	w    io.Writer
	text bool
	buf  bytes.Buffer
}

// New returns a Notifier, or an error when o.W is nil.
func New(o Options) (*Notifier, error) {
	if o.W == nil {
		return nil, errors.New("stdout: no writer")
	}
	return &Notifier{w: o.W, text: o.Text}, nil
}

// Notify implements notify.Notifier: it writes the body (or text) and a
// newline unless it already ends with one. A failed write is not retried: a
// partial line may already be out.
func (n *Notifier) Notify(_ context.Context, p *render.Payload, _ *render.Group) (bool, error) {
	line := p.Body
	if n.text {
		line = []byte(p.Text)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.buf.Reset()
	n.buf.Write(line)
	if len(line) == 0 || line[len(line)-1] != '\n' {
		n.buf.WriteByte('\n')
	}
	if _, err := n.w.Write(n.buf.Bytes()); err != nil {
		return false, fmt.Errorf("stdout write failed: %w", err)
	}
	return false, nil
}
