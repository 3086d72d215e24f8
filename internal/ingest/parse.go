package ingest

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
)

// parse parses raw with p once its shape is within the limits: a record
// that could hold more values than MaxValues (one value takes at least two
// bytes with its comma) is counted first, without allocating.
//
// After the first record of the iteration that does not parse, every
// record is also checked before the parser sees it: the parser's error for
// a record nested hundreds deep costs it milliseconds (its message grows at
// every level), so a file of such records would cost minutes, and an
// ordinary file has no bad record at all. The check follows the parser's
// own grammar (parserAccepts) and a refused record gets the same error
// either way, so whether a record was checked first never changes what is
// yielded: the records of a read that runs inputs side by side
// (Map) come out as those of one that reads them in turn.
func (d *decoder) parse(p *event.Parser, raw []byte, idx int) (*event.Event, error) {
	if len(raw) > bigRecord {
		d.big = true
	}
	careful := d.run.isCareful()
	if careful || (len(raw)+1)/2 > d.lim.MaxValues {
		if err := checkShape(raw, d.lim.MaxValues); err != nil {
			return nil, err
		}
		if careful && !parserAccepts(raw) && !json.Valid(raw) {
			// What parseErr says of a record the parser refuses.
			return nil, invalidJSON(raw)
		}
	}
	ev, err := p.Parse(raw, d.origin(idx))
	if err != nil {
		d.run.setCareful()
		return nil, d.parseErr(raw, err)
	}
	return ev, nil
}

// invalidJSON says where raw, which is not valid JSON, goes wrong.
func invalidJSON(raw []byte) error {
	var v json.RawMessage
	err := json.Unmarshal(raw, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON: %s at byte offset %d of the record", shorten(se.Error(), 120), se.Offset)
	}
	return errors.New("invalid JSON")
}

// parseErr restates an event.Parser error without its origin prefix, which
// the RecordError adds. A record the parser refused for its depth is named
// as such; one that is not JSON is described by encoding/json, whose
// message says where it goes wrong and does not depend on how the record
// was checked; the parser's own message repeats itself once per level.
func (d *decoder) parseErr(raw []byte, err error) error {
	if errors.Is(err, event.ErrNotObject) {
		return event.ErrNotObject
	}
	if shapeErr := checkShape(raw, d.lim.MaxValues); shapeErr != nil {
		return shapeErr
	}
	if !json.Valid(raw) {
		return invalidJSON(raw)
	}
	if u := errors.Unwrap(err); u != nil {
		return &jsonError{u}
	}
	return err
}

// jsonError is a parser's complaint, cut to a readable length.
type jsonError struct{ err error }

func (e *jsonError) Error() string { return "invalid JSON: " + shorten(e.err.Error(), 240) }
func (e *jsonError) Unwrap() error { return e.err }
