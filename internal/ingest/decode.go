package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fastjson"

	"github.com/trailwatch/trailwatch/internal/event"
)

// ctxEvery is how many records pass between context checks.
const ctxEvery = 256

// decoder reads one input. Nested envelopes get a child decoder with their
// own parsers, so an outer envelope's parsed tree stays valid while the
// records inside it are yielded.
type decoder struct {
	r       *Reader
	ctx     context.Context
	lim     Limits
	name    string // input name in origins and errors
	path    string // outermost delivery path; "" until an envelope names it
	msgID   string // SQS message id
	foreign bool   // an S3 object named by a notification: non-JSON content is skipped
	fetched bool   // inside a fetched S3 object, which may not name further objects
	lines   bool   // the input is named as JSON Lines (.jsonl, .ndjson)
	version string // the S3 object version a notification names
	ahead   bool   // in a Map, the input is read ahead on a goroutine of its own
	yield   func(*event.Event, error) bool
	run     *runState   // shared by every decoder of one iteration
	in      *inputState // shared by the decoders of one input
	owns    bool        // d opened in: its finish closes the input
	msgIdx  int         // for a message read as a stream of its own (awslogs data), its index in the input; else -1

	ep   event.Parser // whole documents and streamed records
	lp   event.Parser // records cut out of a parsed document
	buf  []byte       // marshalled records for lp
	side []byte       // the scanner's copy of records that span its window
	big  bool         // a large record passed through: not reused (putDecoder)

	depth int // envelopes and fetched objects this input is nested in
}

// runState is what every decoder of one iteration (one Stream, Payload or
// Paths) shares; in a Map, each input has its own and they share careful.
type runState struct {
	halted  bool         // the consumer stopped, or the context is done
	n       int          // records read, for the periodic context check
	careful *atomic.Bool // a record failed to parse: check each before parsing it
	// out keeps the events of a Map in batches; nil when events are
	// yielded straight from the decoders' own parsers.
	out recordSink
	// fast: the input is a local file of a Map, whose log file records
	// may take the fast path (fastRecords).
	fast bool
}

// inputState is what the decoders of one input share: one file, S3 object
// or SQS message, whatever envelopes it nests. Limits on records and on
// reported errors count here.
type inputState struct {
	records int  // records, documents and log events begun
	stopped bool // a limit stopped the input; it is reported
	// Record errors and skipped records reported one by one, and those
	// counted past Limits.MaxErrors for the summary at the end.
	errs, skips                       int
	omittedErrs, firstErr, lastErr    int
	omittedSkips, firstSkip, lastSkip int
}

// maxDepth bounds nesting (SQS → SNS → S3 notification → object is 3), so an
// object that names itself cannot loop.
const maxDepth = 8

// newDecoder returns a decoder for one input of an iteration; run is shared
// by the inputs of that iteration.
func (r *Reader) newDecoder(ctx context.Context, run *runState, name, path string, yield func(*event.Event, error) bool) *decoder {
	d := r.getDecoder()
	*d = decoder{r: r, ctx: ctx, lim: r.lim, name: name, path: path, yield: yield, run: run, in: &inputState{}, owns: true, msgIdx: -1,
		ep: d.ep, lp: d.lp, buf: d.buf[:0], side: d.side[:0]}
	return d
}

// child returns a decoder for a nested document. name "" keeps d's name;
// path names the envelope when d has none yet; msgID "" keeps d's. A new
// name (a fetched object) or message id (an SQS message) opens a new
// input, which the caller closes with finish.
func (d *decoder) child(name, path, msgID string) *decoder {
	c := &decoder{r: d.r, ctx: d.ctx, lim: d.lim, name: d.name, path: d.path, msgID: d.msgID, yield: d.yield, run: d.run, in: d.in, depth: d.depth + 1, fetched: d.fetched, msgIdx: -1}
	if name != "" {
		c.name = name
	}
	if c.path == "" {
		c.path = path
	}
	if msgID != "" {
		c.msgID = msgID
	}
	if name != "" || msgID != "" {
		c.in, c.owns = &inputState{}, true
	}
	return c
}

func (d *decoder) origin(idx int) event.Origin {
	p := d.path
	if p == "" {
		p = "payload"
	}
	return event.Origin{Input: d.name, Index: idx, Path: p, MessageID: d.msgID}
}

// emit hands one result to the consumer and reports whether to go on.
func (d *decoder) emit(ev *event.Event, err error) bool {
	if d.run.halted {
		return false
	}
	if !d.yield(ev, err) {
		d.run.halted = true
		return false
	}
	return true
}

// skip reports an input (idx -1) or a record skipped on purpose. Skipped
// records past Limits.MaxErrors are counted for the input's summary.
func (d *decoder) skip(idx int, reason string) bool {
	if idx >= 0 {
		in := d.in
		if in.skips >= d.lim.MaxErrors {
			if in.omittedSkips == 0 {
				in.firstSkip = idx
			}
			in.omittedSkips++
			in.lastSkip = idx
			return !d.run.halted
		}
		in.skips++
	}
	d.r.log.Info("input_skipped", "input", d.name, "index", idx, "message_id", d.msgID, "reason", reason)
	return d.emit(nil, &SkipError{Input: d.name, Index: idx, MessageID: d.msgID, Reason: reason})
}

// recordErr reports one bad record; past Limits.MaxErrors it only counts
// it. A scanner that had to stop makes it a stop of the whole input.
func (d *decoder) recordErr(idx int, err error) bool {
	var stop *scanStop
	if errors.As(err, &stop) {
		return d.stop(idx, stop.err)
	}
	in := d.in
	if in.errs >= d.lim.MaxErrors {
		if in.omittedErrs == 0 {
			in.firstErr = idx
		}
		in.omittedErrs++
		in.lastErr = idx
		return !d.run.halted
	}
	in.errs++
	d.r.log.Warn("record_error", "input", d.name, "index", idx, "message_id", d.msgID, "error", err.Error())
	return d.emit(nil, &RecordError{Input: d.name, Index: idx, MessageID: d.msgID, Err: err})
}

func (d *decoder) inputErr(err error) bool {
	var stop *scanStop
	if errors.As(err, &stop) {
		return d.stop(0, stop.err)
	}
	d.r.log.Error("input_error", "input", d.name, "message_id", d.msgID, "error", err.Error())
	return d.emit(nil, &InputError{Input: d.name, MessageID: d.msgID, Err: err})
}

// stop reports that reading of the input stops before record idx, for
// cause: a done context, which stops every input, or a limit, which stops
// this one. It returns false.
func (d *decoder) stop(idx int, cause error) bool {
	if d.in.stopped || d.run.halted {
		return false
	}
	d.in.stopped = true
	err := &InputError{Input: d.name, MessageID: d.msgID, Err: &StoppedError{Index: idx, Err: cause}}
	d.r.log.Error("input_stopped", "input", d.name, "message_id", d.msgID, "index", idx, "error", err.Err.Error())
	d.emit(nil, err)
	if d.ctx.Err() != nil {
		d.run.halted = true
	}
	return false
}

// tick counts the record at idx against the input's MaxRecords and, every
// ctxEvery records, checks the context. It returns false when reading of
// the input must stop (reported once).
func (d *decoder) tick(idx int) bool {
	if d.in.stopped || d.run.halted {
		return false
	}
	if d.in.records++; d.in.records > d.lim.MaxRecords {
		return d.stop(idx, &LimitError{Limit: LimitRecords, Max: int64(d.lim.MaxRecords)})
	}
	if d.run.n++; d.run.n%ctxEvery == 0 {
		if err := d.ctx.Err(); err != nil {
			return d.stop(idx, err)
		}
	}
	return true
}

// finish closes an input d opened: the record errors and skips counted
// past Limits.MaxErrors are summarised, one line each.
func (d *decoder) finish() {
	if !d.owns || d.run.halted {
		return
	}
	in := d.in
	if in.omittedErrs > 0 {
		err := &OmittedError{Count: in.omittedErrs, Last: in.lastErr}
		d.r.log.Warn("record_errors_omitted", "input", d.name, "index", in.firstErr, "message_id", d.msgID, "count", in.omittedErrs, "last_index", in.lastErr)
		if !d.emit(nil, &RecordError{Input: d.name, Index: in.firstErr, MessageID: d.msgID, Err: err}) {
			return
		}
	}
	if in.omittedSkips > 0 {
		reason := fmt.Sprintf("%d more skipped records, the last at record %d, are counted here instead of reported one by one", in.omittedSkips, in.lastSkip)
		d.r.log.Info("input_skipped", "input", d.name, "index", in.firstSkip, "message_id", d.msgID, "reason", reason)
		d.emit(nil, &SkipError{Input: d.name, Index: in.firstSkip, MessageID: d.msgID, Reason: reason})
	}
	in.omittedErrs, in.omittedSkips = 0, 0
}

// stream decodes rd, gunzipping it when it starts with the gzip magic bytes.
// It returns false when the consumer stopped or the context is done.
func (d *decoder) stream(rd io.Reader) bool {
	if err := d.ctx.Err(); err != nil {
		d.stop(0, err)
		return false
	}
	br, release, err := d.content(rd)
	if err != nil {
		d.inputErr(err)
		return !d.run.halted
	}
	defer release()
	d.scan(br)
	return !d.run.halted
}

// scan decodes the JSON values in br.
func (d *decoder) scan(br buffered) {
	sc := newScanner(d.ctx, br, d.lim)
	sc.lines = d.lines
	sc.side = d.side
	sc.skipBOM()
	d.top(sc)
	d.side = sc.side
}

// top reads the top-level JSON values of an input one after another: a
// CloudTrail log file is streamed record by record; an array is read element
// by element; anything else is one document (JSON Lines is a run of them).
func (d *decoder) top(sc *scanner) {
	idx := 0
	oneLine := false // the first value was a one-line document
	for first := true; ; first = false {
		if d.in.stopped || d.run.halted {
			return
		}
		c, newline, err := sc.peek()
		if err == io.EOF {
			if first {
				if d.msgIdx >= 0 {
					d.skip(d.msgIdx, "the message is empty")
				} else {
					d.skip(-1, "input is empty")
				}
			}
			return
		}
		if err != nil {
			d.streamErr(first, idx, err)
			return
		}
		if idx == 1 && oneLine && newline && !sc.objectOpensAlone() {
			// Several one-line values: JSON Lines. From here on a line
			// break ends a value, so a broken line costs only itself. A
			// second value that is pretty-printed (its "{" alone on its
			// line) keeps the input plain JSON, where values span lines.
			sc.lines = true
		}
		switch c {
		case '{':
			if n := recordsPrefix(sc); n > 0 {
				sc.discard(n)
				if !d.records(sc, &idx) {
					return
				}
				continue
			}
			if !d.tick(idx) {
				return
			}
			raw, multiline, err := sc.value()
			if err != nil {
				if !d.valueErr(sc, idx, err) {
					return
				}
				idx++
				continue
			}
			oneLine = first && !multiline
			if !d.doc(raw, idx) {
				return
			}
			idx++
		case '[':
			sc.consume()
			if !d.array(sc, &idx) {
				return
			}
		default:
			if first {
				if d.foreign {
					d.skip(-1, fmt.Sprintf("content is not JSON (starts with %q), so not a CloudTrail log file", c))
					return
				}
				d.wholeErr(fmt.Errorf("not a CloudTrail log, event or envelope: the content starts with %q, not with a JSON object or array", c))
				return
			}
			if !d.valueErr(sc, idx, &syntaxError{off: sc.off, msg: fmt.Sprintf("expected a JSON object, found %q", c)}) {
				return
			}
			idx++
		}
	}
}

// valueErr reports a value that could not be cut out of the stream and says
// whether reading can go on: after an oversized value, and in JSON Lines
// after the rest of the broken line is dropped.
func (d *decoder) valueErr(sc *scanner, idx int, err error) bool {
	if isTooLarge(err) {
		return d.recordErr(idx, err)
	}
	var re *readError
	if errors.As(err, &re) {
		d.recordErr(idx, err)
		return false
	}
	var se *syntaxError
	if !sc.lines {
		if errors.As(err, &se) && !se.eof {
			err = fmt.Errorf("%w; the rest of the input is not read", err)
		}
		d.recordErr(idx, err)
		return false
	}
	if errors.As(err, &se) && se.msg != errLineBreak.Error() {
		sc.skipLine()
	}
	return d.recordErr(idx, err)
}

// streamErr reports a failing reader.
func (d *decoder) streamErr(first bool, idx int, err error) {
	if first {
		d.wholeErr(err)
		return
	}
	d.recordErr(idx, err)
}

// wholeErr reports a failure of the whole stream: an input error, or for a
// message read as a stream of its own, an error of that message's record.
func (d *decoder) wholeErr(err error) bool {
	if d.msgIdx >= 0 {
		return d.recordErr(d.msgIdx, err)
	}
	return d.inputErr(err)
}

// recordsPrefix returns the length of `{ "Records" : [` at the scanner's
// position, or 0 when the object does not start that way. It reads no
// further than it must, so a live stream is not held up.
func recordsPrefix(sc *scanner) int {
	b := sc.buffered()
	for {
		n, more := matchRecordsPrefix(b)
		if !more || len(b) >= 512 {
			return n
		}
		nb, _ := sc.br.Peek(len(b) + 1)
		if len(nb) == len(b) {
			return 0 // the input ends
		}
		b = nb
	}
}

// matchRecordsPrefix matches `{ "Records" : [` at the start of b. more
// reports that b ended before the match was decided.
func matchRecordsPrefix(b []byte) (n int, more bool) {
	const key = `"Records"`
	i := skipWS(b, 1)
	if i == len(b) {
		return 0, true
	}
	rest := b[i:]
	if len(rest) < len(key) {
		return 0, bytes.HasPrefix([]byte(key), rest)
	}
	if !bytes.HasPrefix(rest, []byte(key)) {
		return 0, false
	}
	i = skipWS(b, i+len(key))
	if i == len(b) {
		return 0, true
	}
	if b[i] != ':' {
		return 0, false
	}
	i = skipWS(b, i+1)
	if i == len(b) {
		return 0, true
	}
	if b[i] != '[' {
		return 0, false
	}
	return i + 1, false
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// nextRecord moves to the next element of a Records array: past the comma
// before it, or past the closing bracket (more false). ok is false when
// reading must stop; the problem has been reported.
func (d *decoder) nextRecord(sc *scanner, idx int, first bool) (more, ok bool) {
	c, _, err := sc.peek()
	if err != nil {
		d.arrayEnd(idx, err)
		return false, false
	}
	if c == ']' {
		sc.consume()
		return false, true
	}
	if !first {
		if c != ',' {
			d.recordErr(idx, fmt.Errorf("%w; the rest of the input is not read", &syntaxError{off: sc.off, msg: fmt.Sprintf("expected ',' or ']' after a record, found %q", c)}))
			return false, false
		}
		sc.consume()
		if _, _, err := sc.peek(); err != nil {
			d.arrayEnd(idx, err)
			return false, false
		}
	}
	return true, d.tick(idx)
}

// records streams the elements of a top-level Records array and then the
// rest of its object. It returns false when reading must stop.
func (d *decoder) records(sc *scanner, idx *int) bool {
	if f := d.fastSinkOf(); f != nil {
		return d.fastRecords(sc, idx, f)
	}
	var cut recordCut
	for first := true; ; first = false {
		if more, ok := d.nextRecord(sc, *idx, first); !ok {
			return false
		} else if !more {
			break
		}
		// A candidate long enough to hold more values than the limit,
		// or any record once one has failed, goes the slow way, where it
		// is checked first.
		if cand := cut.candidate(sc.buffered()); cand != nil && !d.run.isCareful() && (len(cand)+1)/2 <= d.lim.MaxValues {
			if ev, err := d.parseCut(cand, *idx); err == nil {
				cut.hit()
				sc.discard(len(cand))
				if !d.parsed(ev, *idx) {
					return false
				}
				*idx++
				continue
			}
			cut.miss()
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
		if !d.record(raw, *idx) {
			return false
		}
		*idx++
	}
	return d.objectRest(sc, *idx)
}

// arrayElement reads the next element of an array. ok is false when the
// element was too large and has been reported (the caller moves past it);
// cont is false when reading must stop (a broken array, or the consumer
// stopped).
func (d *decoder) arrayElement(sc *scanner, idx int) (raw []byte, ok, cont bool) {
	raw, _, err := sc.value()
	if err == nil {
		return raw, true, true
	}
	if isTooLarge(err) {
		return nil, false, d.recordErr(idx, err)
	}
	d.arrayEnd(idx, err)
	return nil, false, false
}

// arrayEnd reports an input that ended or failed inside an array.
func (d *decoder) arrayEnd(idx int, err error) {
	if err == io.EOF {
		d.recordErr(idx, errors.New("input ends inside the array before this record; it is truncated"))
		return
	}
	var se *syntaxError
	if errors.As(err, &se) && !se.eof {
		err = fmt.Errorf("%w; the rest of the input is not read", err)
	}
	d.recordErr(idx, err)
}

// objectRest reads what follows the Records array up to the end of its
// object; members other than Records are passed over.
func (d *decoder) objectRest(sc *scanner, idx int) bool {
	for {
		c, _, err := sc.peek()
		if err != nil {
			d.arrayEnd(idx, err)
			return false
		}
		switch c {
		case '}':
			sc.consume()
			return true
		case ',':
			sc.consume()
			for _, want := range []byte{'"', ':', 0} {
				c, _, err := sc.peek()
				if err != nil {
					d.arrayEnd(idx, err)
					return false
				}
				if want == ':' {
					if c != ':' {
						d.recordErr(idx, &syntaxError{off: sc.off, msg: fmt.Sprintf("expected ':', found %q", c)})
						return false
					}
					sc.consume()
					continue
				}
				if _, _, err := sc.value(); err != nil {
					d.arrayEnd(idx, err)
					return false
				}
			}
		default:
			d.recordErr(idx, &syntaxError{off: sc.off, msg: fmt.Sprintf("expected ',' or '}' after the Records array, found %q", c)})
			return false
		}
	}
}

// array reads the elements of a top-level array as documents.
func (d *decoder) array(sc *scanner, idx *int) bool {
	for first := true; ; first = false {
		c, _, err := sc.peek()
		if err != nil {
			d.arrayEnd(*idx, err)
			return false
		}
		if c == ']' {
			sc.consume()
			return true
		}
		if !first {
			if c != ',' {
				d.recordErr(*idx, fmt.Errorf("%w; the rest of the input is not read", &syntaxError{off: sc.off, msg: fmt.Sprintf("expected ',' or ']' after an element, found %q", c)}))
				return false
			}
			sc.consume()
			if _, _, err := sc.peek(); err != nil {
				d.arrayEnd(*idx, err)
				return false
			}
		}
		if !d.tick(*idx) {
			return false
		}
		raw, ok, cont := d.arrayElement(sc, *idx)
		if !cont {
			return false
		}
		if !ok {
			*idx++
			continue
		}
		if !d.doc(raw, *idx) {
			return false
		}
		*idx++
	}
}

// record handles one element of a streamed Records array: the hot path.
func (d *decoder) record(raw []byte, idx int) bool {
	ev, err := d.parseOwned(&d.ep, raw, idx)
	if err != nil {
		return d.recordErr(idx, err)
	}
	return d.parsed(ev, idx)
}

// parsed handles a parsed element of a streamed Records array.
func (d *decoder) parsed(ev *event.Event, idx int) bool {
	v := ev.Value()
	if isEnvelopeRecord(v) {
		defer d.hold(ev)()
		return d.envelopeRecord(v, idx)
	}
	if !looksLikeCloudTrail(v) {
		return d.skip(idx, "record is not a CloudTrail event (no eventVersion, eventName or eventSource)")
	}
	return d.emit(ev, nil)
}

// isEnvelopeRecord reports whether a Records element is a Lambda trigger
// record (SQS, SNS, S3) rather than a CloudTrail event. CloudTrail's
// eventSource is a host name ("iam.amazonaws.com"); triggers say "aws:...".
func isEnvelopeRecord(v *fastjson.Value) bool {
	// Look up a missing key only when needed: a miss makes fastjson
	// unescape every key of the object.
	if src := v.Get("eventSource"); src != nil {
		s, _ := src.StringBytes()
		return len(s) > 4 && string(s[:4]) == "aws:"
	}
	return v.Get("EventSource") != nil
}

// looksLikeCloudTrail reports whether an object is a CloudTrail record.
func looksLikeCloudTrail(v *fastjson.Value) bool {
	if v.Get("eventVersion") != nil {
		return true
	}
	if v.Get("eventName") != nil && (v.Get("eventSource") != nil || v.Get("eventTime") != nil) {
		return true
	}
	return v.Get("eventID") != nil && v.Get("eventTime") != nil
}

// doc handles one whole JSON document: an event, an envelope, or a small
// log file.
func (d *decoder) doc(raw []byte, idx int) bool {
	if d.depth > maxDepth {
		return d.recordErr(idx, fmt.Errorf("envelopes are nested more than %d deep", maxDepth))
	}
	if n, _ := matchRecordsPrefix(raw); n > 0 {
		return d.docRecords(raw, n)
	}
	ev, err := d.parseOwned(&d.ep, raw, idx)
	if err != nil {
		return d.recordErr(idx, err)
	}
	// An envelope's tree is read while the events it carries are parsed.
	defer d.hold(ev)()
	v := ev.Value()
	switch {
	case v.Get("Records") != nil:
		// A log file whose first key is not Records: parsed whole, as
		// CloudTrail never writes one.
		recs, err := v.Get("Records").Array()
		if err != nil {
			return d.skip(idx, "Records is not an array, so this is not a CloudTrail log file")
		}
		for i, rec := range recs {
			if !d.tick(i) || !d.element(rec, i) {
				return false
			}
		}
		return true
	case v.Get("detail-type") != nil:
		return d.eventBridge(v, idx)
	case v.Get("Type") != nil && v.Get("TopicArn") != nil:
		return d.snsMessage(v, idx)
	case v.Get("awslogs") != nil:
		return d.awslogs(v, idx)
	case v.Get("messageType") != nil && v.Get("logEvents") != nil:
		return d.logsData(v, idx)
	case v.Get("s3Bucket") != nil && v.Get("s3ObjectKey") != nil:
		return d.trailNotification(v, idx)
	case v.Get("digestStartTime") != nil || v.Get("previousDigestSignature") != nil || v.Get("digestS3Object") != nil:
		return d.skip(idx, "CloudTrail digest file, which holds no events")
	case string(v.GetStringBytes("Event")) == "s3:TestEvent":
		return d.skip(idx, "S3 test event")
	case looksLikeCloudTrail(v):
		return d.emit(ev, nil)
	}
	return d.skip(idx, "JSON object is neither a CloudTrail event nor a known envelope")
}

// docRecords reads a log file held in memory (an SQS or SNS message body, a
// document in a JSON Lines file) record by record, as a file is read, so
// that one bad record costs only itself. n is the length of its
// `{"Records":[` prefix. Records are numbered from 0 within raw.
func (d *decoder) docRecords(raw []byte, n int) bool {
	br := d.r.getBuf(bytes.NewReader(raw))
	defer d.r.putBuf(br)
	sc := newScanner(d.ctx, br, d.lim)
	sc.discard(n)
	idx := 0
	if d.records(sc, &idx) {
		if _, _, err := sc.peek(); err != io.EOF {
			d.recordErr(idx, errors.New("the log file's JSON object is followed by more data"))
		}
	}
	return !d.run.halted
}

// element handles one element of a parsed Records array.
func (d *decoder) element(v *fastjson.Value, idx int) bool {
	if v.Type() != fastjson.TypeObject {
		return d.recordErr(idx, event.ErrNotObject)
	}
	if isEnvelopeRecord(v) {
		return d.envelopeRecord(v, idx)
	}
	if !looksLikeCloudTrail(v) {
		return d.skip(idx, "record is not a CloudTrail event (no eventVersion, eventName or eventSource)")
	}
	return d.leaf(v, idx)
}

// leaf yields v, a CloudTrail record inside a parsed document.
func (d *decoder) leaf(v *fastjson.Value, idx int) bool {
	d.buf = v.MarshalTo(d.buf[:0])
	ev, err := d.parseOwned(&d.lp, d.buf, idx)
	if err != nil {
		return d.recordErr(idx, err)
	}
	return d.emit(ev, nil)
}

// envelopeRecord handles a Lambda trigger record: SQS message, SNS
// notification or S3 event.
func (d *decoder) envelopeRecord(v *fastjson.Value, idx int) bool {
	switch src := string(v.GetStringBytes("eventSource")); {
	case src == "aws:sqs":
		id := string(v.GetStringBytes("messageId"))
		c := d.child("", "sqs", id)
		body := v.Get("body")
		if body == nil || body.Type() != fastjson.TypeString {
			return c.recordErr(idx, errors.New("SQS message has no body"))
		}
		b, _ := body.StringBytes()
		c.message(b, idx, "SQS message body")
		c.finish()
		return !d.run.halted
	case src == "aws:s3":
		return d.s3Record(v, idx)
	case string(v.GetStringBytes("EventSource")) == "aws:sns":
		msg := v.Get("Sns", "Message")
		if msg == nil || msg.Type() != fastjson.TypeString {
			return d.recordErr(idx, errors.New("SNS notification has no Message"))
		}
		b, _ := msg.StringBytes()
		return d.child("", "sns", "").message(b, idx, "SNS message")
	default:
		if src == "" {
			src = string(v.GetStringBytes("EventSource"))
		}
		return d.skip(idx, fmt.Sprintf("record from event source %s is not a CloudTrail event", quote(src)))
	}
}

// message handles the text of an SQS body or SNS message, which holds a
// JSON document of its own.
func (d *decoder) message(b []byte, idx int, what string) bool {
	t := bytes.TrimSpace(b)
	if len(t) == 0 || t[0] != '{' {
		return d.recordErr(idx, fmt.Errorf("%s is not a JSON object", what))
	}
	return d.doc(t, idx)
}

// snsMessage handles an SNS message as SNS delivers it over HTTP or to SQS.
func (d *decoder) snsMessage(v *fastjson.Value, idx int) bool {
	switch typ := string(v.GetStringBytes("Type")); typ {
	case "Notification":
		msg := v.Get("Message")
		if msg == nil || msg.Type() != fastjson.TypeString {
			return d.recordErr(idx, errors.New("SNS notification has no Message"))
		}
		b, _ := msg.StringBytes()
		return d.child("", "sns", "").message(b, idx, "SNS message")
	default:
		return d.skip(idx, fmt.Sprintf("SNS %s message carries no events", quote(typ)))
	}
}

// cloudTrailDetailTypes are the EventBridge detail types whose detail is a
// CloudTrail record.
func cloudTrailDetailType(dt string) bool {
	switch dt {
	case "AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail",
		"AWS Service Event via CloudTrail", "AWS Console Action via CloudTrail",
		"AWS Insight via CloudTrail":
		return true
	}
	return false
}

// eventBridge handles an EventBridge event.
func (d *decoder) eventBridge(v *fastjson.Value, idx int) bool {
	dt := string(v.GetStringBytes("detail-type"))
	src := string(v.GetStringBytes("source"))
	c := d.child("", "eventbridge", "")
	detail := v.Get("detail")
	switch {
	case cloudTrailDetailType(dt) && !strings.HasPrefix(src, "aws."):
		// EventBridge refuses PutEvents with an aws. source, so an event
		// claiming to be CloudTrail from any other source was forged by
		// whoever may put events on the bus.
		return d.skip(idx, fmt.Sprintf("EventBridge %q event from source %s: CloudTrail events come only from aws. sources", dt, quote(src)))
	case cloudTrailDetailType(dt):
		if detail == nil || detail.Type() != fastjson.TypeObject {
			return c.recordErr(idx, fmt.Errorf("EventBridge %q event has no detail object", dt))
		}
		return c.leaf(detail, idx)
	case findingKind(src, dt) != event.KindCloudTrail:
		if detail == nil || detail.Type() != fastjson.TypeObject {
			return c.recordErr(idx, fmt.Errorf("EventBridge %q event has no detail object", dt))
		}
		return c.finding(v, idx, findingKind(src, dt))
	case src == "aws.s3" && dt == "Object Created":
		bucket := string(detail.GetStringBytes("bucket", "name"))
		key := string(detail.GetStringBytes("object", "key"))
		if bucket == "" || key == "" {
			return c.recordErr(idx, errors.New("EventBridge S3 Object Created event names no bucket or key"))
		}
		return c.fetch(bucket, key, idx)
	}
	return d.skip(idx, fmt.Sprintf("EventBridge event %s from %s is not a CloudTrail event or a finding", quote(dt), quote(src)))
}

// findingKind returns the kind of an EventBridge event that carries
// findings: GuardDuty's and Security Hub's, from their aws. sources, which
// only AWS may put on a bus. Every other event is KindCloudTrail, which
// here means "not a finding".
func findingKind(src, dt string) event.Kind {
	switch {
	case src == "aws.guardduty" && dt == "GuardDuty Finding":
		return event.KindGuardDuty
	case src == "aws.securityhub" && dt == "Security Hub Findings - Imported":
		return event.KindSecurityHub
	}
	return event.KindCloudTrail
}

// finding yields a finding's whole EventBridge event, marked with its
// kind; internal/finding reads the findings in it.
func (d *decoder) finding(v *fastjson.Value, idx int, kind event.Kind) bool {
	d.buf = v.MarshalTo(d.buf[:0])
	ev, err := d.parse(&d.lp, d.buf, idx)
	if err != nil {
		return d.recordErr(idx, err)
	}
	o := ev.Origin()
	o.Kind = kind
	ev.SetOrigin(o)
	return d.emit(ev, nil)
}

// s3Record handles one record of an S3 event notification.
func (d *decoder) s3Record(v *fastjson.Value, idx int) bool {
	c := d.child("", "s3", "")
	name := string(v.GetStringBytes("eventName"))
	if !strings.HasPrefix(name, "ObjectCreated:") {
		return c.skip(idx, fmt.Sprintf("S3 event %s is not an object creation", quote(name)))
	}
	bucket := string(v.GetStringBytes("s3", "bucket", "name"))
	raw := string(v.GetStringBytes("s3", "object", "key"))
	if bucket == "" || raw == "" {
		return c.recordErr(idx, errors.New("S3 event notification names no bucket or key"))
	}
	// Keys in S3 notifications are URL-encoded, spaces as '+'.
	key, err := url.QueryUnescape(raw)
	if err != nil {
		return c.recordErr(idx, fmt.Errorf("S3 object key %s is not URL-encoded correctly: %w", quote(raw), err))
	}
	// The version the notification announced, not whatever the key holds
	// by the time it is read.
	c.version = string(v.GetStringBytes("s3", "object", "versionId"))
	return c.fetch(bucket, key, idx)
}

// trailNotification handles CloudTrail's SNS notification of delivered log
// files: {"s3Bucket": "...", "s3ObjectKey": ["..."]}.
func (d *decoder) trailNotification(v *fastjson.Value, idx int) bool {
	bucket := string(v.GetStringBytes("s3Bucket"))
	keys, err := v.Get("s3ObjectKey").Array()
	if bucket == "" || err != nil {
		return d.recordErr(idx, errors.New("CloudTrail notification has no s3Bucket or no s3ObjectKey list"))
	}
	for i, k := range keys {
		if !d.tick(i) {
			return false
		}
		key := string(k.GetStringBytes())
		if key == "" {
			if !d.recordErr(idx, errors.New("CloudTrail notification lists an empty object key")) {
				return false
			}
			continue
		}
		if !d.fetch(bucket, key, idx) {
			return false
		}
	}
	return true
}

// fetch reads one S3 object as a log file. Digest files are skipped without
// being fetched.
func (d *decoder) fetch(bucket, key string, idx int) bool {
	if len(bucket) > 63 || len(key) > 1024 {
		// No such object can exist; refusing early keeps megabytes of
		// name out of the errors and logs below.
		return d.recordErr(idx, fmt.Errorf("S3 bucket %s or key %s is longer than S3 allows (63 and 1024 bytes)", quote(bucket), quote(key)))
	}
	name := "s3://" + bucket + "/" + key
	if d.fetched {
		// A log file never names other objects; following such names
		// would let one object fetch itself over and over.
		return d.skip(idx, fmt.Sprintf("S3 object names another object (%s) instead of holding events", quote(name)))
	}
	c := d.child(name, "s3", "")
	c.foreign = true
	c.fetched = true
	if strings.Contains(key, "CloudTrail-Digest/") {
		return c.skip(-1, "CloudTrail digest file (key contains CloudTrail-Digest/), which holds no events")
	}
	if strings.HasSuffix(key, "/") {
		return c.skip(-1, "S3 folder marker, not a log file")
	}
	if c.depth > maxDepth {
		return c.recordErr(idx, fmt.Errorf("envelopes are nested more than %d deep", maxDepth))
	}
	if d.r.fetcher == nil {
		return c.inputErr(errors.New("S3 objects cannot be read: no S3 client is configured"))
	}
	rc, err := openVersion(d.ctx, d.r.fetcher, bucket, key, d.version)
	if err != nil {
		return c.inputErr(err)
	}
	defer rc.Close()
	c.stream(rc)
	c.finish()
	return !d.run.halted
}

// awslogs handles a raw CloudWatch Logs subscription payload:
// {"awslogs":{"data":"<base64 of gzip of JSON>"}}. The data is decompressed
// as a stream, within Limits.MaxRecordBytes, so a log file in it is read
// record by record like any other.
func (d *decoder) awslogs(v *fastjson.Value, idx int) bool {
	c := d.child("", "cloudwatch-logs", "")
	c.msgIdx = idx
	data := v.Get("awslogs", "data")
	if data == nil || data.Type() != fastjson.TypeString {
		return c.recordErr(idx, errors.New("awslogs payload has no data string"))
	}
	b, _ := data.StringBytes()
	z := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	n, err := base64.StdEncoding.Decode(z, b)
	if err != nil {
		return c.recordErr(idx, awslogsErr(err))
	}
	zr, err := gzip.NewReader(bytes.NewReader(z[:n]))
	if err != nil {
		return c.recordErr(idx, awslogsErr(err))
	}
	defer zr.Close()
	limit := int64(d.lim.MaxRecordBytes)
	br := d.r.getBuf(&capped{r: gzipErrs{zr}, left: limit, err: &LimitError{Limit: LimitMessageBytes, Max: limit}})
	defer d.r.putBuf(br)
	c.scan(br)
	return !d.run.halted
}

func awslogsErr(err error) error {
	var ce base64.CorruptInputError
	if errors.As(err, &ce) {
		return fmt.Errorf("awslogs data is not valid base64: %w", err)
	}
	return fmt.Errorf("awslogs data is not a valid gzip stream: %w", err)
}

// logsData handles a decoded CloudWatch Logs subscription payload, whose
// log events each carry one CloudTrail record as a JSON string.
func (d *decoder) logsData(v *fastjson.Value, idx int) bool {
	c := d.child("", "cloudwatch-logs", "")
	switch typ := string(v.GetStringBytes("messageType")); typ {
	case "CONTROL_MESSAGE":
		return c.skip(idx, "CloudWatch Logs control message")
	case "DATA_MESSAGE":
	default:
		return c.skip(idx, fmt.Sprintf("CloudWatch Logs message type %s carries no events", quote(typ)))
	}
	events, err := v.Get("logEvents").Array()
	if err != nil {
		return c.recordErr(idx, errors.New("CloudWatch Logs payload's logEvents is not an array"))
	}
	for i, le := range events {
		if !c.tick(i) {
			return false
		}
		msg := le.Get("message")
		if msg == nil || msg.Type() != fastjson.TypeString {
			if !c.recordErr(i, fmt.Errorf("log event %d has no message", i)) {
				return false
			}
			continue
		}
		b, _ := msg.StringBytes()
		ev, err := c.parseOwned(&c.lp, b, i)
		if err != nil {
			id := le.GetStringBytes("id")
			if errors.Is(err, ErrLimit) {
				err = fmt.Errorf("log event %d (id %s): %w", i, quote(id), err)
			} else {
				err = fmt.Errorf("log event %d (id %s) is not a CloudTrail JSON event: %w", i, quote(id), err)
			}
			if !c.recordErr(i, err) {
				return false
			}
			continue
		}
		if !looksLikeCloudTrail(ev.Value()) {
			if !c.skip(i, fmt.Sprintf("log event %d is JSON but not a CloudTrail event", i)) {
				return false
			}
			continue
		}
		if !c.emit(ev, nil) {
			return false
		}
	}
	return true
}
