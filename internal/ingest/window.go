package ingest

import (
	"bufio"
	"io"
	"sync"
	"sync/atomic"
)

// buffered is what the scanner needs of the buffer it reads through: a
// *bufio.Reader, or a window.
type buffered interface {
	Buffered() int
	Peek(n int) ([]byte, error)
	Discard(n int) (int, error)
}

// window is the buffer under the scanner of a file on the fast path of a
// Map. Unlike a bufio.Reader it never moves bytes that batches still point
// to: the fast path hands workers the records where they lie in the window,
// without copying them, and the window, when it needs room, moves on to a
// fresh buffer rather than sliding its unread bytes over theirs. The last
// holder of a buffer gives it back to the pool.
type window struct {
	rd   io.Reader
	buf  *winBuf
	r, w int
	err  error
	pool *sync.Pool // *winBuf
}

// winBuf is one buffer of a window, held by the window while it reads into
// it and by each batch that points into it.
type winBuf struct {
	b    []byte
	refs atomic.Int32
	pool *sync.Pool
}

func (wb *winBuf) hold() { wb.refs.Add(1) }

func (wb *winBuf) release() {
	if wb.refs.Add(-1) == 0 {
		wb.pool.Put(wb)
	}
}

func newWindow(rd io.Reader, pool *sync.Pool) *window {
	return &window{rd: rd, buf: getWinBuf(pool), pool: pool}
}

func getWinBuf(pool *sync.Pool) *winBuf {
	wb, _ := pool.Get().(*winBuf)
	if wb == nil {
		wb = &winBuf{b: make([]byte, bufSize), pool: pool}
	}
	wb.refs.Store(1)
	return wb
}

// Buffered returns the number of bytes that can be read without reading
// more.
func (w *window) Buffered() int { return w.w - w.r }

// Discard skips the next n buffered bytes.
func (w *window) Discard(n int) (int, error) {
	if n > w.w-w.r {
		n = w.w - w.r
		w.r = w.w
		return n, bufio.ErrBufferFull
	}
	w.r += n
	return n, nil
}

// Peek returns the next n bytes without consuming them, reading more as
// needed, as bufio.Reader.Peek does. They stay valid until the next Peek
// or Discard.
func (w *window) Peek(n int) ([]byte, error) {
	for w.w-w.r < n && w.err == nil {
		if w.w-w.r >= len(w.buf.b) {
			return w.buf.b[w.r:w.w], bufio.ErrBufferFull
		}
		w.fill()
	}
	if w.w-w.r < n {
		err := w.err
		w.err = nil
		return w.buf.b[w.r:w.w], err
	}
	return w.buf.b[w.r : w.r+n], nil
}

// fill reads once more. When the buffer is full, its unread bytes go to
// the front of a fresh buffer if batches hold this one, else to its own
// front.
func (w *window) fill() {
	held := w.buf.refs.Load() > 1
	switch {
	case w.r == w.w && !held:
		w.r, w.w = 0, 0
	case w.w == len(w.buf.b) && held:
		nb := getWinBuf(w.pool)
		n := copy(nb.b, w.buf.b[w.r:w.w])
		w.buf.release()
		w.buf, w.r, w.w = nb, 0, n
	case w.w == len(w.buf.b):
		n := copy(w.buf.b, w.buf.b[w.r:w.w])
		w.r, w.w = 0, n
	}
	for range 100 {
		n, err := w.rd.Read(w.buf.b[w.w:])
		w.w += n
		if err != nil {
			w.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	w.err = io.ErrNoProgress
}

// close lets go of the window's buffer.
func (w *window) close() {
	if w.buf != nil {
		w.buf.release()
		w.buf = nil
	}
}
