package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/valyala/fastjson"
)

// Message is one message of a Lambda SQS event.
type Message struct {
	// ID is the SQS message id.
	ID string
	// Payload is a Lambda SQS event that holds this message alone.
	// Reader.Payload reads it as it reads the message inside the whole
	// batch, except that Origin.Index and error indexes count from 0
	// within the message.
	Payload []byte
}

// SplitSQS returns the messages of a Lambda SQS event, in order, each as a
// payload of its own. A handler reads each under its own share of the
// time (a context whose deadline leaves room for the messages after it),
// and when one stops with a *StoppedError it knows exactly which messages
// were not read: that one and every one after it.
//
// ok is false when payload is not an SQS event, that is not a {"Records":
// [...]} object whose first record has eventSource "aws:sqs". err reports
// an SQS event that cannot be split: a record that is not a JSON object
// within the default Limits, or has no messageId. The payload is scanned,
// never parsed whole, so its size costs no more than one record.
func SplitSQS(payload []byte) (msgs []Message, ok bool, err error) {
	br := bufio.NewReaderSize(bytes.NewReader(payload), bufSize)
	lim := Limits{}.withDefaults()
	sc := newScanner(context.Background(), br, lim)
	sc.skipBOM()
	if c, _, err := sc.peek(); err != nil || c != '{' {
		return nil, false, nil
	}
	n := recordsPrefix(sc)
	if n == 0 {
		return nil, false, nil
	}
	sc.discard(n)
	var p fastjson.Parser
	for i := 0; ; i++ {
		c, _, err := sc.peek()
		if err != nil {
			return nil, i > 0, splitErr(i, err)
		}
		if c == ']' {
			return msgs, i > 0, nil
		}
		if i > 0 {
			if c != ',' {
				return nil, true, splitErr(i, fmt.Errorf("expected ',' or ']' after a record, found %q", c))
			}
			sc.consume()
			if _, _, err := sc.peek(); err != nil {
				return nil, true, splitErr(i, err)
			}
		}
		raw, _, err := sc.value()
		if err != nil {
			return nil, i > 0, splitErr(i, err)
		}
		if err := checkShape(raw, lim.MaxValues); err != nil {
			return nil, i > 0, splitErr(i, err)
		}
		v, err := p.ParseBytes(raw)
		if err != nil {
			return nil, i > 0, splitErr(i, &jsonError{err})
		}
		if string(v.GetStringBytes("eventSource")) != "aws:sqs" {
			if i == 0 {
				return nil, false, nil
			}
			return nil, true, splitErr(i, errors.New("the record is not an SQS message, unlike the first"))
		}
		id := v.GetStringBytes("messageId")
		if len(id) == 0 {
			return nil, true, splitErr(i, errors.New("the SQS message has no messageId"))
		}
		one := make([]byte, 0, len(raw)+len(`{"Records":[]}`))
		one = append(append(append(one, `{"Records":[`...), raw...), `]}`...)
		msgs = append(msgs, Message{ID: string(id), Payload: one})
	}
}

func splitErr(i int, err error) error {
	if err == io.EOF {
		err = errors.New("the event ends inside its Records array")
	}
	return fmt.Errorf("SQS event record %d: %w", i, err)
}
