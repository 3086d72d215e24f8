package archive

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailwatch/trailwatch/internal/ingest"
)

// maxAbove bounds how many folders deep above AWSLogs/ the walk looks for
// it (custom key prefixes, Control Tower's o-xxxx/), so a bucket full of
// other data costs a bounded number of listings.
const maxAbove = 3

// Objects yields the log files in range under s3://bucket/prefix in key
// order, listing page by page: memory does not grow with the number of
// objects. A listing that fails yields an *ingest.InputError naming the
// folder, and the walk goes on with the next folder.
func (s *Source) Objects(ctx context.Context, bucket, prefix string) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		w := &walker{s: s, ctx: ctx, bucket: bucket, yield: yield}
		w.folder(prefix, 0)
	}
}

// walker is one walk over a bucket's CloudTrail layout.
type walker struct {
	s      *Source
	ctx    context.Context
	bucket string
	yield  func(Object, error) bool
	halted bool // the consumer stopped
}

// emit hands one result on; it reports whether to go on.
func (w *walker) emit(o Object, err error) bool {
	if w.halted {
		return false
	}
	if !w.yield(o, err) {
		w.halted = true
	}
	return !w.halted
}

// folder walks one folder according to where it sits in the layout.
func (w *walker) folder(f string, depth int) bool {
	if w.halted {
		return false
	}
	if err := w.ctx.Err(); err != nil {
		w.emit(Object{}, &ingest.InputError{Input: w.uri(f), Err: err})
		w.halted = true
		return false
	}
	p := locate(f)
	if p.account != "" && w.s.accounts != nil && !w.s.accounts[p.account] ||
		p.regionName != "" && w.s.regions != nil && !w.s.regions[p.regionName] {
		return true // a folder named outside the filters holds nothing in range
	}
	switch p.level {
	case levelAbove:
		return w.above(f, depth)
	case levelAWSLogs, levelOrg:
		return w.accounts(f, p.level)
	case levelAccount:
		return w.folder(f+"CloudTrail/", depth)
	case levelService:
		return w.regions(f)
	case levelRegion:
		return w.region(f, p.region)
	default:
		return w.emit(Object{}, &ingest.InputError{Input: w.uri(f),
			Err: fmt.Errorf("not a CloudTrail folder: under an account, log files are in CloudTrail/ (or CloudTrail-Insight/)")})
	}
}

func (w *walker) uri(f string) string { return "s3://" + w.bucket + "/" + f }

// above lists a folder that is not yet inside AWSLogs/: it looks for
// AWSLogs/ below it, and reads log files that sit in the folder named
// (exports kept outside CloudTrail's layout).
func (w *walker) above(f string, depth int) bool {
	return w.list(f, "/", "", func(out *s3.ListObjectsV2Output) bool {
		if depth == 0 {
			for _, o := range out.Contents {
				if !w.object(aws.ToString(o.Key), aws.ToInt64(o.Size)) {
					return false
				}
			}
		}
		for _, cp := range out.CommonPrefixes {
			child := aws.ToString(cp.Prefix)
			name := strings.TrimSuffix(child[len(f):], "/")
			switch {
			case name == "AWSLogs":
				if !w.folder(child, depth+1) {
					return false
				}
			case name == "CloudTrail-Digest" || depth+1 > maxAbove:
			default:
				if !w.folder(child, depth+1) {
					return false
				}
			}
		}
		return true
	})
}

// accounts walks AWSLogs/ or AWSLogs/o-xxxx/: organization folders and
// account folders, going straight to each account's CloudTrail/ folder.
// Named accounts under an organization are not listed at all.
func (w *walker) accounts(f string, lvl level) bool {
	if lvl == levelOrg && w.s.accounts != nil {
		for _, a := range sortedKeys(w.s.accounts) {
			if !w.folder(f+a+"/CloudTrail/", 0) {
				return false
			}
		}
		return true
	}
	return w.list(f, "/", "", func(out *s3.ListObjectsV2Output) bool {
		for _, cp := range out.CommonPrefixes {
			child := aws.ToString(cp.Prefix)
			name := strings.TrimSuffix(child[len(f):], "/")
			switch {
			case lvl == levelAWSLogs && isOrgID(name):
				if !w.folder(child, 0) {
					return false
				}
			case w.s.accounts != nil && !w.s.accounts[name]:
			default:
				if !w.folder(child+"CloudTrail/", 0) {
					return false
				}
			}
		}
		return true
	})
}

// regions walks an account's CloudTrail/ folder: the named regions, or
// every region folder listed.
func (w *walker) regions(f string) bool {
	if w.s.regions != nil {
		for _, r := range sortedKeys(w.s.regions) {
			if !w.folder(f+r+"/", 0) {
				return false
			}
		}
		return true
	}
	return w.list(f, "/", "", func(out *s3.ListObjectsV2Output) bool {
		for _, cp := range out.CommonPrefixes {
			if !w.folder(aws.ToString(cp.Prefix), 0) {
				return false
			}
		}
		return true
	})
}

// region lists the log files of one region folder (or a day or month
// folder below it) flat, from the first day in range to the last.
func (w *walker) region(f, region string) bool {
	startAfter := ""
	if !w.s.opt.Since.IsZero() {
		// Keys of the first day sort after "region/YYYY/MM/DD", and those
		// of every earlier day before it.
		if sa := dayFolder(region, w.s.opt.Since); sa > f {
			startAfter = sa
		}
	}
	var lastDay time.Time
	if !w.s.opt.Until.IsZero() {
		u := w.s.opt.Until.Add(DeliveryDelay).UTC()
		lastDay = time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	}
	done := false
	ok := w.list(f, "", startAfter, func(out *s3.ListObjectsV2Output) bool {
		for _, o := range out.Contents {
			key := aws.ToString(o.Key)
			if !lastDay.IsZero() {
				if d, ok := dayOf(region, key); ok && d.After(lastDay) {
					done = true // keys sort by day: nothing later is in range
					return false
				}
			}
			if !w.object(key, aws.ToInt64(o.Size)) {
				return false
			}
		}
		return true
	})
	return ok || done && !w.halted
}

// object yields one listed key when it is a log file in range.
func (w *walker) object(key string, size int64) bool {
	if !logFileKey(key) {
		return true
	}
	o := Object{Bucket: w.bucket, Key: key, Size: size}
	if n, err := parseLogName(baseName(key)); err == nil {
		o.Account, o.Region, o.Delivered = n.Account, n.Region, n.Time
		if !w.s.inRange(n) {
			return true
		}
	}
	return w.emit(o, nil)
}

// inRange reports whether a log file named n can hold events in range.
func (s *Source) inRange(n logName) bool {
	if s.accounts != nil && !s.accounts[n.Account] || s.regions != nil && !s.regions[n.Region] {
		return false
	}
	// The name's time is the delivery minute: every event in the file
	// happened before the end of that minute.
	if !s.opt.Since.IsZero() && !n.Time.Add(time.Minute).After(s.opt.Since) {
		return false
	}
	if !s.opt.Until.IsZero() && n.Time.After(s.opt.Until.Add(DeliveryDelay)) {
		return false
	}
	return true
}

// list pages through ListObjectsV2. page returns false to stop this listing
// (the consumer stopped, or the range ended); list returns false when the
// listing did not run to its end.
func (w *walker) list(prefix, delimiter, startAfter string, page func(*s3.ListObjectsV2Output) bool) bool {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(w.bucket), Prefix: aws.String(prefix)}
	if delimiter != "" {
		in.Delimiter = aws.String(delimiter)
	}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	for {
		out, err := w.s.client.ListObjectsV2(w.ctx, in)
		if err != nil {
			if w.ctx.Err() != nil {
				w.emit(Object{}, &ingest.InputError{Input: w.uri(prefix), Err: w.ctx.Err()})
				w.halted = true
				return false
			}
			w.s.log.Warn("listing_failed", "input", w.uri(prefix), "error", err.Error())
			return w.emit(Object{}, &listError{&ingest.InputError{Input: w.uri(prefix), Err: fmt.Errorf("S3 ListObjectsV2 failed: %w", err)}})
		}
		if !page(out) {
			return false
		}
		token := aws.ToString(out.NextContinuationToken)
		if !aws.ToBool(out.IsTruncated) || token == "" {
			return true
		}
		in.ContinuationToken = aws.String(token)
	}
}

// listError marks a failed listing among the walk's errors.
type listError struct{ *ingest.InputError }

func (e *listError) Unwrap() error { return e.InputError }

func sortedKeys(m map[string]bool) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
