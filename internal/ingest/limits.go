package ingest

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Limits bound what a Reader parses, so that no input, however it was
// made, costs more memory, time or log than a real CloudTrail log does
// many times over. docs/security.md explains each default. A zero field
// takes its default; a negative one lifts the limit (a limit of "none" is
// for trusted, local replays).
type Limits struct {
	// MaxValues is the most JSON values one record, message or document
	// may hold (every object, array, string, number and literal counts
	// once; object keys do not). A record over it is refused before it is
	// parsed. Default 100,000; the largest real records hold a few hundred.
	MaxValues int
	// MaxRecordBytes is the largest single JSON value held in memory: a
	// record, an SQS or SNS message, an EventBridge event, a decompressed
	// CloudWatch Logs payload. Larger values are skipped over unread and
	// reported. Default 8 MiB; CloudTrail writes events of at most 256 KB
	// (1 MB with large events).
	MaxRecordBytes int
	// MaxRecords is the most records, documents or log events read from
	// one input (a file, an S3 object, an SQS message). The records before
	// the limit are yielded; reading stops there with an error. Default
	// 1,000,000.
	MaxRecords int
	// MaxInputBytes is the most bytes read from one input after
	// decompression; reading stops there with an error. Default 1 GiB.
	MaxInputBytes int64
	// MaxErrors is how many record errors, and separately how many
	// skipped records, are reported one by one per input; past it they
	// are counted and summarised once at the end of the input. Default 10.
	MaxErrors int
}

// Defaults of Limits.
const (
	DefaultMaxValues      = 100_000
	DefaultMaxRecordBytes = 8 << 20
	DefaultMaxRecords     = 1_000_000
	DefaultMaxInputBytes  = 1 << 30
	DefaultMaxErrors      = 10
)

// MaxDepth is how deep values may nest below a record's top level: the
// parser's own limit, enforced by the shape check too so that a record
// over it gets a plain error. Real records nest about a dozen levels.
const MaxDepth = 300

// withDefaults returns l with zero fields set to their defaults and
// negative ones to "no limit".
func (l Limits) withDefaults() Limits {
	pick := func(v, def int) int {
		switch {
		case v == 0:
			return def
		case v < 0:
			return int(^uint(0) >> 1)
		}
		return v
	}
	l.MaxValues = pick(l.MaxValues, DefaultMaxValues)
	l.MaxRecordBytes = pick(l.MaxRecordBytes, DefaultMaxRecordBytes)
	l.MaxRecords = pick(l.MaxRecords, DefaultMaxRecords)
	l.MaxErrors = pick(l.MaxErrors, DefaultMaxErrors)
	switch {
	case l.MaxInputBytes == 0:
		l.MaxInputBytes = DefaultMaxInputBytes
	case l.MaxInputBytes < 0:
		l.MaxInputBytes = int64(^uint64(0) >> 1)
	}
	return l
}

// Names of the limits, as LimitError.Limit holds them.
const (
	LimitValues      = "values per record"
	LimitDepth       = "nesting depth"
	LimitRecordBytes = "bytes per record"
	LimitRecords     = "records per input"
	LimitInputBytes  = "bytes per input"
	// LimitMessageBytes bounds a CloudWatch Logs payload once
	// decompressed, by MaxRecordBytes: it is one message.
	LimitMessageBytes = "bytes per message"
)

// ErrLimit is matched by every *LimitError: errors.Is(err, ErrLimit)
// reports input refused for its size or shape, which no retry can read.
var ErrLimit = errors.New("input exceeds a limit of the reader")

// LimitError reports a record or input refused by one of the Limits.
type LimitError struct {
	// Limit names the limit: LimitValues, LimitDepth, LimitRecordBytes,
	// LimitRecords or LimitInputBytes.
	Limit string
	// Max is the limit's value.
	Max int64
}

// Refusal says why the input was refused: it was refused on purpose, as
// too costly or too complex to read, not found unreadable. The Lambda face
// raises an alert for it (a writer to the log bucket may be trying to blind
// trailwatch).
func (e *LimitError) Refusal() string { return e.Error() }

// Error says what was over which limit.
func (e *LimitError) Error() string {
	switch e.Limit {
	case LimitValues:
		return fmt.Sprintf("the record holds more than %d JSON values, the most a record may", e.Max)
	case LimitDepth:
		return fmt.Sprintf("the record nests values more than %d levels deep, the most a record may", e.Max)
	case LimitRecordBytes:
		return fmt.Sprintf("the JSON value is larger than %s, the most a record may be", size(e.Max))
	case LimitRecords:
		return fmt.Sprintf("the input holds more than %d records, the most one input may", e.Max)
	case LimitInputBytes:
		return fmt.Sprintf("the input is larger than %s once decompressed, the most one input may be", size(e.Max))
	case LimitMessageBytes:
		return fmt.Sprintf("the CloudWatch Logs data decompresses to more than %s, the most one message may", size(e.Max))
	}
	return fmt.Sprintf("over the limit of %d %s", e.Max, e.Limit)
}

// Is makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// size formats a byte count the way limits are written: "8 MiB".
func size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// StoppedError is the cause of an InputError when reading stopped part way
// through an input: the context was cancelled or its deadline passed, or
// the input was over MaxRecords or MaxInputBytes. Records before Index
// were yielded or reported; record Index and everything after it in the
// input were not read. A Lambda handler that meets one must treat the
// message it names, and every message not yet read, as not processed.
type StoppedError struct {
	// Index is the position of the first record not read.
	Index int
	// Err is why: context.Canceled, context.DeadlineExceeded or a
	// *LimitError.
	Err error
}

// Error reads "stopped at record 12; it and the rest of the input were not
// read: <why>".
func (e *StoppedError) Error() string {
	return fmt.Sprintf("stopped at record %d; it and the rest of the input were not read: %v", e.Index, e.Err)
}

// Unwrap returns the cause.
func (e *StoppedError) Unwrap() error { return e.Err }

// OmittedError is the cause of the RecordError that closes an input whose
// record errors outnumbered MaxErrors: it counts those not reported one by
// one. (Skipped records past the limit are summarised the same way, in one
// SkipError whose Reason counts them.)
type OmittedError struct {
	// Count is how many record errors were counted without being reported.
	Count int
	// Last is the position of the last of them.
	Last int
}

// Error reads "9990 more bad records, the last at record 9999, are counted
// here instead of reported one by one".
func (e *OmittedError) Error() string {
	return fmt.Sprintf("%d more bad records, the last at record %d, are counted here instead of reported one by one", e.Count, e.Last)
}

// maxEcho is the most bytes of one input-supplied string an error repeats.
const maxEcho = 64

// quote returns s as a Go string literal, cut to maxEcho bytes: safe to
// repeat in an error or a log whatever s holds (line breaks, terminal
// controls, bidirectional overrides and zero-width characters come out
// escaped).
func quote[S string | []byte](s S) string {
	if len(s) <= maxEcho {
		return strconv.Quote(string(s))
	}
	cut := maxEcho
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(string(s[:cut])) + fmt.Sprintf("… (%d bytes)", len(s))
}

// shorten cuts an error text from a library to at most max bytes, keeping
// its start and its end, where the innermost cause is.
func shorten(s string, max int) string {
	if len(s) <= max {
		return s
	}
	head, tail := max/3, max-max/3-5
	for head > 0 && !utf8.RuneStart(s[head]) {
		head--
	}
	start := len(s) - tail
	for start < len(s) && !utf8.RuneStart(s[start]) {
		start++
	}
	return s[:head] + " … " + s[start:]
}

// CheckRecord applies the per-record limits (bytes, values, depth) to one
// record that reached trailwatch other than through a Reader, such as an
// event from CloudTrail's LookupEvents API, before it is parsed.
func (l Limits) CheckRecord(raw []byte) error {
	l = l.withDefaults()
	if len(raw) > l.MaxRecordBytes {
		return &LimitError{Limit: LimitRecordBytes, Max: int64(l.MaxRecordBytes)}
	}
	if (len(raw)+1)/2 > l.MaxValues {
		return checkShape(raw, l.MaxValues)
	}
	return nil
}
