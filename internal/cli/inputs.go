package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/ingest/archive"
	"github.com/trailwatch/trailwatch/internal/ingest/lookup"
)

// inputFlags are the flags that choose what to read from an input: the
// time range, accounts and regions, and how many S3 objects to download at
// once. check, events, report and replay share them.
type inputFlags struct {
	since, until      string
	accounts, regions []string
	concurrency       int
}

func (f *inputFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.since, "since", "", `only events at or after this time: RFC 3339 ("2024-05-01T09:00:00+09:00"), a date ("2024-05-01", UTC) or a duration before now ("30d", "12h")`)
	fs.StringVar(&f.until, "until", "", "only events before this time (same forms as --since)")
	fs.StringSliceVar(&f.accounts, "account", nil, "only these AWS account ids (repeat or separate with commas); S3 prefixes list only their folders")
	fs.StringSliceVar(&f.regions, "region", nil, "only these regions (repeat or separate with commas); S3 prefixes list only their folders, cloudtrail:// asks only them")
	fs.IntVar(&f.concurrency, "concurrency", archive.DefaultConcurrency, "S3 objects downloaded (or regions looked up) at once")
}

// selection is what the input flags select, parsed.
type selection struct {
	since, until      time.Time
	accounts, regions []string
	concurrency       int
}

// any reports whether the selection narrows events at all.
func (s selection) any() bool {
	return !s.since.IsZero() || !s.until.IsZero() || len(s.accounts) > 0 || len(s.regions) > 0
}

// match reports whether an event is in the selection. An event without a
// readable time is kept: it cannot be said to be out of range.
func (s selection) match(ev *event.Event) bool {
	if !s.since.IsZero() || !s.until.IsZero() {
		if t := ev.Time(); !t.IsZero() && (t.Before(s.since) || !s.until.IsZero() && !t.Before(s.until)) {
			return false
		}
	}
	if len(s.accounts) > 0 && !slices.Contains(s.accounts, ev.Account()) {
		return false
	}
	return len(s.regions) == 0 || slices.Contains(s.regions, ev.Region())
}

// parse checks the flags against now.
func (f *inputFlags) parse(now time.Time) (selection, error) {
	var s selection
	var err error
	if s.since, err = parseTime(f.since, now); err != nil {
		return s, fmt.Errorf("--since: %w", err)
	}
	if s.until, err = parseTime(f.until, now); err != nil {
		return s, fmt.Errorf("--until: %w", err)
	}
	if !s.since.IsZero() && !s.until.IsZero() && !s.until.After(s.since) {
		return s, fmt.Errorf("--until %s is not after --since %s", s.until.UTC().Format(time.RFC3339), s.since.UTC().Format(time.RFC3339))
	}
	for _, a := range f.accounts {
		a = strings.TrimSpace(a)
		if !isAccountID(a) {
			return s, fmt.Errorf("--account %q is not a 12-digit AWS account id", a)
		}
		s.accounts = append(s.accounts, a)
	}
	for _, r := range f.regions {
		r = strings.TrimSpace(r)
		if !isRegionName(r) {
			return s, fmt.Errorf("--region %q is not a region name such as us-east-1", r)
		}
		s.regions = append(s.regions, r)
	}
	if f.concurrency < 1 || f.concurrency > archive.MaxConcurrency {
		return s, fmt.Errorf("--concurrency %d is out of range (1 to %d)", f.concurrency, archive.MaxConcurrency)
	}
	s.concurrency = f.concurrency
	return s, nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isRegionName(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// parseTime reads a --since or --until value: "" (no bound), an RFC 3339
// time, a date (midnight UTC), or a duration before now: a Go duration
// ("90m", "1h30m") or a whole number of days or weeks ("30d", "2w").
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if n, unit := s[:len(s)-1], s[len(s)-1]; unit == 'd' || unit == 'w' {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100*366 {
			return time.Time{}, fmt.Errorf("%q is not a time: want RFC 3339 (2024-05-01T09:00:00Z), a date (2024-05-01) or a duration such as 30d or 12h", s)
		}
		if unit == 'w' {
			days *= 7
		}
		return now.AddDate(0, 0, -days), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is not a time: want RFC 3339 (2024-05-01T09:00:00Z), a date (2024-05-01) or a duration such as 30d or 12h", s)
	}
	return now.Add(-d), nil
}

// inputs opens the arguments of check, events and report: files, folders,
// standard input, S3 objects and prefixes. It narrows every input's events
// to the selection, and shows S3 progress on a terminal.
type inputs struct {
	sel    selection
	reader *ingest.Reader
	stdin  io.Reader
	s3     *lazyS3Client
	prog   *progress // nil when standard error is not a terminal
}

// open checks the flags and returns the inputs of cmd. stderr is where the
// progress line goes when it is a terminal.
func (f *inputFlags) open(cmd *cobra.Command) (*inputs, error) {
	sel, err := f.parse(time.Now())
	if err != nil {
		return nil, err
	}
	in := &inputs{
		sel:    sel,
		reader: ingest.New(ingest.Options{Fetcher: &lazyS3Fetcher{}}),
		stdin:  cmd.InOrStdin(),
		s3:     &lazyS3Client{},
	}
	return in, nil
}

// events yields the events of one argument within the selection.
func (in *inputs) events(ctx context.Context, arg string) iter.Seq2[*event.Event, error] {
	var seq iter.Seq2[*event.Event, error]
	switch {
	case arg == "-":
		seq = in.reader.Stream(ctx, "-", in.stdin)
	case archive.IsPrefix(arg):
		seq = in.prefix(ctx, arg)
	case lookup.IsURI(arg):
		seq = in.history(ctx, arg)
	default:
		seq = in.reader.Paths(ctx, []string{arg})
	}
	if !in.sel.any() {
		return seq
	}
	return func(yield func(*event.Event, error) bool) {
		for ev, err := range seq {
			if err == nil && !in.sel.match(ev) {
				continue
			}
			if !yield(ev, err) {
				return
			}
		}
	}
}

// prefix reads the log files under an s3:// prefix.
func (in *inputs) prefix(ctx context.Context, uri string) iter.Seq2[*event.Event, error] {
	return func(yield func(*event.Event, error) bool) {
		src, bucket, prefix, err := in.archive(ctx, uri)
		if err != nil {
			yield(nil, &ingest.InputError{Input: uri, Err: err})
			return
		}
		for ev, err := range src.Events(ctx, bucket, prefix) {
			if !yield(ev, err) {
				return
			}
		}
	}
}

// history reads CloudTrail's event history through LookupEvents. --region
// narrows the regions of the argument.
func (in *inputs) history(ctx context.Context, uri string) iter.Seq2[*event.Event, error] {
	return func(yield func(*event.Event, error) bool) {
		regions, all, err := lookup.ParseURI(uri)
		if err == nil && len(in.sel.regions) > 0 {
			regions = slices.DeleteFunc(regions, func(r string) bool { return !slices.Contains(in.sel.regions, r) })
			if all {
				regions, all = slices.Clone(in.sel.regions), false
			}
			if len(regions) == 0 {
				err = fmt.Errorf("none of its regions is among --region %s", strings.Join(in.sel.regions, ","))
			}
		}
		var cfg aws.Config
		if err == nil {
			cfg, err = in.s3.config(ctx)
		}
		var src *lookup.Source
		if err == nil {
			src, err = lookup.New(func(region string) lookup.Client {
				return cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) {
					o.Region = region
					// The source paces and retries each call itself.
					o.Retryer = retry.AddWithMaxAttempts(retry.NewStandard(), 1)
				})
			}, lookup.Options{Regions: regions, All: all, Since: in.sel.since, Until: in.sel.until, Concurrency: in.sel.concurrency})
		}
		if err != nil {
			yield(nil, &ingest.InputError{Input: uri, Err: err})
			return
		}
		for ev, err := range src.Events(ctx) {
			if !yield(ev, err) {
				return
			}
		}
	}
}

// archive returns the listing source for an s3:// prefix.
func (in *inputs) archive(ctx context.Context, uri string) (*archive.Source, string, string, error) {
	bucket, prefix, err := archive.ParseURI(uri)
	if err != nil {
		return nil, "", "", err
	}
	client, err := in.s3.forBucket(ctx, bucket)
	if err != nil {
		return nil, "", "", err
	}
	o := archive.Options{
		Since: in.sel.since, Until: in.sel.until,
		Accounts: in.sel.accounts, Regions: in.sel.regions,
		Concurrency: in.sel.concurrency,
	}
	if in.prog != nil {
		o.Progress = in.prog
	}
	src, err := archive.New(client, o)
	if err != nil {
		return nil, "", "", err
	}
	return src, bucket, prefix, nil
}

// errw returns the writer for error lines: w itself, or, while a progress
// line is shown on w, a writer that erases it first.
func (in *inputs) errw(w io.Writer) io.Writer { return in.prog.writer(w) }

// lazyS3Client loads the AWS configuration on first use and keeps one S3
// client per bucket region; the CloudTrail clients share its configuration.
type lazyS3Client struct {
	mu      sync.Mutex
	cfg     *aws.Config
	clients map[string]*s3.Client // by region
}

// forBucket returns a client for the bucket's region. The bucket's region
// is asked with HeadBucket, since S3 answers a request sent to another
// region with a redirect the SDK does not follow.
func (l *lazyS3Client) forBucket(ctx context.Context, bucket string) (*s3.Client, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.load(ctx); err != nil {
		return nil, err
	}
	def := l.client(l.cfg.Region)
	region := bucketRegion(ctx, def, bucket)
	if region == "" || region == l.cfg.Region {
		return def, nil
	}
	return l.client(region), nil
}

// config returns the AWS configuration, loaded on first use.
func (l *lazyS3Client) config(ctx context.Context) (aws.Config, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.load(ctx); err != nil {
		return aws.Config{}, err
	}
	return *l.cfg, nil
}

func (l *lazyS3Client) load(ctx context.Context) error {
	if l.cfg != nil {
		return nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	l.cfg = &cfg
	l.clients = map[string]*s3.Client{}
	return nil
}

func (l *lazyS3Client) client(region string) *s3.Client {
	if c, ok := l.clients[region]; ok {
		return c
	}
	c := s3.NewFromConfig(*l.cfg, func(o *s3.Options) {
		o.Region = region
		// Objects uploaded without checksums are normal; the SDK would
		// otherwise print a line on standard error for each of them.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	l.clients[region] = c
	return c
}

// bucketRegion asks S3 where a bucket is; "" when it cannot tell (the
// listing then reports whatever is wrong).
func bucketRegion(ctx context.Context, c *s3.Client, bucket string) string {
	out, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return aws.ToString(out.BucketRegion)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusMovedPermanently {
		return re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	return ""
}

// picked is a result of mapEvents's work with whether the event is in the
// selection.
type picked[T any] struct {
	v  T
	in bool
}

// mapEvents yields the events of args within the selection, in order,
// each with what work made of it, and the problems of reading them, as
// ingest.Map does. Runs of files, folders, S3 objects and standard input
// are read by ingest.Map, which keeps every core busy (work runs on its
// workers, concurrently for different events); an S3 prefix or CloudTrail's
// event history is read in order on this goroutine, work called as each
// event comes. Either way the results come in input order, so the output
// does not depend on the number of cores.
func mapEvents[T any](ctx context.Context, in *inputs, args []string, work func(context.Context, *event.Event) (T, bool)) iter.Seq[ingest.Result[T]] {
	sequential := func(arg string) bool { return archive.IsPrefix(arg) || lookup.IsURI(arg) }
	pick := func(ctx context.Context, ev *event.Event) (picked[T], bool) {
		if !in.sel.match(ev) {
			return picked[T]{}, false
		}
		v, keep := work(ctx, ev)
		return picked[T]{v: v, in: true}, keep
	}
	return func(yield func(ingest.Result[T]) bool) {
		for i := 0; i < len(args); {
			if sequential(args[i]) {
				for ev, err := range in.events(ctx, args[i]) {
					res := ingest.Result[T]{Err: err}
					if err == nil {
						var keep bool
						res.Origin = ev.Origin()
						if res.Value, keep = work(ctx, ev); keep {
							res.Event = ev
						}
					}
					if !yield(res) {
						return
					}
				}
				i++
				continue
			}
			j := i + 1
			for j < len(args) && !sequential(args[j]) {
				j++
			}
			for res := range ingest.Map(ctx, in.reader, args[i:j], ingest.MapOptions{Stdin: in.stdin}, pick) {
				if res.Err == nil && !res.Value.in {
					continue
				}
				if !yield(ingest.Result[T]{Event: res.Event, Origin: res.Origin, Value: res.Value.v, Err: res.Err}) {
					return
				}
			}
			i = j
		}
	}
}
