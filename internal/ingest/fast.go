package ingest

import (
	"errors"
	"io"

	"github.com/trailwatch/trailwatch/internal/event"
)

// The fast path of a Map: the records of a local log file are cut out of
// the stream on the input's goroutine and parsed, checked and run through
// the work function on worker goroutines, so that parsing, the largest
// step after gunzip, uses every core too.
//
// Records is cut the way the decoder cuts them (recordCut), except that
// a candidate is not parsed first to confirm it: the worker's parse
// confirms it afterwards. Whatever the workers cannot read exactly as
// records() would without more context (a record that does not parse,
// which may also mean a cut in the wrong place, one too large to parse
// unchecked, an envelope, a record that is not CloudTrail) makes the
// consumer read the whole file again the ordinary way, yielding only what
// follows the results it has yielded already. Real log files have none of
// these; a file that does costs one more read.

// fastRecords is records() on the fast path: the same loop, the same
// errors at the same places, with each record handed to the batch unparsed.
func (d *decoder) fastRecords(sc *scanner, idx *int, f fastSink) bool {
	var cut recordCut
	for first := true; ; first = false {
		if more, ok := d.nextRecord(sc, *idx, first); !ok {
			return false
		} else if !more {
			break
		}
		if cand := cut.candidate(sc.buffered()); cand != nil && !d.run.isCareful() && (len(cand)+1)/2 <= d.lim.MaxValues {
			// records() would parse the candidate here and take it when
			// it parses; the worker does, and anything else falls back.
			if !f.record(cand, d.origin(*idx), false, true) {
				d.run.halted = true
				return false
			}
			cut.hit()
			sc.discard(len(cand))
			*idx++
			continue
		} else if cut.marker != nil {
			cut.miss()
		}
		raw, ok, cont := d.arrayElement(sc, *idx)
		if !cont {
			return false
		}
		if !ok {
			*idx++
			continue
		}
		cut.learn(raw)
		if !f.record(raw, d.origin(*idx), true, sc.inWindow) {
			d.run.halted = true
			return false
		}
		*idx++
	}
	return d.objectRest(sc, *idx)
}

// fastSink is a recordSink that takes records unparsed.
type fastSink interface {
	// record keeps raw, the record at origin, for a worker to parse;
	// cut by the scanner rather than the marker when scanned; lying in
	// the scanner's window, rather than its side buffer, when inWindow.
	// It returns false when nothing more is wanted.
	record(raw []byte, origin event.Origin, scanned, inWindow bool) bool
}

// fastSinkOf returns the fast sink of a top-level log file of a Map that
// can be read again, or nil.
func (d *decoder) fastSinkOf() fastSink {
	if d.depth != 0 || d.msgIdx >= 0 || d.run.out == nil {
		return nil
	}
	if f, ok := d.run.out.(fastSink); ok && d.run.fast {
		return f
	}
	return nil
}

// fastParse is what a worker does with a record of the fast path: parse it
// with p as records() would and tell whether the event is what records()
// would yield. false means the record needs the decoder's context (an
// error to count, an envelope to open, a skip to report), or that the cut
// was wrong: the input is read again.
func fastParse(p *event.Parser, it *item, lim Limits, careful bool) (*event.Event, bool) {
	raw := it.raw
	if it.checked && (careful || (len(raw)+1)/2 > lim.MaxValues) {
		if checkShape(raw, lim.MaxValues) != nil {
			return nil, false
		}
	}
	if careful && !parserAccepts(raw) {
		// Not parsed: a refusal would cost the parser's long message.
		return nil, false
	}
	ev, err := p.Parse(raw, it.origin)
	if err != nil {
		return nil, false
	}
	v := ev.Value()
	if isEnvelopeRecord(v) || !looksLikeCloudTrail(v) {
		return nil, false
	}
	return ev, true
}

// errChanged reports a file that changed between two reads.
var errChanged = errors.New("the file changed while it was read, so it was not read again; read it again once it is complete")

// fallback reads a file of the fast path again the ordinary way, after the
// consumer met a record the fast path cannot read as Paths does. The first
// skip results, yielded already, are passed over. It returns false when
// the iteration ends.
func (m *mapRun[T]) fallback(mi *mapInput[T], skip int, yield func(Result[T]) bool) bool {
	m.abandon(mi)
	if m.onFallback != nil {
		m.onFallback(mi.in.name)
	}
	if changed(mi) {
		return yield(Result[T]{Err: &InputError{Input: mi.in.name, Err: errChanged}})
	}
	n, cont := 0, true
	run := &runState{careful: m.careful}
	m.r.read(m.ctx, run, mi.in, eofReader{}, func(ev *event.Event, err error) bool {
		if n++; n <= skip {
			return true
		}
		res := Result[T]{Err: err}
		if err == nil {
			var keep bool
			res.Origin = ev.Origin()
			if res.Value, keep = m.fn(m.ctx, ev); keep {
				res.Event = ev
			}
		}
		if !yield(res) || err != nil && m.stopped(err) {
			cont = false
			return false
		}
		return true
	})
	return cont
}

// eofReader is an empty standard input: only files take the fast path.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
