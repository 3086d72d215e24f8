package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"

	"github.com/trailwatch/trailwatch/internal/event"
)

// Fetcher opens S3 objects. S3Fetcher implements it with the AWS SDK; tests
// use a fake.
type Fetcher interface {
	// Open returns the object's body; the caller closes it.
	Open(ctx context.Context, bucket, key string) (io.ReadCloser, error)
}

// Options configure a Reader.
type Options struct {
	// Fetcher opens S3 objects named by notifications and s3:// paths. When
	// nil, S3 inputs fail with an InputError saying so.
	Fetcher Fetcher
	// Logger receives a line for every skipped input and bad record, besides
	// the yielded error (within Limits.MaxErrors per input, like the
	// errors). Nil discards.
	Logger *slog.Logger
	// Limits bound what is parsed; the zero value takes every default.
	Limits Limits
}

// Reader decodes CloudTrail events from files, payloads and streams. It is
// safe for concurrent use; the iterators it returns are not.
type Reader struct {
	fetcher Fetcher
	log     *slog.Logger
	lim     Limits
	bufs    sync.Pool // *bufio.Reader
}

// bufSize is the scanner window. Records that fit in it are handed to the
// parser without a copy.
const bufSize = 256 << 10

// New returns a Reader.
func New(o Options) *Reader {
	r := &Reader{fetcher: o.Fetcher, log: o.Logger, lim: o.Limits.withDefaults()}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r
}

// Stream yields the events in rd, whatever its shape (see the package
// documentation). name names the input in origins and errors; events carry
// Origin.Path "file" and the record's position in Index. Each event is valid
// until the next iteration; Clone it to keep it.
func (r *Reader) Stream(ctx context.Context, name string, rd io.Reader) iter.Seq2[*event.Event, error] {
	return func(yield func(*event.Event, error) bool) {
		d := r.newDecoder(ctx, &runState{}, name, "file", yield)
		d.stream(rd)
		d.finish()
	}
}

// Payload yields the events in a Lambda payload of any trigger type
// (EventBridge, SNS, SQS, S3, CloudWatch Logs) or a bare event or log file.
//
// Origin.Path names the outermost envelope ("eventbridge", "sns", "sqs",
// "cloudwatch-logs", "s3"; "payload" for a bare event). Input is name, or
// s3://bucket/key for events read from an S3 object; Index is the record's
// position there, or the position of the SQS message, SNS record or log
// event that carried the event. Events and errors from an SQS message carry
// its MessageID. Each event is valid until the next iteration.
func (r *Reader) Payload(ctx context.Context, name string, payload []byte) iter.Seq2[*event.Event, error] {
	return func(yield func(*event.Event, error) bool) {
		d := r.newDecoder(ctx, &runState{}, name, "", yield)
		d.stream(bytes.NewReader(payload))
		d.finish()
	}
}

// Paths yields the events of each argument in turn: a file, a directory
// (walked recursively for .json, .json.gz, .jsonl, .ndjson and .gz files;
// others are passed over), "-" for standard input (read from os.Stdin; the
// CLI passes its own reader to Stream instead), or s3://bucket/key for one
// S3 object.
func (r *Reader) Paths(ctx context.Context, args []string) iter.Seq2[*event.Event, error] {
	return r.paths(ctx, args, os.Stdin)
}

func (r *Reader) paths(ctx context.Context, args []string, stdin io.Reader) iter.Seq2[*event.Event, error] {
	return func(yield func(*event.Event, error) bool) {
		run := &runState{}
		for _, arg := range args {
			if err := ctx.Err(); err != nil {
				yield(nil, &InputError{Input: arg, Err: err})
				return
			}
			if !r.path(ctx, run, arg, stdin, yield) {
				return
			}
		}
	}
}

// path reads one argument; it returns false when the consumer stopped.
func (r *Reader) path(ctx context.Context, run *runState, arg string, stdin io.Reader, yield func(*event.Event, error) bool) bool {
	switch {
	case arg == "-":
		d := r.newDecoder(ctx, run, "-", "file", yield)
		d.stream(stdin)
		d.finish()
		return !d.run.halted
	case strings.HasPrefix(arg, "s3://"):
		bucket, key, _ := strings.Cut(strings.TrimPrefix(arg, "s3://"), "/")
		if bucket == "" || key == "" || strings.HasSuffix(key, "/") {
			return yield(nil, &InputError{Input: arg, Err: errors.New("name one S3 object as s3://bucket/key (prefixes are not listed here)")})
		}
		d := r.newDecoder(ctx, run, arg, "s3", yield)
		return d.fetch(bucket, key, -1)
	}
	info, err := os.Stat(arg)
	if err != nil {
		return yield(nil, &InputError{Input: arg, Err: unwrapPath(err)})
	}
	if !info.IsDir() {
		return r.file(ctx, run, arg, false, yield)
	}
	cont := true
	walkErr := filepath.WalkDir(arg, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if !yield(nil, &InputError{Input: p, Err: unwrapPath(err)}) {
				cont = false
				return filepath.SkipAll
			}
			if de != nil && de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if p != arg && strings.HasPrefix(de.Name(), ".") {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if de.IsDir() {
			return nil
		}
		if de.Type()&fs.ModeSymlink != 0 {
			// Linked files are read; linked folders are not followed,
			// so a link cannot make the walk go round in circles.
			if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
				r.log.Debug("file_passed_over", "input", p, "reason", "symbolic link to a folder or to nothing")
				return nil
			}
		} else if !de.Type().IsRegular() {
			return nil
		}
		if !logFileName(de.Name()) {
			r.log.Debug("file_passed_over", "input", p, "reason", "name does not end in .json, .json.gz, .jsonl, .ndjson or .gz")
			return nil
		}
		if ctx.Err() != nil {
			yield(nil, &InputError{Input: p, Err: ctx.Err()})
			cont = false
			return filepath.SkipAll
		}
		// A file met in a walk (an AWSLogs/ tree also holds VPC flow logs
		// and load balancer logs) is skipped with a reason when it is not
		// JSON; a file named on the command line is an error.
		if !r.file(ctx, run, p, true, yield) {
			cont = false
			return filepath.SkipAll
		}
		return nil
	})
	if walkErr != nil && cont {
		return yield(nil, &InputError{Input: arg, Err: walkErr})
	}
	return cont
}

// logFileName reports whether a file met in a directory walk is read.
func logFileName(name string) bool {
	n := strings.ToLower(name)
	for _, ext := range []string{".json", ".json.gz", ".jsonl", ".ndjson", ".gz"} {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	return false
}

// unwrapPath drops the *fs.PathError wrapper, whose path the caller already
// names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (r *Reader) file(ctx context.Context, run *runState, name string, walked bool, yield func(*event.Event, error) bool) bool {
	f, err := os.Open(name)
	if err != nil {
		return yield(nil, &InputError{Input: name, Err: unwrapPath(err)})
	}
	defer f.Close()
	d := r.newDecoder(ctx, run, name, "file", yield)
	d.foreign = walked
	// Named JSON Lines files are read line by line from the start, so even
	// a broken first line costs only itself.
	n := strings.TrimSuffix(strings.ToLower(name), ".gz")
	d.lines = strings.HasSuffix(n, ".jsonl") || strings.HasSuffix(n, ".ndjson")
	d.stream(f)
	d.finish()
	return !d.run.halted
}

func (r *Reader) getBuf(rd io.Reader) *bufio.Reader {
	if b, ok := r.bufs.Get().(*bufio.Reader); ok {
		b.Reset(rd)
		return b
	}
	return bufio.NewReaderSize(rd, bufSize)
}

func (r *Reader) putBuf(b *bufio.Reader) {
	b.Reset(nil)
	r.bufs.Put(b)
}

// isGzip reports whether br starts with the gzip magic bytes.
func isGzip(br *bufio.Reader) bool {
	b, _ := br.Peek(2)
	return len(b) == 2 && b[0] == 0x1f && b[1] == 0x8b
}

// gzipErrs explains failures of a gzip stream that opened fine.
type gzipErrs struct{ r io.Reader }

func (g gzipErrs) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = &gzipError{err}
	}
	return n, err
}

// gzipError is a failure inside a gzip stream.
type gzipError struct{ err error }

func (e *gzipError) Error() string {
	if errors.Is(e.err, io.ErrUnexpectedEOF) {
		return "gzip data ends early, so the file is truncated"
	}
	return "gzip data is corrupt: " + e.err.Error()
}

func (e *gzipError) Unwrap() error { return e.err }

// capped reads from r and fails with err once more than left bytes have
// come: a bound on a decompressed stream that the scanner reports as an
// error of the record being read.
type capped struct {
	r    io.Reader
	left int64
	err  error
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, c.err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left+1] // one byte past the limit tells whether it is passed
	}
	n, err := c.r.Read(p)
	if c.left -= int64(n); c.left < 0 {
		return n, c.err
	}
	return n, err
}

// gunzip returns a reader of the decompressed stream.
func gunzip(br *bufio.Reader) (*gzip.Reader, error) {
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("gzip stream could not be opened: %w", err)
	}
	return zr, nil
}
