// Package ingest turns every way a CloudTrail event can arrive into a stream
// of events, one at a time.
//
// A Reader sniffs what it is given: a CloudTrail log file ({"Records":[...]},
// gzip or not, detected by its magic bytes), a single event, an array of
// events, JSON Lines, an EventBridge event, an SNS notification, a Lambda SNS
// or SQS event, a CloudWatch Logs subscription payload (raw awslogs.data or
// decoded), an S3 event notification or CloudTrail's own S3 delivery
// notification. Envelopes nest (S3 → SNS → SQS); S3 objects they point at are
// fetched through a Fetcher and decoded as log files.
//
// Log files are streamed: a scanner finds each record's bytes in a buffered
// window and hands them to a reused event.Parser, so memory does not grow with
// the size of a file. Each iteration yields either an event or an error; the
// error is a *SkipError (skipped on purpose), a *RecordError (one bad record
// or message, the rest continues) or an *InputError (a whole input could not
// be read). The yielded event is valid only until the next iteration; Clone it
// to keep it.
//
// Every input may be an attacker's, so a Reader bounds what it parses, not
// only what it reads (see Limits and docs/security.md): a record that could
// hold more JSON values than the limit is counted before it is parsed and
// refused when it does; one input yields at most so many records and
// decompressed bytes; the context is checked every few hundred records and
// at every refill of the scanner's window, and a stop is an InputError
// wrapping a *StoppedError that says where reading stopped; past the first
// few errors of an input, the rest are counted and summarised once.
//
// Map reads the same inputs as Paths on every core and yields exactly what
// Paths yields, in the same order: several inputs are read at once; a
// large input is gunzipped on a goroutine of its own; the records of a
// local log file are cut on the input's goroutine and parsed and run
// through the caller's work function on workers. Records the workers
// cannot read exactly as the decoder would (a record that does not parse,
// an envelope, one that is not CloudTrail) make the file be read again the
// ordinary way, so real log files take the fast path and anything else
// still gets the decoder's answer. What the batches in flight hold is
// bounded (see budget), heavy records are parsed one at a time, and the
// Limits apply per input as they do to Paths.
//
// A Reader is safe for concurrent use; each iterator it returns is not.
package ingest
