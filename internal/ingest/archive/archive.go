package archive

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
)

// Client is the S3 API a Source uses; *s3.Client has it.
type Client interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	ingest.S3GetObjectAPI
}

// Progress hears what a Source finds and reads, for a display on a
// terminal. Listed is called from the listing goroutine and Done from the
// reading one, so an implementation must be safe for concurrent use.
type Progress interface {
	// Listed reports an object in range, before it is read.
	Listed(o Object)
	// Done reports an object read to its end (err nil) or not completely
	// (err says why).
	Done(o Object, err error)
}

// Options narrow and tune a Source. The zero value reads everything under
// the prefix, four objects at a time.
type Options struct {
	// Since and Until bound the delivery times of the log files read, from
	// their names: a file delivered before Since holds no event at or after
	// it; a file delivered more than DeliveryDelay after Until is passed
	// over. Zero means unbounded. Events themselves are not filtered here.
	Since, Until time.Time
	// Accounts and Regions, when not empty, are the only account ids and
	// regions listed.
	Accounts, Regions []string
	// Concurrency is how many objects are downloaded at once, the one being
	// decoded included; 0 means DefaultConcurrency.
	Concurrency int
	// IdleTimeout fails an object whose download sends no byte for this
	// long; 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Progress, when set, hears about every object.
	Progress Progress
	// Logger receives a line for skipped inputs and bad records (through the
	// decoder) and for listings. Nil discards.
	Logger *slog.Logger
}

// Defaults for Options.
const (
	DefaultConcurrency = 4
	DefaultIdleTimeout = 2 * time.Minute
	// MaxConcurrency bounds Options.Concurrency: each download in flight
	// holds a connection and up to readAhead chunks.
	MaxConcurrency = 64
	// DeliveryDelay is how long after an event its log file may be
	// delivered and still be read for an Until bound. CloudTrail delivers
	// within about 5 minutes of a call on average, without a guarantee.
	DeliveryDelay = time.Hour
)

// Object is one log file in range.
type Object struct {
	Bucket, Key string
	// Size is the object's size in bytes as listed.
	Size int64
	// Account, Region and Delivered come from the file name; they are zero
	// when the name does not follow CloudTrail's pattern.
	Account, Region string
	Delivered       time.Time
}

// URI returns s3://bucket/key.
func (o Object) URI() string { return "s3://" + o.Bucket + "/" + o.Key }

// Source lists and reads the CloudTrail log files under S3 prefixes. It is
// safe for concurrent use; each iterator it returns is not.
type Source struct {
	client   Client
	opt      Options
	accounts map[string]bool
	regions  map[string]bool
	log      *slog.Logger
	bufs     sync.Pool // *[]byte of chunkSize
}

// New returns a Source that uses client. It fails on options that cannot
// work: a range that ends before it starts, a concurrency out of bounds, an
// account id that is not 12 digits, an empty region.
func New(client Client, o Options) (*Source, error) {
	if client == nil {
		return nil, errors.New("archive: no S3 client")
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Concurrency < 1 || o.Concurrency > MaxConcurrency {
		return nil, fmt.Errorf("archive: concurrency %d is out of range (1 to %d)", o.Concurrency, MaxConcurrency)
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if !o.Since.IsZero() && !o.Until.IsZero() && !o.Until.After(o.Since) {
		return nil, fmt.Errorf("archive: the time range ends (%s) before it starts (%s)", o.Until.UTC().Format(time.RFC3339), o.Since.UTC().Format(time.RFC3339))
	}
	s := &Source{client: client, opt: o, log: o.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if len(o.Accounts) > 0 {
		s.accounts = map[string]bool{}
		for _, a := range o.Accounts {
			if !isAccount(a) {
				return nil, fmt.Errorf("archive: account %q is not a 12-digit AWS account id", a)
			}
			s.accounts[a] = true
		}
	}
	if len(o.Regions) > 0 {
		s.regions = map[string]bool{}
		for _, r := range o.Regions {
			if !validRegion(r) {
				return nil, fmt.Errorf("archive: region %q is not a region name such as us-east-1", r)
			}
			s.regions[r] = true
		}
	}
	s.bufs.New = func() any { b := make([]byte, chunkSize); return &b }
	return s, nil
}

// validRegion accepts region-shaped names ("us-east-1", "us-gov-west-1"),
// so a filter never turns into a listing of an odd prefix.
func validRegion(r string) bool {
	if r == "" || len(r) > 32 || strings.Contains(r, "--") || r[0] == '-' || r[len(r)-1] == '-' {
		return false
	}
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// IsPrefix reports whether an s3:// argument names a prefix to list rather
// than one object: it ends in "/", names only a bucket, or its last segment
// is not a log file name (.json, .json.gz, .gz, .jsonl, .ndjson).
func IsPrefix(uri string) bool {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return false
	}
	_, key, _ := strings.Cut(rest, "/")
	return key == "" || strings.HasSuffix(key, "/") || !logFileKey(key) && !strings.Contains(key, "CloudTrail-Digest/")
}

// ParseURI splits s3://bucket/prefix. The prefix names a folder: a missing
// trailing "/" is added, so s3://b/AWSLogs reads s3://b/AWSLogs/.
func ParseURI(uri string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URI", uri)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q names no bucket (want s3://bucket/prefix/)", uri)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return bucket, prefix, nil
}

// Events yields the events of every log file in range under
// s3://bucket/prefix, objects in key order, records in file order. Errors
// are the decoder's (*ingest.SkipError, *ingest.RecordError,
// *ingest.InputError, each naming its object), an *ingest.InputError per
// listing that failed, and, when anything was not read completely, a last
// *ingest.InputError for the prefix whose cause is an *IncompleteError.
// Each event is valid until the next iteration.
func (s *Source) Events(ctx context.Context, bucket, prefix string) iter.Seq2[*event.Event, error] {
	return func(yield func(*event.Event, error) bool) {
		s.events(ctx, bucket, prefix, yield)
	}
}

// IncompleteError says how many objects under a prefix were not read
// completely, and names the first of them.
type IncompleteError struct {
	// Failed and Total count objects; Listings counts listings that failed,
	// so that objects under them were never seen.
	Failed, Total, Listings int
	// Objects names up to maxNamed of the failed objects (s3://bucket/key).
	Objects []string
}

// maxNamed bounds the objects an IncompleteError names.
const maxNamed = 10

func (e *IncompleteError) Error() string {
	var b strings.Builder
	if e.Failed > 0 {
		fmt.Fprintf(&b, "%d of %d log files were not read completely (each is named above)", e.Failed, e.Total)
	}
	if e.Listings > 0 {
		if b.Len() > 0 {
			b.WriteString(", and ")
		}
		fmt.Fprintf(&b, "%d listings failed, so the objects under them were not read", e.Listings)
	}
	if len(e.Objects) > 0 {
		b.WriteString("; read them again on their own: ")
		b.WriteString(strings.Join(e.Objects, " "))
		if more := e.Failed - len(e.Objects); more > 0 {
			fmt.Fprintf(&b, " and %d more", more)
		}
	}
	return b.String()
}

// tally counts what happened to the objects of one Events call.
type tally struct {
	total, failed, listings int
	named                   []string
}

func (t *tally) fail(uri string) {
	t.failed++
	if len(t.named) < maxNamed {
		t.named = append(t.named, uri)
	}
}

func (t *tally) err() error {
	if t.failed == 0 && t.listings == 0 {
		return nil
	}
	return &IncompleteError{Failed: t.failed, Total: t.total, Listings: t.listings, Objects: slices.Clone(t.named)}
}
