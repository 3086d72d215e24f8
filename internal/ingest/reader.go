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
	"sync/atomic"

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
	fetcher  Fetcher
	log      *slog.Logger
	lim      Limits
	bufs     sync.Pool // *bufio.Reader
	gzips    sync.Pool // *gzip.Reader
	decoders sync.Pool // *decoder, with their parsers
	windows  sync.Pool // *winBuf
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
		d := r.newDecoder(ctx, newRun(), name, "file", yield)
		d.stream(rd)
		d.finish()
		r.putDecoder(d)
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
		d := r.newDecoder(ctx, newRun(), name, "", yield)
		d.stream(bytes.NewReader(payload))
		d.finish()
		r.putDecoder(d)
	}
}

// Paths yields the events of each argument in turn: a file, a directory
// (walked recursively for .json, .json.gz, .jsonl, .ndjson and .gz files;
// others are passed over), "-" for standard input (read from os.Stdin; the
// CLI passes its own reader to Stream instead), or s3://bucket/key for one
// S3 object. Map reads the same arguments on every core.
func (r *Reader) Paths(ctx context.Context, args []string) iter.Seq2[*event.Event, error] {
	return r.paths(ctx, args, os.Stdin)
}

func (r *Reader) paths(ctx context.Context, args []string, stdin io.Reader) iter.Seq2[*event.Event, error] {
	return func(yield func(*event.Event, error) bool) {
		run := newRun()
		r.inputs(ctx, args, func(in input) bool {
			return r.read(ctx, run, in, stdin, yield)
		})
	}
}

// newRun returns the state of one iteration.
func newRun() *runState { return &runState{careful: new(atomic.Bool)} }

// isCareful reports whether records are checked before they are parsed.
func (run *runState) isCareful() bool { return run.careful.Load() }

// setCareful makes every later record of the iteration checked first.
func (run *runState) setCareful() {
	if !run.careful.Load() {
		run.careful.Store(true)
	}
}

// input is one input of a Paths call or a Map: a file, standard input or
// an S3 object, or a failure met while listing them, reported in its
// place.
type input struct {
	kind inputKind
	name string
	// walked is set for a file met in a directory walk, which is skipped
	// with a reason rather than reported when it is not JSON.
	walked bool
	err    error // inputFailed: the error to yield
}

type inputKind uint8

const (
	inputFile inputKind = iota
	inputStdin
	inputS3
	inputFailed
)

// inputs calls each with the inputs args name, in order: files, the files
// of directories (walked in lexical order), standard input, S3 objects, and
// in their place the arguments and directory entries that cannot be read.
// It stops when each returns false, and after an input that reports the
// context done.
func (r *Reader) inputs(ctx context.Context, args []string, each func(input) bool) {
	for _, arg := range args {
		if err := ctx.Err(); err != nil {
			each(input{kind: inputFailed, name: arg, err: &InputError{Input: arg, Err: err}})
			return
		}
		if !r.argInputs(ctx, arg, each) {
			return
		}
	}
}

// argInputs lists the inputs of one argument; it returns false when each
// did.
func (r *Reader) argInputs(ctx context.Context, arg string, each func(input) bool) bool {
	failed := func(name string, err error) bool {
		return each(input{kind: inputFailed, name: name, err: &InputError{Input: name, Err: err}})
	}
	switch {
	case arg == "-":
		return each(input{kind: inputStdin, name: "-"})
	case strings.HasPrefix(arg, "s3://"):
		bucket, key, _ := strings.Cut(strings.TrimPrefix(arg, "s3://"), "/")
		if bucket == "" || key == "" || strings.HasSuffix(key, "/") {
			return failed(arg, errors.New("name one S3 object as s3://bucket/key (prefixes are not listed here)"))
		}
		return each(input{kind: inputS3, name: arg})
	}
	info, err := os.Stat(arg)
	if err != nil {
		return failed(arg, unwrapPath(err))
	}
	if !info.IsDir() {
		return each(input{kind: inputFile, name: arg})
	}
	cont := true
	walkErr := filepath.WalkDir(arg, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if !failed(p, unwrapPath(err)) {
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
			failed(p, ctx.Err())
			cont = false
			return filepath.SkipAll
		}
		// A file met in a walk (an AWSLogs/ tree also holds VPC flow logs
		// and load balancer logs) is skipped with a reason when it is not
		// JSON; a file named on the command line is an error.
		if !each(input{kind: inputFile, name: p, walked: true}) {
			cont = false
			return filepath.SkipAll
		}
		return nil
	})
	if walkErr != nil && cont {
		return failed(arg, walkErr)
	}
	return cont
}

// read decodes one input; it returns false when the consumer stopped or
// the context is done.
func (r *Reader) read(ctx context.Context, run *runState, in input, stdin io.Reader, yield func(*event.Event, error) bool) bool {
	switch in.kind {
	case inputFailed:
		if run.halted {
			return false
		}
		if !yield(nil, in.err) {
			run.halted = true
			return false
		}
		return true
	case inputStdin:
		d := r.newDecoder(ctx, run, "-", "file", yield)
		d.ahead = true
		d.stream(stdin)
		d.finish()
		defer r.putDecoder(d)
		return !d.run.halted
	case inputS3:
		bucket, key, _ := strings.Cut(strings.TrimPrefix(in.name, "s3://"), "/")
		d := r.newDecoder(ctx, run, in.name, "s3", yield)
		defer r.putDecoder(d)
		return d.fetch(bucket, key, -1)
	}
	return r.file(ctx, run, in.name, in.walked, yield)
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
		if run.halted {
			return false
		}
		if !yield(nil, &InputError{Input: name, Err: unwrapPath(err)}) {
			run.halted = true
			return false
		}
		return true
	}
	defer f.Close()
	d := r.newDecoder(ctx, run, name, "file", yield)
	d.foreign = walked
	// Named JSON Lines files are read line by line from the start, so even
	// a broken first line costs only itself.
	n := strings.TrimSuffix(strings.ToLower(name), ".gz")
	d.lines = strings.HasSuffix(n, ".jsonl") || strings.HasSuffix(n, ".ndjson")
	if run.out != nil {
		// In a Map, the records of a log file are parsed on workers,
		// which leaves the file's own goroutine time to gunzip it; a large
		// JSON Lines file, whose events are parsed where they are read,
		// is gunzipped on a goroutine of its own.
		st, err := f.Stat()
		d.ahead = d.lines && (err != nil || !st.Mode().IsRegular() || st.Size() >= aheadMinSize)
		if o, ok := run.out.(interface{ opened(fs.FileInfo) }); ok && err == nil {
			o.opened(st)
		}
	}
	d.stream(f)
	d.finish()
	defer r.putDecoder(d)
	return !d.run.halted
}

// getDecoder returns a decoder to reuse: its parsers have grown to the
// records they parsed, which a new one would allocate again (for every one
// of many small files).
func (r *Reader) getDecoder() *decoder {
	if d, ok := r.decoders.Get().(*decoder); ok {
		return d
	}
	return new(decoder)
}

// bigRecord is the size above which a record leaves its decoder out of
// reuse, so that the memory a large record made a parser take is not kept.
const bigRecord = 1 << 20

// putDecoder gives back a top-level decoder whose input is read.
func (r *Reader) putDecoder(d *decoder) {
	if d.big || cap(d.side) > bigRecord || cap(d.buf) > bigRecord {
		return
	}
	d.yield, d.run, d.in, d.ctx = nil, nil, nil, nil
	r.decoders.Put(d)
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

// gunzip returns a reader of the decompressed stream. Readers are reused
// (their state is tens of kilobytes, which many small files would
// otherwise allocate one each); putGzip gives one back.
func (r *Reader) gunzip(br *bufio.Reader) (*gzip.Reader, error) {
	zr, _ := r.gzips.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(br)
	} else {
		err = zr.Reset(br)
	}
	if err != nil {
		if zr != nil {
			r.putGzip(zr)
		}
		return nil, fmt.Errorf("gzip stream could not be opened: %w", err)
	}
	return zr, nil
}

func (r *Reader) putGzip(zr *gzip.Reader) {
	zr.Close()
	r.gzips.Put(zr)
}
