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
	name    string // input name in origins and errors
	path    string // outermost delivery path; "" until an envelope names it
	msgID   string // SQS message id
	foreign bool   // an S3 object named by a notification: non-JSON content is skipped
	fetched bool   // inside a fetched S3 object, which may not name further objects
	lines   bool   // the input is named as JSON Lines (.jsonl, .ndjson)
	version string // the S3 object version a notification names
	yield   func(*event.Event, error) bool
	halted  *bool // the consumer stopped; shared with children

	ep  event.Parser // whole documents and streamed records
	lp  event.Parser // records cut out of a parsed document
	buf []byte       // marshalled records for lp
	n   int

	depth int // envelopes and fetched objects this input is nested in
}

// maxDepth bounds nesting (SQS → SNS → S3 notification → object is 3), so an
// object that names itself cannot loop.
const maxDepth = 8

func (r *Reader) newDecoder(ctx context.Context, name, path string, yield func(*event.Event, error) bool) *decoder {
	return &decoder{r: r, ctx: ctx, name: name, path: path, yield: yield, halted: new(bool)}
}

// child returns a decoder for a nested document. name "" keeps d's name;
// path names the envelope when d has none yet; msgID "" keeps d's.
func (d *decoder) child(name, path, msgID string) *decoder {
	c := &decoder{r: d.r, ctx: d.ctx, name: d.name, path: d.path, msgID: d.msgID, yield: d.yield, halted: d.halted, depth: d.depth + 1, fetched: d.fetched}
	if name != "" {
		c.name = name
	}
	if c.path == "" {
		c.path = path
	}
	if msgID != "" {
		c.msgID = msgID
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
	if *d.halted {
		return false
	}
	if !d.yield(ev, err) {
		*d.halted = true
		return false
	}
	return true
}

func (d *decoder) skip(idx int, reason string) bool {
	d.r.log.Info("input_skipped", "input", d.name, "index", idx, "message_id", d.msgID, "reason", reason)
	return d.emit(nil, &SkipError{Input: d.name, Index: idx, MessageID: d.msgID, Reason: reason})
}

func (d *decoder) recordErr(idx int, err error) bool {
	d.r.log.Warn("record_error", "input", d.name, "index", idx, "message_id", d.msgID, "error", err.Error())
	return d.emit(nil, &RecordError{Input: d.name, Index: idx, MessageID: d.msgID, Err: err})
}

func (d *decoder) inputErr(err error) bool {
	d.r.log.Error("input_error", "input", d.name, "message_id", d.msgID, "error", err.Error())
	return d.emit(nil, &InputError{Input: d.name, MessageID: d.msgID, Err: err})
}

// cancelled reports (and yields once) a cancelled context.
func (d *decoder) cancelled() bool {
	if err := d.ctx.Err(); err != nil {
		d.emit(nil, &InputError{Input: d.name, MessageID: d.msgID, Err: err})
		*d.halted = true
		return true
	}
	return false
}

// stream decodes rd, gunzipping it when it starts with the gzip magic bytes.
// It returns false when the consumer stopped.
func (d *decoder) stream(rd io.Reader) bool {
	br := d.r.getBuf(rd)
	defer d.r.putBuf(br)
	if isGzip(br) {
		zr, err := gunzip(br)
		if err != nil {
			return d.inputErr(err)
		}
		defer zr.Close()
		zbr := d.r.getBuf(gzipErrs{zr})
		defer d.r.putBuf(zbr)
		br = zbr
	}
	sc := newScanner(br)
	sc.lines = d.lines
	sc.skipBOM()
	d.top(sc)
	return !*d.halted
}

// top reads the top-level JSON values of an input one after another: a
// CloudTrail log file is streamed record by record; an array is read element
// by element; anything else is one document (JSON Lines is a run of them).
func (d *decoder) top(sc *scanner) {
	idx := 0
	oneLine := false // the first value was a one-line document
	for first := true; ; first = false {
		if d.cancelled() {
			return
		}
		c, newline, err := sc.peek()
		if err == io.EOF {
			if first {
				d.skip(-1, "input is empty")
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
				d.inputErr(fmt.Errorf("not a CloudTrail log, event or envelope: the content starts with %q, not with a JSON object or array", c))
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
	if errors.Is(err, errTooLarge) {
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
		d.inputErr(err)
		return
	}
	d.recordErr(idx, err)
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

// records streams the elements of a top-level Records array and then the
// rest of its object. It returns false when reading must stop.
func (d *decoder) records(sc *scanner, idx *int) bool {
	var cut recordCut
	for first := true; ; first = false {
		c, _, err := sc.peek()
		if err != nil {
			d.arrayEnd(*idx, err)
			return false
		}
		if c == ']' {
			sc.consume()
			break
		}
		if !first {
			if c != ',' {
				d.recordErr(*idx, fmt.Errorf("%w; the rest of the input is not read", &syntaxError{off: sc.off, msg: fmt.Sprintf("expected ',' or ']' after a record, found %q", c)}))
				return false
			}
			sc.consume()
			if _, _, err := sc.peek(); err != nil {
				d.arrayEnd(*idx, err)
				return false
			}
		}
		if cand := cut.candidate(sc.buffered()); cand != nil {
			if ev, err := d.ep.Parse(cand, d.origin(*idx)); err == nil {
				cut.hit()
				sc.discard(len(cand))
				if !d.parsed(ev, *idx) {
					return false
				}
				*idx++
				if d.n++; d.n%ctxEvery == 0 && d.cancelled() {
					return false
				}
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
		if d.n++; d.n%ctxEvery == 0 && d.cancelled() {
			return false
		}
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
	if errors.Is(err, errTooLarge) {
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
		if d.n++; d.n%ctxEvery == 0 && d.cancelled() {
			return false
		}
	}
}

// parseErr restates an event.Parser error without its origin prefix, which
// the RecordError adds.
func parseErr(err error) error {
	if errors.Is(err, event.ErrNotObject) {
		return event.ErrNotObject
	}
	if u := errors.Unwrap(err); u != nil {
		return fmt.Errorf("invalid JSON: %w", u)
	}
	return err
}

// record handles one element of a streamed Records array: the hot path.
func (d *decoder) record(raw []byte, idx int) bool {
	ev, err := d.ep.Parse(raw, d.origin(idx))
	if err != nil {
		return d.recordErr(idx, parseErr(err))
	}
	return d.parsed(ev, idx)
}

// parsed handles a parsed element of a streamed Records array.
func (d *decoder) parsed(ev *event.Event, idx int) bool {
	v := ev.Value()
	if isEnvelopeRecord(v) {
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
	ev, err := d.ep.Parse(raw, d.origin(idx))
	if err != nil {
		return d.recordErr(idx, parseErr(err))
	}
	v := ev.Value()
	switch {
	case v.Get("Records") != nil:
		recs, err := v.Get("Records").Array()
		if err != nil {
			return d.skip(idx, "Records is not an array, so this is not a CloudTrail log file")
		}
		for i, rec := range recs {
			if !d.element(rec, i) {
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
	ev, err := d.lp.Parse(d.buf, d.origin(idx))
	if err != nil {
		return d.recordErr(idx, parseErr(err))
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
		return c.message(b, idx, "SQS message body")
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
		return d.skip(idx, fmt.Sprintf("record from event source %q is not a CloudTrail event", src))
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
		return d.skip(idx, fmt.Sprintf("SNS %q message carries no events", typ))
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
		return d.skip(idx, fmt.Sprintf("EventBridge %q event from source %q: CloudTrail events come only from aws. sources", dt, src))
	case cloudTrailDetailType(dt):
		if detail == nil || detail.Type() != fastjson.TypeObject {
			return c.recordErr(idx, fmt.Errorf("EventBridge %q event has no detail object", dt))
		}
		return c.leaf(detail, idx)
	case src == "aws.s3" && dt == "Object Created":
		bucket := string(detail.GetStringBytes("bucket", "name"))
		key := string(detail.GetStringBytes("object", "key"))
		if bucket == "" || key == "" {
			return c.recordErr(idx, errors.New("EventBridge S3 Object Created event names no bucket or key"))
		}
		return c.fetch(bucket, key, idx)
	}
	return d.skip(idx, fmt.Sprintf("EventBridge event %q from %q is not a CloudTrail event", dt, src))
}

// s3Record handles one record of an S3 event notification.
func (d *decoder) s3Record(v *fastjson.Value, idx int) bool {
	c := d.child("", "s3", "")
	name := string(v.GetStringBytes("eventName"))
	if !strings.HasPrefix(name, "ObjectCreated:") {
		return c.skip(idx, fmt.Sprintf("S3 event %q is not an object creation", name))
	}
	bucket := string(v.GetStringBytes("s3", "bucket", "name"))
	raw := string(v.GetStringBytes("s3", "object", "key"))
	if bucket == "" || raw == "" {
		return c.recordErr(idx, errors.New("S3 event notification names no bucket or key"))
	}
	// Keys in S3 notifications are URL-encoded, spaces as '+'.
	key, err := url.QueryUnescape(raw)
	if err != nil {
		return c.recordErr(idx, fmt.Errorf("S3 object key %q is not URL-encoded correctly: %w", raw, err))
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
	for _, k := range keys {
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
	name := "s3://" + bucket + "/" + key
	if d.fetched {
		// A log file never names other objects; following such names
		// would let one object fetch itself over and over.
		return d.skip(idx, fmt.Sprintf("S3 object names another object (%s) instead of holding events", name))
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
	return c.stream(rc)
}

// awslogs handles a raw CloudWatch Logs subscription payload:
// {"awslogs":{"data":"<base64 of gzip of JSON>"}}.
func (d *decoder) awslogs(v *fastjson.Value, idx int) bool {
	c := d.child("", "cloudwatch-logs", "")
	data := v.Get("awslogs", "data")
	if data == nil || data.Type() != fastjson.TypeString {
		return c.recordErr(idx, errors.New("awslogs payload has no data string"))
	}
	b, _ := data.StringBytes()
	raw, err := decodeAWSLogs(b)
	if err != nil {
		return c.recordErr(idx, err)
	}
	return c.doc(raw, idx)
}

// decodeAWSLogs base64-decodes and gunzips awslogs.data, within the size
// limit.
func decodeAWSLogs(b []byte) ([]byte, error) {
	if len(b) > MaxRecordSize/3*4 {
		return nil, fmt.Errorf("awslogs data is larger than the %d MiB limit", MaxRecordSize>>20)
	}
	z := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	n, err := base64.StdEncoding.Decode(z, b)
	if err != nil {
		return nil, awslogsErr(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(z[:n]))
	if err != nil {
		return nil, awslogsErr(err)
	}
	defer zr.Close()
	raw, err := io.ReadAll(io.LimitReader(zr, MaxRecordSize+1))
	if err != nil {
		return nil, awslogsErr(err)
	}
	if len(raw) > MaxRecordSize {
		return nil, fmt.Errorf("awslogs data decompresses to more than the %d MiB limit", MaxRecordSize>>20)
	}
	return raw, nil
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
		return c.skip(idx, fmt.Sprintf("CloudWatch Logs message type %q carries no events", typ))
	}
	events, err := v.Get("logEvents").Array()
	if err != nil {
		return c.recordErr(idx, errors.New("CloudWatch Logs payload's logEvents is not an array"))
	}
	for i, le := range events {
		msg := le.Get("message")
		if msg == nil || msg.Type() != fastjson.TypeString {
			if !c.recordErr(i, fmt.Errorf("log event %d has no message", i)) {
				return false
			}
			continue
		}
		b, _ := msg.StringBytes()
		ev, err := c.lp.Parse(b, c.origin(i))
		if err != nil {
			id := string(le.GetStringBytes("id"))
			if !c.recordErr(i, fmt.Errorf("log event %d (id %q) is not a CloudTrail JSON event: %w", i, id, parseErr(err))) {
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
