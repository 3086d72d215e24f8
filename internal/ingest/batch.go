package ingest

import (
	"bytes"
	"io/fs"
	"sync"

	"github.com/trailwatch/trailwatch/internal/event"
)

// Batches: in a Map, the results of one input are handed on in batches, a
// run of consecutive results whose events stay valid until the batch is
// given back. A record is copied into the batch and parsed into the
// batch's pending slot, a parser of its own; the work function runs on it
// at once, while its tree is still in the cache of the core that built it.
// An event the consumer needs (work says keep) takes its slot with it; any
// other leaves the slot to the next record, so the decoder parses into the
// same few parsers as a read without batches does.
const (
	// batchItems bounds the results in a batch: small enough that a batch
	// moves on quickly, large enough that handing it on costs little.
	batchItems = 32
	// batchBytes is the room a batch has for its records' bytes. A record
	// larger than that gets a buffer of its own.
	batchBytes = 64 << 10
	// bigWeight is the weight above which a slot's parser is not kept
	// once its batch is given back: its tree has grown large.
	bigWeight = 4096
)

// recordSink is how a decoder in a Map keeps the events it parses: the
// batcher of its input. A decoder without one (Stream, Payload, Paths)
// yields events from its own parsers.
type recordSink interface {
	// take returns the parser for the next record and raw copied where
	// the event will live. It may hand on the batch before, and wait for
	// room.
	take(raw []byte) (*event.Parser, []byte)
	// parsed tells which event the parser from take returned.
	parsed(ev *event.Event)
	// hold keeps ev's tree while the events an envelope carries are read;
	// the returned function lets it go.
	hold(ev *event.Event) func()
	// flush hands on what the current batch holds.
	flush()
	// aborted is closed when the Map is over.
	aborted() <-chan struct{}
}

// item is one result of a batch: an event (nil when work did not keep it)
// and where it came from, or an error. On the fast path, a worker parses
// raw into the event.
type item struct {
	ev      *event.Event
	origin  event.Origin
	err     error
	raw     []byte
	checked bool // fast: cut by the scanner, checked as records() checks it
	w       int  // fast: the record's weight
}

// batch is a run of consecutive results of one input, with what its events
// live in.
type batch[T any] struct {
	items  []item
	vals   []T             // work's result for each event, by item
	slots  []*event.Parser // slots[:used] hold the batch's events
	used   int
	arena  []byte // the events' bytes; arena[:mark] is committed
	mark   int
	weight int  // budget held until the batch is given back
	big    bool // a slot parsed a record of more than bigWeight
	// fast: records for the workers, who signal ready when done;
	// unusual is then the first item the fast path cannot read as
	// Paths does, or -1.
	fast    bool
	unusual int
	ready   chan struct{}
	kept    []*event.Parser // fast: the parsers of the events work kept
	wins    []*winBuf       // fast: window buffers its records lie in
}

func newBatch[T any]() *batch[T] {
	return &batch[T]{
		items:   make([]item, 0, batchItems),
		vals:    make([]T, 0, batchItems),
		arena:   make([]byte, 0, batchBytes),
		ready:   make(chan struct{}, 1),
		unusual: -1,
	}
}

// reset empties b for reuse; parsers of large records are let go.
func (b *batch[T]) reset() {
	clear(b.items)
	b.items = b.items[:0]
	clear(b.vals)
	b.vals = b.vals[:0]
	if b.big {
		clear(b.slots)
		b.slots = b.slots[:0]
	}
	b.used, b.mark, b.weight, b.big, b.fast, b.unusual = 0, 0, 0, false, false, -1
	b.arena = b.arena[:0]
	clear(b.kept)
	b.kept = b.kept[:0]
	for _, wb := range b.wins {
		wb.release()
	}
	clear(b.wins)
	b.wins = b.wins[:0]
}

// heldTree is a parser whose tree an envelope is reading.
type heldTree struct {
	p         *event.Parser
	detached  bool // it left its batch, which may have moved on
	committed bool // it was yielded as an event: it stays in its batch
}

// batcher fills the batches of one input of a Map. It runs on the input's
// decoding goroutine.
type batcher[T any] struct {
	m     *mapRun[T]
	in    *mapInput[T]
	cur   *batch[T]
	pend  *event.Event // parsed into the pending slot, not yet yielded
	pendW int          // budget held for the pending slot
	held  []heldTree   // innermost last
	spare []*event.Parser
	dead  bool // the Map is over: nothing more is wanted
	win   *window
}

// weight estimates what parsing raw costs in memory, in units of about 450
// bytes (the parser's tree per value): one per value the record can hold
// (at most 1 + its commas and openers; a comma or brace inside a string
// only overcounts) and one per 225 bytes for the two copies of its bytes.
func weight(raw []byte, most int) int {
	w := 1 + bytes.Count(raw, comma) + bytes.Count(raw, openBrace) + bytes.Count(raw, openBracket) + len(raw)/225
	return min(w, most)
}

var comma, openBrace, openBracket = []byte{','}, []byte{'{'}, []byte{'['}

func (b *batcher[T]) batch() *batch[T] {
	if b.cur == nil {
		b.cur = b.m.getBatch()
	}
	return b.cur
}

func (b *batcher[T]) newParser() *event.Parser {
	if n := len(b.spare); n > 0 {
		p := b.spare[n-1]
		b.spare = b.spare[:n-1]
		return p
	}
	return new(event.Parser)
}

// pendingHeld reports whether the innermost held tree is the pending
// slot's.
func (b *batcher[T]) pendingHeld() bool {
	n := len(b.held)
	if n == 0 || b.cur == nil || b.cur.used >= len(b.cur.slots) {
		return false
	}
	h := b.held[n-1]
	return !h.detached && !h.committed && h.p == b.cur.slots[b.cur.used]
}

// detach moves a held pending slot's parser out of the batch, so that the
// batch may move on and the slot be reused while the envelope is read. A
// detached tree no longer counts against the budget: the events it carries
// must be able to get room, and envelopes nest at most maxDepth deep, as
// in a read without batches.
func (b *batcher[T]) detach() {
	if !b.pendingHeld() {
		return
	}
	b.held[len(b.held)-1].detached = true
	b.m.budget.release(b.pendW)
	b.pendW = 0
	b.pend = nil
	c := b.cur
	c.slots[c.used] = b.newParser()
	c.mark = len(c.arena) // the envelope's bytes stay where they are
}

// dropPending gives up the pending slot's record: it was not yielded.
func (b *batcher[T]) dropPending() {
	if b.cur != nil {
		b.cur.arena = b.cur.arena[:b.cur.mark]
	}
	if b.pendW > 0 {
		b.m.budget.release(b.pendW)
		b.pendW = 0
	}
	b.pend = nil
}

func (b *batcher[T]) take(raw []byte) (*event.Parser, []byte) {
	if c := b.cur; c != nil && (len(c.items) >= batchItems || len(c.items) > 0 && c.mark+len(raw) > cap(c.arena)) {
		b.flush()
	}
	b.detach()
	b.dropPending()
	w := weight(raw, b.m.most)
	if !b.m.budget.acquire(b.in.seq, w, false) {
		// Hand on what is held before waiting, so that the consumer can
		// give back what this input holds.
		b.flush()
		b.m.budget.acquire(b.in.seq, w, true)
	}
	b.pendW = w
	c := b.batch()
	c.big = c.big || w > bigWeight
	if c.used == len(c.slots) {
		c.slots = append(c.slots, b.newParser())
	}
	var dst []byte
	if len(c.arena)+len(raw) <= cap(c.arena) {
		c.arena = append(c.arena, raw...)
		dst = c.arena[c.mark:len(c.arena):len(c.arena)]
	} else {
		dst = bytes.Clone(raw)
	}
	return c.slots[c.used], dst
}

func (b *batcher[T]) parsed(ev *event.Event) { b.pend = ev }

// record keeps a record of the fast path for a worker to parse: where it
// lies when that is in the window (inWindow), else copied into the batch.
func (b *batcher[T]) record(raw []byte, origin event.Origin, checked, inWindow bool) bool {
	if b.dead {
		return false
	}
	if c := b.cur; c != nil && (len(c.items) >= batchItems || len(c.items) > 0 && c.mark+len(raw) > cap(c.arena)) {
		b.flush()
	}
	b.detach()
	b.dropPending()
	w := weight(raw, b.m.most)
	if !b.m.budget.acquire(b.in.seq, w, false) {
		b.flush()
		b.m.budget.acquire(b.in.seq, w, true)
	}
	c := b.batch()
	var dst []byte
	switch {
	case inWindow && b.win != nil:
		dst = raw
		if wb := b.win.buf; len(c.wins) == 0 || c.wins[len(c.wins)-1] != wb {
			wb.hold()
			c.wins = append(c.wins, wb)
		}
	case len(c.arena)+len(raw) <= cap(c.arena):
		c.arena = append(c.arena, raw...)
		dst = c.arena[c.mark:len(c.arena):len(c.arena)]
	default:
		dst = bytes.Clone(raw)
	}
	c.mark = len(c.arena)
	c.weight += w
	c.big = c.big || w > bigWeight
	c.fast = true
	c.items = append(c.items, item{raw: dst, origin: origin, checked: checked, w: w})
	var zero T
	c.vals = append(c.vals, zero)
	if len(c.items) >= batchItems {
		b.flush()
	}
	return !b.dead
}

// opened tells the batcher the file it reads, to see whether it changed
// before reading it again.
func (b *batcher[T]) opened(info fs.FileInfo) { b.in.info = info }

// useWindow tells the batcher the window its input is read through.
func (b *batcher[T]) useWindow(w *window) { b.win = w }

func (b *batcher[T]) aborted() <-chan struct{} { return b.m.abort }

func (b *batcher[T]) hold(ev *event.Event) func() {
	if ev == nil || ev != b.pend || b.cur == nil || b.cur.used >= len(b.cur.slots) {
		return func() {}
	}
	b.held = append(b.held, heldTree{p: b.cur.slots[b.cur.used]})
	n := len(b.held)
	return func() {
		h := b.held[n-1]
		b.held = b.held[:n-1]
		if h.detached {
			b.spare = append(b.spare, h.p)
		}
	}
}

// add is the decoders' yield: it runs the work function on an event and
// keeps the result in the current batch.
func (b *batcher[T]) add(ev *event.Event, err error) bool {
	if b.dead {
		return false
	}
	if ev != nil && ev != b.pend {
		// An event parsed outside the batch: copied in and parsed again.
		p, raw := b.take(ev.Raw())
		nev, perr := p.Parse(raw, ev.Origin())
		if perr != nil {
			ev, err = nil, perr
		} else {
			b.pend, ev = nev, nev
		}
	}
	var (
		v    T
		keep bool
	)
	if ev != nil {
		v, keep = b.m.fn(b.m.ctx, ev)
	}
	c := b.batch()
	switch {
	case ev == nil:
		c.items = append(c.items, item{err: err})
	case keep:
		if n := len(b.held); n > 0 && b.held[n-1].p == c.slots[c.used] && !b.held[n-1].detached {
			b.held[n-1].committed = true
		}
		c.items = append(c.items, item{ev: ev, origin: ev.Origin()})
		c.used++
		c.mark = len(c.arena)
		c.weight += b.pendW
		b.pendW, b.pend = 0, nil
	default:
		c.items = append(c.items, item{origin: ev.Origin()})
	}
	c.vals = append(c.vals, v)
	if len(c.items) >= batchItems {
		b.flush()
	}
	return !b.dead
}

func (b *batcher[T]) flush() {
	c := b.cur
	if c == nil {
		return
	}
	b.detach()
	b.dropPending()
	if len(c.items) == 0 {
		return
	}
	b.cur = nil
	if !b.m.send(b.in, c) {
		b.dead = true
	}
}

// budget bounds the memory the batches of a Map hold: the weights of the
// records in batches not yet given back, at most a quarter more than the
// most one record may weigh (so at most about 1.25 times what the largest
// record Paths accepts costs it). The input being consumed (the head) may
// use all of it; the others leave spare free, the most one record weighs,
// so that the head can always go on however far the others have read
// ahead.
type budget struct {
	mu     sync.Mutex
	cond   sync.Cond
	used   int
	max    int
	spare  int
	head   int
	closed bool
}

func newBudget(most int) *budget {
	g := &budget{max: most + most/4, spare: most}
	g.cond.L = &g.mu
	return g
}

// acquire takes w for input seq. Without wait it fails rather than wait;
// with it, it waits for room unless the budget is closed.
func (g *budget) acquire(seq, w int, wait bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for !g.closed {
		limit := g.max
		if seq != g.head {
			limit -= g.spare
		}
		if g.used+w <= limit {
			break
		}
		if !wait {
			return false
		}
		g.cond.Wait()
	}
	g.used += w
	return true
}

func (g *budget) release(w int) {
	if w == 0 {
		return
	}
	g.mu.Lock()
	g.used -= w
	g.mu.Unlock()
	g.cond.Broadcast()
}

// setHead makes input seq the one being consumed.
func (g *budget) setHead(seq int) {
	g.mu.Lock()
	g.head = seq
	g.mu.Unlock()
	g.cond.Broadcast()
}

// close lets every waiter go: the Map is over.
func (g *budget) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.cond.Broadcast()
}

// parseOwned parses raw as parse does: in a Map into a slot of the current
// batch, raw copied there; otherwise with p, the decoder's own parser.
func (d *decoder) parseOwned(p *event.Parser, raw []byte, idx int) (*event.Event, error) {
	if d.run.out == nil {
		return d.parse(p, raw, idx)
	}
	p, raw = d.run.out.take(raw)
	ev, err := d.parse(p, raw, idx)
	if err == nil {
		d.run.out.parsed(ev)
	}
	return ev, err
}

// parseCut parses a record found by the marker (recordCut) with no check
// first, the parse confirming the cut: the hot path of log files.
func (d *decoder) parseCut(cand []byte, idx int) (*event.Event, error) {
	if d.run.out == nil {
		return d.ep.Parse(cand, d.origin(idx))
	}
	p, raw := d.run.out.take(cand)
	ev, err := p.Parse(raw, d.origin(idx))
	if err == nil {
		d.run.out.parsed(ev)
	}
	return ev, err
}

// hold keeps ev's tree while an envelope's events are read from it; call
// the returned function when done with it.
func (d *decoder) hold(ev *event.Event) func() {
	if d.run.out == nil {
		return func() {}
	}
	return d.run.out.hold(ev)
}
