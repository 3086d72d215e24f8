package ingest

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"iter"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/trailwatch/trailwatch/internal/event"
)

// MapOptions configure Map.
type MapOptions struct {
	// Cores is how many cores the read may keep busy; 0 means GOMAXPROCS.
	// With one, Map reads on the calling goroutine exactly as Paths does,
	// with no goroutine of its own.
	Cores int
	// Inputs is how many inputs (files, S3 objects, standard input) are
	// read at once, each on a goroutine of its own; 0 means as many as
	// Cores, at most maxMapInputs.
	Inputs int
	// Stdin is what the argument "-" reads; nil means os.Stdin.
	Stdin io.Reader

	// onFallback, for tests, hears of every file read again.
	onFallback func(input string)
}

// maxMapInputs bounds the inputs read at once by default: enough to hide
// the latency of opening files and S3 objects, few enough that the inputs
// read ahead of the one being consumed hold little memory.
const maxMapInputs = 8

// Result is one result of a Map, in the order Paths yields them: an event
// with what the work function made of it, or an error (a *SkipError,
// *RecordError or *InputError, exactly as Paths yields it) with a zero
// Value. Event is nil when work did not keep it; Origin says where it came
// from all the same.
type Result[T any] struct {
	Event  *event.Event
	Origin event.Origin
	Value  T
	Err    error
}

// Map reads args as Paths does and calls work on every event, then yields
// work's results, with the events work keeps, and the errors, in exactly
// the order Paths yields them: the same events, errors and indexes,
// whatever the number of cores.
//
// Reading runs as a pipeline: several inputs are read at once, each on a
// goroutine of its own; the records of a local log file are cut there and
// parsed and run through work on worker goroutines (the fast path, see
// fast.go); other inputs (standard input, S3 objects, JSON Lines,
// envelopes) are parsed on their own goroutine, work called right after
// each parse while the tree is in that core's cache, and a large or remote
// one is gunzipped on another goroutine; the calling goroutine consumes
// the results of the inputs before. Memory stays bounded: the
// batches of results in flight are few and the weight of the events they
// keep, what parsing them can cost, is bounded in total (see budget), so a
// hostile input costs about what it costs Paths; Limits apply per input as
// they do there.
//
// work runs on the goroutines reading inputs and on workers, concurrently
// for different events, never twice at once on one event; it must have no
// effect beyond its result, since a file read again (see the package
// documentation) has work called again on the events before the record
// that made it so, whose first results were yielded already. It returns
// its result and whether the consumer needs the event itself: an event not
// kept is let go at once (its parser reused), which keeps the parsers in
// the cache; Result.Event is then nil. A kept event stays valid until the
// next iteration, as with Paths; Clone it to keep it longer (and clone it
// before keeping it in work's result). When the context is done, reading
// stops as Paths's does (an *InputError with a *StoppedError for the input
// being read) and nothing after it is yielded. Stopping the iteration early
// stops every goroutine Map started, except one blocked reading a live
// stream, which ends at its next read.
func Map[T any](ctx context.Context, r *Reader, args []string, o MapOptions, work func(context.Context, *event.Event) (T, bool)) iter.Seq[Result[T]] {
	return func(yield func(Result[T]) bool) {
		stdin := o.Stdin
		if stdin == nil {
			stdin = os.Stdin
		}
		cores := o.Cores
		if cores <= 0 {
			cores = runtime.GOMAXPROCS(0)
		}
		if cores == 1 {
			for ev, err := range r.paths(ctx, args, stdin) {
				res := Result[T]{Err: err}
				if err == nil {
					var keep bool
					res.Origin = ev.Origin()
					if res.Value, keep = work(ctx, ev); keep {
						res.Event = ev
					}
				}
				if !yield(res) {
					return
				}
			}
			return
		}
		inputs := o.Inputs
		if inputs <= 0 {
			inputs = min(cores, maxMapInputs)
		}
		m := newMapRun(ctx, r, work)
		m.onFallback = o.onFallback
		m.start(args, stdin, inputs, cores)
		defer m.stop()
		m.consume(yield)
	}
}

// mapRun is one Map iteration.
type mapRun[T any] struct {
	r   *Reader
	ctx context.Context
	fn  func(context.Context, *event.Event) (T, bool)
	// abort is closed when the iteration ends before its inputs do; the
	// caller's context, in contrast, stops reading the way it stops
	// Paths, with an error that still reaches the consumer.
	abort chan struct{}

	order   chan *mapInput[T] // inputs in order, for the consumer
	todo    chan *mapInput[T] // inputs for the decoding goroutines
	work    chan *batch[T]    // batches of the fast path, for the workers
	freeMu  sync.Mutex
	freeB   []*batch[T]        // batches given back, the last one first: its memory is warmest
	parsers chan *event.Parser // parsers of kept events, given back for the workers
	budget  *budget
	most    int          // the most one record weighs
	careful *atomic.Bool // shared by every input, as in one Paths call

	readers sync.WaitGroup // the lister, the decoding goroutines, drains
	workers sync.WaitGroup
	heavy   event.Parser // the consumer's, for records of the fast path over bigWeight

	onFallback func(input string)
}

// mapInput is one input of a Map and its batches, in order.
type mapInput[T any] struct {
	seq  int
	in   input
	out  chan *batch[T]
	stop chan struct{} // closed when the input is read again instead
	info fs.FileInfo   // the file as it was opened
}

// batchesAhead is how many batches of one input may wait for the
// consumer: depth lets the reading goroutine and the workers run on while
// the consumer waits for a batch still being parsed. Measured on two cores
// (BenchmarkCheckEndToEnd): 2 batches kept the workers idle half the time
// (1.25x the one-core rate), 6 to 10 reached 1.4x to 1.75x, 12 and more
// lost it again to the cache.
const batchesAhead = 8

func newMapRun[T any](ctx context.Context, r *Reader, fn func(context.Context, *event.Event) (T, bool)) *mapRun[T] {
	most := min(max(r.lim.MaxValues, 4096), 1<<20)
	return &mapRun[T]{
		r: r, ctx: ctx, fn: fn,
		abort: make(chan struct{}),
		// Two batches' worth of parsers: a pooled parser keeps the tree
		// of the largest record it parsed, so a larger pool holds more
		// memory than it saves (check --config over 400,000 events peaked
		// at 73 MiB with four batches' worth, 63 MiB with two).
		parsers: make(chan *event.Parser, 2*batchItems),
		budget:  newBudget(most),
		most:    most,
		careful: new(atomic.Bool),
	}
}

func (m *mapRun[T]) start(args []string, stdin io.Reader, inputs, workers int) {
	m.order = make(chan *mapInput[T], inputs)
	m.todo = make(chan *mapInput[T])
	m.work = make(chan *batch[T], workers)
	m.readers.Add(1 + inputs)
	go m.list(args)
	for range inputs {
		go m.decode(stdin)
	}
	m.workers.Add(workers)
	for range workers {
		go m.runWork()
	}
}

// stop ends the iteration and waits for the goroutines it started.
func (m *mapRun[T]) stop() {
	close(m.abort)
	m.budget.close()
	m.readers.Wait()
	close(m.work)
	m.workers.Wait()
}

// list sends the inputs of args, in order, to the consumer and, those to
// read, to the decoding goroutines.
func (m *mapRun[T]) list(args []string) {
	defer m.readers.Done()
	defer close(m.todo)
	defer close(m.order)
	seq := 0
	m.r.inputs(m.ctx, args, func(in input) bool {
		mi := &mapInput[T]{seq: seq, in: in}
		seq++
		if in.kind != inputFailed {
			mi.out = make(chan *batch[T], batchesAhead)
			mi.stop = make(chan struct{})
		}
		select {
		case m.order <- mi:
		case <-m.abort:
			return false
		}
		if mi.out == nil {
			return true
		}
		select {
		case m.todo <- mi:
			return true
		case <-m.abort:
			return false
		}
	})
}

// decode reads inputs into batches, one input after another.
func (m *mapRun[T]) decode(stdin io.Reader) {
	defer m.readers.Done()
	for mi := range m.todo {
		b := &batcher[T]{m: m, in: mi}
		run := &runState{careful: m.careful, out: b, fast: mi.in.kind == inputFile}
		m.r.read(m.ctx, run, mi.in, stdin, b.add)
		b.flush()
		close(mi.out)
	}
}

// send hands a batch to the workers, when it holds records of the fast
// path, and to the consumer; false when nothing more is wanted of the
// input.
func (m *mapRun[T]) send(mi *mapInput[T], b *batch[T]) bool {
	if b.fast {
		select {
		case m.work <- b:
		case <-m.abort:
			return false
		case <-mi.stop:
			return false
		}
	}
	select {
	case mi.out <- b:
		return true
	case <-m.abort:
		return false
	case <-mi.stop:
		return false
	}
}

// runWork parses the records of fast batches and runs work on them. A
// parser whose event work keeps goes with the batch; the next record is
// parsed with another.
func (m *mapRun[T]) runWork() {
	defer m.workers.Done()
	p := new(event.Parser)
	for b := range m.work {
		careful := m.careful.Load()
		for i := range b.items {
			it := &b.items[i]
			if it.raw == nil || it.w > bigWeight {
				// A heavy record is the consumer's: its tree is built
				// once at a time, as Paths builds it, not once per worker.
				continue
			}
			ev, ok := fastParse(p, it, m.r.lim, careful)
			if !ok {
				b.unusual = i
				break
			}
			var keep bool
			if b.vals[i], keep = m.fn(m.ctx, ev); keep {
				it.ev = ev
				b.kept = append(b.kept, p)
				p = m.getParser()
			}
		}
		b.ready <- struct{}{}
	}
}

func (m *mapRun[T]) getParser() *event.Parser {
	select {
	case p := <-m.parsers:
		return p
	default:
		return new(event.Parser)
	}
}

// abandon stops reading an input ahead (it is read again instead) and
// gives back what it had read.
func (m *mapRun[T]) abandon(mi *mapInput[T]) {
	close(mi.stop)
	m.readers.Add(1)
	go func() {
		defer m.readers.Done()
		for b := range mi.out {
			if b.fast {
				<-b.ready
			}
			m.release(b)
		}
	}()
}

// changed reports whether a file read on the fast path is no longer what
// was read.
func changed[T any](mi *mapInput[T]) bool {
	if mi.info == nil {
		return true
	}
	st, err := os.Stat(mi.in.name)
	return err != nil || st.Size() != mi.info.Size() || !st.ModTime().Equal(mi.info.ModTime())
}

func (m *mapRun[T]) getBatch() *batch[T] {
	m.freeMu.Lock()
	defer m.freeMu.Unlock()
	if n := len(m.freeB); n > 0 {
		b := m.freeB[n-1]
		m.freeB = m.freeB[:n-1]
		return b
	}
	return newBatch[T]()
}

// release gives a consumed batch back.
func (m *mapRun[T]) release(b *batch[T]) {
	m.budget.release(b.weight)
	if !b.big {
		for _, p := range b.kept {
			select {
			case m.parsers <- p:
			default:
			}
		}
	}
	b.reset()
	m.freeMu.Lock()
	if len(m.freeB) < 4*maxMapInputs {
		m.freeB = append(m.freeB, b)
	}
	m.freeMu.Unlock()
}

// consume yields the results of every input in order.
func (m *mapRun[T]) consume(yield func(Result[T]) bool) {
	for mi := range m.order {
		m.budget.setHead(mi.seq)
		if !m.consumeInput(mi, yield) {
			return
		}
	}
}

// consumeInput yields the results of one input; false when the iteration
// ends. A record the fast path could not read makes it read the input
// again (fallback).
func (m *mapRun[T]) consumeInput(mi *mapInput[T], yield func(Result[T]) bool) bool {
	if mi.out == nil {
		return yield(Result[T]{Err: mi.in.err}) && !m.stopped(mi.in.err)
	}
	n := 0 // results of mi yielded
	for b := range mi.out {
		if b.fast {
			<-b.ready
		}
		for i, it := range b.items {
			if i < b.unusual || b.unusual < 0 {
				if it.raw != nil && it.w > bigWeight {
					ev, ok := fastParse(&m.heavy, &it, m.r.lim, m.careful.Load())
					if !ok {
						b.unusual = i
					} else {
						var keep bool
						if b.vals[i], keep = m.fn(m.ctx, ev); keep {
							it.ev = ev
						}
					}
				}
			}
			if i == b.unusual {
				m.release(b)
				return m.fallback(mi, n, yield)
			}
			n++
			if !yield(Result[T]{Event: it.ev, Origin: it.origin, Value: b.vals[i], Err: it.err}) || it.err != nil && m.stopped(it.err) {
				return false
			}
		}
		m.release(b)
	}
	return true
}

// stopped reports whether err stops the whole read, as it does Paths:
// reading stopped because the caller's context is done.
func (m *mapRun[T]) stopped(err error) bool {
	if m.ctx.Err() == nil {
		return false
	}
	var ie *InputError
	return errors.As(err, &ie) && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}
