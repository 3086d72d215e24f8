// Package lookup reads CloudTrail's event history through the LookupEvents
// API: the management events of the last 90 days in each region, with no
// trail needed, so a team without one can still run the rules, learn
// detector baselines and build reports.
//
// LookupEvents answers at most 50 events a call and at most two calls per
// second per account and region, and it throttles beyond that. A Source
// keeps each region below that rate (Options.Interval between calls),
// waits and retries with exponential backoff when throttled anyway or when
// the service fails, and follows NextToken to the end. Regions are read
// concurrently, each in its own lane.
//
// Order: within a region, events come newest first, as the API returns
// them; the pages of different regions interleave as they arrive. Rules do
// not depend on order; detectors that count in windows read S3 archives in
// time order better.
package lookup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/smithy-go"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
)

// Client is the one CloudTrail call a Source makes; *cloudtrail.Client has
// it. Clients should make one attempt a call (a standard retryer limited
// to one attempt: retry.AddWithMaxAttempts(retry.NewStandard(), 1)), since
// the Source paces and retries every call itself.
type Client interface {
	LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

// Options configure a Source.
type Options struct {
	// Regions to read; required.
	Regions []string
	// All says the regions are every region rather than named ones: a
	// region that is not enabled for the account is then skipped, not an
	// error.
	All bool
	// Since and Until bound the events; zero Since means 90 days ago (the
	// history's whole length), zero Until means now.
	Since, Until time.Time
	// Concurrency is how many regions are read at once; 0 means 4.
	Concurrency int
	// Interval is the least time between two calls in one region; 0 means
	// DefaultInterval, the documented rate of two calls a second.
	Interval time.Duration
	// Backoff is the first wait after a throttled or failed call, doubled
	// (with jitter) each retry up to MaxBackoff; 0 means 1 second.
	Backoff time.Duration
	// Attempts bounds the calls for one page; 0 means 8.
	Attempts int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Defaults for Options.
const (
	DefaultInterval = 500 * time.Millisecond
	MaxBackoff      = 30 * time.Second
	// History is how far back LookupEvents reaches.
	History = 90 * 24 * time.Hour
	// pageSize is the most events LookupEvents returns a call.
	pageSize = 50
)

// Regions are the commercial regions cloudtrail://all reads. Regions that
// are not enabled for the account answer with an error and are skipped.
var Regions = []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2",
	"eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1",
	"me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
}

// Scheme starts a LookupEvents input: cloudtrail://us-east-1,
// cloudtrail://us-east-1,eu-west-1 or cloudtrail://all.
const Scheme = "cloudtrail://"

// IsURI reports whether an argument names CloudTrail's event history.
func IsURI(s string) bool { return strings.HasPrefix(s, Scheme) }

// ParseURI reads the regions of a cloudtrail:// argument; all is true for
// cloudtrail://all.
func ParseURI(uri string) (regions []string, all bool, err error) {
	rest, ok := strings.CutPrefix(uri, Scheme)
	if !ok {
		return nil, false, fmt.Errorf("%q is not a cloudtrail:// input", uri)
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "all" {
		return slices.Clone(Regions), true, nil
	}
	for _, r := range strings.Split(rest, ",") {
		if !validRegion(r) {
			return nil, false, fmt.Errorf("%q: %q is not a region (want cloudtrail://us-east-1, cloudtrail://us-east-1,eu-west-1 or cloudtrail://all)", uri, r)
		}
		if !slices.Contains(regions, r) {
			regions = append(regions, r)
		}
	}
	return regions, false, nil
}

func validRegion(r string) bool {
	if r == "" || len(r) > 32 || r[0] == '-' || r[len(r)-1] == '-' || strings.Contains(r, "--") {
		return false
	}
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Source reads the event history of some regions. It is safe for
// concurrent use; each iterator it returns is not.
type Source struct {
	client func(region string) Client
	opt    Options
}

// New returns a Source that asks client(region) for each region's client.
func New(client func(region string) Client, o Options) (*Source, error) {
	if client == nil {
		return nil, errors.New("lookup: no CloudTrail client")
	}
	if len(o.Regions) == 0 {
		return nil, errors.New("lookup: no region to read")
	}
	for _, r := range o.Regions {
		if !validRegion(r) {
			return nil, fmt.Errorf("lookup: %q is not a region name such as us-east-1", r)
		}
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.Attempts <= 0 {
		o.Attempts = 8
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Source{client: client, opt: o}, nil
}

// page is one answer of one region, or the region's end.
type page struct {
	region string
	events []string
	err    error // an *ingest.InputError or *ingest.SkipError for the region
	done   bool
}

// Events yields the events of every region. Errors are an
// *ingest.InputError for a region that could not be read to its end (after
// the retries), an *ingest.SkipError for a region that is not enabled when
// reading all of them, and an *ingest.RecordError for an event that is not
// a JSON object. Origins read cloudtrail://REGION, the event's position in
// that region's answers, and Path "lookup". Each event is valid until the
// next iteration.
func (s *Source) Events(ctx context.Context) iter.Seq2[*event.Event, error] {
	return func(yield func(*event.Event, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		pages := make(chan page, s.opt.Concurrency)
		lanes := make(chan struct{}, s.opt.Concurrency)
		var wg sync.WaitGroup
		for _, r := range s.opt.Regions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case lanes <- struct{}{}:
				case <-ctx.Done():
					return
				}
				defer func() { <-lanes }()
				s.region(ctx, r, pages)
			}()
		}
		defer func() {
			cancel()
			for range pages {
			}
		}()
		go func() { wg.Wait(); close(pages) }()

		var p event.Parser
		index := map[string]int{}
		for pg := range pages {
			if pg.err != nil {
				if !yield(nil, pg.err) {
					return
				}
				continue
			}
			input := Scheme + pg.region
			for _, raw := range pg.events {
				i := index[pg.region]
				index[pg.region]++
				if err := (ingest.Limits{}).CheckRecord([]byte(raw)); err != nil {
					if !yield(nil, &ingest.RecordError{Input: input, Index: i, Err: err}) {
						return
					}
					continue
				}
				ev, err := p.Parse([]byte(raw), event.Origin{Input: input, Index: i, Path: "lookup"})
				if err != nil {
					if !yield(nil, &ingest.RecordError{Input: input, Index: i, Err: fmt.Errorf("CloudTrailEvent is not a JSON object: %w", errors.Unwrap(err))}) {
						return
					}
					continue
				}
				if !yield(ev, nil) {
					return
				}
			}
		}
		if err := ctx.Err(); err != nil {
			yield(nil, &ingest.InputError{Input: Scheme, Err: err})
		}
	}
}

// region reads one region's history page by page into pages.
func (s *Source) region(ctx context.Context, region string, pages chan<- page) {
	send := func(p page) bool {
		p.region = region
		select {
		case pages <- p:
			return true
		case <-ctx.Done():
			return false
		}
	}
	now := s.opt.Now()
	in := &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(pageSize)}
	since, until := s.opt.Since, s.opt.Until
	if since.IsZero() {
		since = now.Add(-History)
	}
	if until.IsZero() {
		until = now
	}
	in.StartTime, in.EndTime = aws.Time(since), aws.Time(until)
	client := s.client(region)
	var next time.Time // earliest time of the next call, for the rate limit
	input := Scheme + region
	for {
		out, err := s.call(ctx, client, in, &next)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if s.opt.All && notEnabled(err) {
				send(page{err: &ingest.SkipError{Input: input, Index: -1, Reason: "the region is not enabled for this account (" + code(err) + ")"}})
				return
			}
			send(page{err: &ingest.InputError{Input: input, Err: fmt.Errorf("CloudTrail LookupEvents failed: %w", err)}})
			return
		}
		evs := make([]string, 0, len(out.Events))
		for _, e := range out.Events {
			evs = append(evs, aws.ToString(e.CloudTrailEvent))
		}
		if len(evs) > 0 && !send(page{events: evs}) {
			return
		}
		token := aws.ToString(out.NextToken)
		if token == "" {
			return
		}
		in.NextToken = aws.String(token)
	}
}

// call makes one LookupEvents call at the region's pace, retrying
// throttled and failed calls with exponential backoff and jitter.
func (s *Source) call(ctx context.Context, c Client, in *cloudtrail.LookupEventsInput, next *time.Time) (*cloudtrail.LookupEventsOutput, error) {
	wait := s.opt.Backoff
	for attempt := 1; ; attempt++ {
		if err := sleep(ctx, time.Until(*next)); err != nil {
			return nil, err
		}
		out, err := c.LookupEvents(ctx, in)
		*next = time.Now().Add(s.opt.Interval)
		if err == nil {
			return out, nil
		}
		if !retryable(err) || attempt >= s.opt.Attempts {
			if attempt > 1 {
				return nil, fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return nil, err
		}
		d := wait/2 + rand.N(wait/2+1)
		if err := sleep(ctx, d); err != nil {
			return nil, err
		}
		wait = min(2*wait, MaxBackoff)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// code returns the API error code of err, or "".
func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// retryable reports whether a later call may succeed: throttling, a server
// error, or no answer at all.
func retryable(err error) bool {
	switch code(err) {
	case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "ServiceUnavailableException":
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true // the answer broke off
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		st := re.Response.StatusCode
		return st == http.StatusTooManyRequests || st >= 500
	}
	var ae smithy.APIError
	return !errors.As(err, &ae) // no API answer: a network failure
}

// notEnabled reports the answer of a region the account has not enabled.
func notEnabled(err error) bool {
	switch code(err) {
	case "UnrecognizedClientException", "InvalidClientTokenId", "AuthFailure":
		return true
	}
	return false
}
