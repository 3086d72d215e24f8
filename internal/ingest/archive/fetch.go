package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
)

// Each download reads ahead of the decoder by at most readAhead chunks of
// chunkSize bytes: 256 KiB per object in flight.
const (
	chunkSize = 32 << 10
	readAhead = 8
)

// item is one entry of the ordered queue between the listing goroutine and
// the decoder: an object being downloaded, or a listing error.
type item struct {
	dl  *download
	err error
}

// events runs the pipeline: a goroutine walks the listing and starts up to
// Concurrency downloads, queued in key order; this goroutine decodes them
// one after another through an ingest.Reader.
func (s *Source) events(ctx context.Context, bucket, prefix string, yield func(*event.Event, error) bool) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	queue := make(chan item, s.opt.Concurrency)
	slots := make(chan struct{}, s.opt.Concurrency) // a slot per download in flight
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(queue)
		for o, err := range s.Objects(ctx, bucket, prefix) {
			if err != nil {
				select {
				case queue <- item{err: err}:
					continue
				case <-ctx.Done():
					return
				}
			}
			if s.opt.Progress != nil {
				s.opt.Progress.Listed(o)
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			dl := s.start(ctx, &wg, o)
			select {
			case queue <- item{dl: dl}:
			case <-ctx.Done():
				dl.close(&s.bufs)
				return
			}
		}
	}()
	defer func() {
		cancel()
		for it := range queue {
			if it.dl != nil {
				it.dl.close(&s.bufs)
			}
		}
		wg.Wait()
	}()

	h := &handoff{pool: &s.bufs}
	r := ingest.New(ingest.Options{Fetcher: h, Logger: s.log})
	var t tally
	listed := false // the walk said something: an object or an error
	for it := range queue {
		listed = true
		if it.err != nil {
			var le *listError
			if errors.As(it.err, &le) {
				t.listings++
				it.err = le.InputError
			}
			if !yield(nil, it.err) {
				return
			}
			continue
		}
		t.total++
		o := it.dl.obj
		uri := o.URI()
		h.next = it.dl
		var first error
		stopped := false
		for ev, err := range r.Paths(ctx, []string{uri}) {
			if err != nil && first == nil && failure(err) {
				first = err
			}
			if !yield(ev, err) {
				stopped = true
				break
			}
		}
		it.dl.close(&s.bufs)
		<-slots
		if stopped {
			return
		}
		if first != nil {
			t.fail(uri)
		}
		if s.opt.Progress != nil {
			s.opt.Progress.Done(o, first)
		}
		if ctx.Err() != nil {
			return
		}
	}
	if err := t.err(); err != nil {
		yield(nil, &ingest.InputError{Input: "s3://" + bucket + "/" + prefix, Err: err})
		return
	}
	if !listed && ctx.Err() == nil {
		// Say so rather than print nothing: a mistyped prefix or a range
		// with no delivery look the same otherwise.
		yield(nil, &ingest.SkipError{Input: "s3://" + bucket + "/" + prefix, Index: -1, Reason: "no CloudTrail log file in range under this prefix"})
	}
}

// failure reports whether an error from the decoder means the object was
// not read completely: anything but a skip on purpose.
func failure(err error) bool {
	var skip *ingest.SkipError
	return !errors.As(err, &skip)
}

// download is one object being fetched into a bounded queue of chunks.
type download struct {
	obj    Object
	chunks chan *[]byte // each holds the bytes read, sliced to length
	err    error        // why the download ended early; written before chunks is closed
	cancel context.CancelFunc
	closed bool
}

// start begins downloading o. The goroutine ends when the object has been
// read, when it fails, or when close is called.
func (s *Source) start(ctx context.Context, wg *sync.WaitGroup, o Object) *download {
	dctx, cancel := context.WithCancel(ctx)
	d := &download{obj: o, chunks: make(chan *[]byte, readAhead), cancel: cancel}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(d.chunks)
		var idle atomic.Bool
		timer := time.AfterFunc(s.opt.IdleTimeout, func() { idle.Store(true); cancel() })
		defer timer.Stop()
		stalled := func(err error) error {
			if idle.Load() {
				return fmt.Errorf("download stalled: no data for %s", s.opt.IdleTimeout)
			}
			return err
		}
		body, err := ingest.NewS3Fetcher(s.client).Open(dctx, o.Bucket, o.Key)
		if err != nil {
			d.err = stalled(err)
			return
		}
		defer body.Close()
		for {
			buf := s.bufs.Get().(*[]byte)
			*buf = (*buf)[:chunkSize]
			timer.Reset(s.opt.IdleTimeout)
			n, err := body.Read(*buf)
			timer.Stop()
			if n > 0 {
				*buf = (*buf)[:n]
				select {
				case d.chunks <- buf:
				case <-dctx.Done():
					s.bufs.Put(buf)
					d.err = stalled(dctx.Err())
					return
				}
			} else {
				s.bufs.Put(buf)
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				d.err = stalled(fmt.Errorf("S3 download failed: %w", err))
				return
			}
		}
	}()
	return d
}

// close stops the download and returns its buffers. It is called from the
// decoding goroutine only.
func (d *download) close(pool *sync.Pool) {
	if d.closed {
		return
	}
	d.closed = true
	d.cancel()
	for b := range d.chunks {
		pool.Put(b)
	}
}

// handoff is the Fetcher of the decoder: it hands out the download queued
// for the object being read, so the decoder reads objects exactly as it
// reads an s3:// path or a notification.
type handoff struct {
	next *download
	pool *sync.Pool
}

// Open returns the body of the queued download. It waits for the first
// chunk, so that a failed GetObject is reported as the input's error.
func (h *handoff) Open(_ context.Context, bucket, key string) (io.ReadCloser, error) {
	d := h.next
	h.next = nil
	if d == nil || d.obj.Bucket != bucket || d.obj.Key != key {
		return nil, fmt.Errorf("s3://%s/%s was not listed, so it is not read", bucket, key)
	}
	b := &body{d: d, pool: h.pool}
	first, ok := <-d.chunks
	if !ok {
		if d.err != nil {
			return nil, d.err
		}
		return b, nil // an empty object
	}
	b.buf, b.cur = first, *first
	return b, nil
}

// body reads a download's chunks in order.
type body struct {
	d    *download
	pool *sync.Pool
	buf  *[]byte // the chunk cur points into
	cur  []byte
}

func (b *body) Read(p []byte) (int, error) {
	for len(b.cur) == 0 {
		if b.buf != nil {
			b.pool.Put(b.buf)
			b.buf = nil
		}
		c, ok := <-b.d.chunks
		if !ok {
			if b.d.err != nil {
				return 0, b.d.err
			}
			return 0, io.EOF
		}
		b.buf, b.cur = c, *c
	}
	n := copy(p, b.cur)
	b.cur = b.cur[n:]
	return n, nil
}

// Close gives back the current chunk; the download itself is closed by the
// pipeline once the decoder is done with it.
func (b *body) Close() error {
	if b.buf != nil {
		b.pool.Put(b.buf)
		b.buf, b.cur = nil, nil
	}
	return nil
}
