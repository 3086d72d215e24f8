package ingest

import (
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// SkipError reports an input or message skipped on purpose: a digest file, a
// non-CloudTrail EventBridge event, a CloudWatch Logs control message, an S3
// object that holds no CloudTrail records.
type SkipError struct {
	// Input names the file, S3 object or payload.
	Input string
	// Index is the position of the skipped message or record within Input,
	// or -1 when the whole input was skipped.
	Index int
	// MessageID is the SQS message id when the skipped item came by SQS.
	MessageID string
	// Reason says why, as a phrase: "CloudTrail digest file".
	Reason string
}

// Error reads "skipped <input> record <n>: <reason>".
func (e *SkipError) Error() string {
	return fmt.Sprintf("skipped %s: %s", where(e.Input, e.Index, e.MessageID), e.Reason)
}

// RecordError reports one bad record or message; the rest of the input is
// still read where its format allows.
type RecordError struct {
	// Input names the file, S3 object or payload.
	Input string
	// Index is the zero-based position of the record (or log event, or SQS
	// message) within Input.
	Index int
	// MessageID is the SQS message id when the record came by SQS. A Lambda
	// SQS handler reports these messages as failed in its partial batch
	// response.
	MessageID string
	// Err says what was wrong.
	Err error
}

// Error reads "<input> record <n> (SQS message <id>): <what was wrong>".
func (e *RecordError) Error() string {
	return fmt.Sprintf("%s: %v", where(e.Input, e.Index, e.MessageID), e.Err)
}

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }

// InputError reports an input that could not be read at all: a missing file,
// an S3 failure, bytes that are not JSON.
type InputError struct {
	// Input names the file, S3 object or payload.
	Input string
	// MessageID is the SQS message id when the input was named by an SQS
	// message (an S3 notification whose object could not be fetched).
	MessageID string
	// Err says what failed.
	Err error
}

// Error reads "<input>: <what failed>".
func (e *InputError) Error() string {
	if e.MessageID != "" {
		return fmt.Sprintf("%s (SQS message %s): %v", displayName(e.Input), displayName(e.MessageID), e.Err)
	}
	return fmt.Sprintf("%s: %v", displayName(e.Input), e.Err)
}

// Unwrap returns the cause.
func (e *InputError) Unwrap() error { return e.Err }

// where formats "input record 3 (SQS message id)".
func where(input string, index int, msgID string) string {
	s := displayName(input)
	if s == "" {
		s = "input"
	}
	if index >= 0 {
		s = fmt.Sprintf("%s record %d", s, index)
	}
	if msgID != "" {
		s += " (SQS message " + displayName(msgID) + ")"
	}
	return s
}

// displayName returns an input name or message id as errors show it: as
// it is when every character prints plainly, quoted otherwise, so that an
// S3 key or message id holding line breaks, terminal controls or
// invisible characters cannot forge or hide text in a log.
func displayName(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
