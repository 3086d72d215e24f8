package ingest

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// Read-ahead: in a Map, an input whose events are parsed where it is read
// (standard input, an S3 object, a large JSON Lines file) is read, and
// gunzipped, on a goroutine of its own, a chunk at a time, while its
// decoder parses the chunks before: gunzip and parsing are the two largest
// steps of reading, so this is what lets such an input use two cores. The
// records of a local log file are parsed on workers instead (fast.go), and
// the file is gunzipped where it is cut.
const (
	aheadChunk  = 64 << 10
	aheadChunks = 4 // chunks per input: 256 KiB read ahead at most
	// aheadMinSize is the smallest file read ahead: below it, gunzip
	// costs less than handing chunks between goroutines, and many small
	// files are read side by side anyway.
	aheadMinSize = 256 << 10
)

// aheadReader is the decoder's end of a read-ahead: Read hands over the
// chunks the reading goroutine has filled, in order.
type aheadReader struct {
	ctx   context.Context
	abort <-chan struct{}
	full  chan []byte // chunks read, in order; closed after the last
	free  chan []byte // chunks handed back for refilling
	cur   []byte      // the unread rest of the current chunk
	buf   []byte      // the current chunk, to hand back
	// err ends the stream (io.EOF or the failure); written before full is
	// closed.
	err error
	// onWait runs before Read waits for a chunk: the decoder hands over
	// the events it holds, so a live stream's events are not held back
	// until more input comes.
	onWait func()
	stop   chan struct{}
	once   sync.Once
}

// readAhead starts reading src on a goroutine of its own. done runs on that
// goroutine when it has stopped reading src (src's buffers may be reused
// from then on). The caller Closes the reader; reading stops at the end of
// src, at Close, when ctx is done (Read then fails with ctx's error) or
// when abort is closed, whichever comes first.
func readAhead(ctx context.Context, abort <-chan struct{}, src io.Reader, onWait func(), done func()) *aheadReader {
	a := &aheadReader{
		ctx:    ctx,
		abort:  abort,
		full:   make(chan []byte, aheadChunks),
		free:   make(chan []byte, aheadChunks),
		onWait: onWait,
		stop:   make(chan struct{}),
	}
	for range aheadChunks {
		a.free <- make([]byte, aheadChunk)
	}
	go a.fill(src, done)
	return a
}

// fill is the reading goroutine.
func (a *aheadReader) fill(src io.Reader, done func()) {
	defer done()
	defer close(a.full)
	for {
		var c []byte
		select {
		case c = <-a.free:
		case <-a.stop:
			a.err = errClosed
			return
		case <-a.abort:
			a.err = errClosed
			return
		case <-a.ctx.Done():
			a.err = a.ctx.Err()
			return
		}
		n, err := src.Read(c[:cap(c)])
		if n > 0 {
			select {
			case a.full <- c[:n]:
			case <-a.stop:
				a.err = errClosed
				return
			case <-a.abort:
				a.err = errClosed
				return
			case <-a.ctx.Done():
				a.err = a.ctx.Err()
				return
			}
		} else {
			a.free <- c // never blocks: the chunk came from free
		}
		if err != nil {
			a.err = err
			return
		}
	}
}

// errClosed ends a read-ahead that was closed before its end.
var errClosed = fmt.Errorf("read-ahead closed")

// Read copies what has been read ahead into p: as many chunks as are ready,
// waiting only when none is.
func (a *aheadReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(a.cur) == 0 {
			if a.buf != nil {
				a.free <- a.buf[:cap(a.buf)] // never blocks: one of aheadChunks
				a.buf = nil
			}
			c, ok, err := a.next(n == 0)
			if err != nil {
				return n, err
			}
			if !ok {
				break
			}
			a.buf, a.cur = c, c
		}
		k := copy(p[n:], a.cur)
		a.cur = a.cur[k:]
		n += k
	}
	return n, nil
}

// next returns the next chunk. When wait is false it returns ok false
// rather than wait; at the end it returns the stream's error.
func (a *aheadReader) next(wait bool) (c []byte, ok bool, err error) {
	select {
	case c, ok = <-a.full:
	default:
		if !wait {
			return nil, false, nil
		}
		if a.onWait != nil {
			a.onWait()
		}
		select {
		case c, ok = <-a.full:
		case <-a.ctx.Done():
			return nil, false, a.ctx.Err()
		case <-a.abort:
			return nil, false, errClosed
		}
	}
	if !ok {
		if !wait {
			return nil, false, nil
		}
		return nil, false, a.err
	}
	return c, true, nil
}

// Close stops the reading goroutine; it does not wait for it, since it may
// be blocked in a read of a live stream. Its done function releases what
// it reads from.
func (a *aheadReader) Close() error {
	a.once.Do(func() { close(a.stop) })
	return nil
}

// content returns a buffered reader of rd's content, gunzipped when rd
// starts with the gzip magic bytes, and the function that gives back what
// it took. In a Map, an input marked ahead (standard input, a large file)
// or fetched from S3 is read and gunzipped on a goroutine of its own, and
// a file that may take the fast path is read through a window, which
// keeps its bytes where they are while batches point into them.
func (d *decoder) content(rd io.Reader) (buffered, func(), error) {
	r := d.r
	br := r.getBuf(rd)
	gz := isGzip(br)
	var zr *gzip.Reader
	if gz {
		var err error
		if zr, err = r.gunzip(br); err != nil {
			r.putBuf(br)
			return nil, nil, err
		}
	}
	var (
		src     io.Reader = br // what the scanner's buffer reads
		release           = func() {
			if zr != nil {
				r.putGzip(zr)
			}
			r.putBuf(br)
		}
	)
	if gz {
		src = gzipErrs{zr}
	}
	if d.run.out != nil && (d.ahead || d.fetched) {
		a := readAhead(d.ctx, d.run.out.aborted(), src, d.run.out.flush, release)
		src, release = a, func() { a.Close() }
	}
	if w, ok := d.run.out.(interface{ useWindow(*window) }); ok && d.run.fast && d.depth == 0 {
		win := newWindow(src, &r.windows)
		w.useWindow(win)
		return win, func() { win.close(); release() }, nil
	}
	if !gz && src == io.Reader(br) {
		return br, release, nil
	}
	sbr := r.getBuf(src)
	return sbr, func() { r.putBuf(sbr); release() }, nil
}
