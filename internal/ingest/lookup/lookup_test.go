package lookup

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/trailwatch/trailwatch/internal/ingest"
)

// fakeTrail speaks CloudTrail's LookupEvents over the AWS JSON 1.1
// protocol: it checks the X-Amz-Target header, reads the region from the
// request's signature, pages with NextToken, honours StartTime and EndTime,
// and throttles a region called again within window of its last call (as
// well as the first throttleFirst calls of each region).
type fakeTrail struct {
	window        time.Duration
	throttleFirst int
	events        map[string][]fakeEvent // by region, newest first
	disabled      map[string]bool

	mu        sync.Mutex
	calls     map[string][]time.Time // accepted and throttled calls, by region
	throttled map[string]int
	served    map[string]int
}

type fakeEvent struct {
	id   string
	at   time.Time
	json string
}

var scope = regexp.MustCompile(`Credential=[^/]+/\d{8}/([a-z0-9-]+)/cloudtrail/aws4_request`)

func (f *fakeTrail) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"__type":%q,"message":%q}`, typ, msg)
	}
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "CloudTrail_20131101.LookupEvents" ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		fail(400, "UnknownOperationException", "want a LookupEvents call in JSON 1.1")
		return
	}
	m := scope.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		fail(403, "MissingAuthenticationTokenException", "not signed")
		return
	}
	region := m[1]
	var in struct {
		StartTime, EndTime float64
		MaxResults         int
		NextToken          string
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &in); err != nil {
		fail(400, "SerializationException", err.Error())
		return
	}
	if f.disabled[region] {
		fail(400, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	f.mu.Lock()
	now := time.Now()
	calls := f.calls[region]
	f.calls[region] = append(calls, now)
	throttle := len(calls) < f.throttleFirst || len(calls) > 0 && now.Sub(calls[len(calls)-1]) < f.window
	if throttle {
		f.throttled[region]++
	}
	f.mu.Unlock()
	if throttle {
		fail(400, "ThrottlingException", "Rate exceeded")
		return
	}
	if in.MaxResults < 1 || in.MaxResults > 50 {
		fail(400, "InvalidMaxResultsException", "MaxResults must be 1 to 50")
		return
	}
	start, end := epoch(in.StartTime), epoch(in.EndTime)
	var match []fakeEvent
	for _, e := range f.events[region] {
		if !e.at.Before(start) && !e.at.After(end) {
			match = append(match, e)
		}
	}
	from := 0
	if in.NextToken != "" {
		b, err := base64.StdEncoding.DecodeString(in.NextToken)
		if err != nil {
			fail(400, "InvalidNextTokenException", "bad token")
			return
		}
		from, _ = strconv.Atoi(string(b))
	}
	to := min(from+in.MaxResults, len(match))
	type outEvent struct {
		EventId, EventName, CloudTrailEvent string
		EventTime                           float64
	}
	out := struct {
		Events    []outEvent
		NextToken string `json:",omitempty"`
	}{Events: []outEvent{}}
	for _, e := range match[from:to] {
		out.Events = append(out.Events, outEvent{e.id, "ConsoleLogin", e.json, float64(e.at.Unix())})
	}
	if to < len(match) {
		out.NextToken = base64.StdEncoding.EncodeToString([]byte(strconv.Itoa(to)))
	}
	f.mu.Lock()
	f.served[region] += to - from
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

func epoch(f float64) time.Time {
	s, frac := math.Modf(f)
	return time.Unix(int64(s), int64(frac*1e9))
}

func newFake(regions map[string]int, base time.Time) *fakeTrail {
	f := &fakeTrail{events: map[string][]fakeEvent{}, disabled: map[string]bool{},
		calls: map[string][]time.Time{}, throttled: map[string]int{}, served: map[string]int{}}
	for region, n := range regions {
		for i := n - 1; i >= 0; i-- { // newest first
			at := base.Add(time.Duration(i) * time.Minute)
			id := fmt.Sprintf("%s-%04d", region, i)
			rec := fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"u%d","accountId":"111122223333"},"eventTime":%q,"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":%q,"sourceIPAddress":"192.0.2.%d","responseElements":{"ConsoleLogin":"Success"},"eventID":%q,"eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}`,
				i%7, at.UTC().Format(time.RFC3339), region, i%250, id)
			f.events[region] = append(f.events[region], fakeEvent{id, at, rec})
		}
	}
	return f
}

func clients(t *testing.T, f *fakeTrail) func(string) Client {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return func(region string) Client {
		return cloudtrail.New(cloudtrail.Options{
			BaseEndpoint: aws.String(srv.URL),
			Region:       region,
			Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
			Retryer:      retry.AddWithMaxAttempts(retry.NewStandard(), 1),
		})
	}
}

// TestPagesThrottlesAndRates reads three regions of 120 events each: every
// event arrives once, each region's calls keep the interval, the throttled
// first calls are retried, and the rate limit is never hit otherwise.
func TestPagesThrottlesAndRates(t *testing.T) {
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	f := newFake(map[string]int{"us-east-1": 120, "eu-west-1": 120, "ap-northeast-1": 120}, base)
	f.window, f.throttleFirst = 40*time.Millisecond, 2
	s, err := New(clients(t, f), Options{
		Regions: []string{"us-east-1", "eu-west-1", "ap-northeast-1"},
		Since:   base, Until: base.Add(24 * time.Hour),
		Interval: 50 * time.Millisecond, Backoff: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	order := map[string][]string{}
	for ev, err := range s.Events(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		seen[ev.ID()]++
		o := ev.Origin()
		order[o.Input] = append(order[o.Input], ev.ID())
		if o.Path != "lookup" || o.Input != Scheme+ev.Region() {
			t.Errorf("origin %+v", o)
		}
	}
	if len(seen) != 360 {
		t.Errorf("%d distinct events, want 360", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s read %d times", id, n)
		}
	}
	for region, ids := range order {
		if !slices.IsSortedFunc(ids, func(a, b string) int { return strings.Compare(b, a) }) {
			t.Errorf("%s: not newest first", region)
		}
	}
	for region, calls := range f.calls {
		// 3 pages and the 2 throttled first calls.
		if len(calls) != 5 || f.throttled[region] != 2 {
			t.Errorf("%s: %d calls, %d throttled; want 5 and 2", region, len(calls), f.throttled[region])
		}
		for i := 1; i < len(calls); i++ {
			if gap := calls[i].Sub(calls[i-1]); gap < 40*time.Millisecond {
				t.Errorf("%s: calls %d and %d %v apart", region, i-1, i, gap)
			}
		}
	}
}

// TestTimeRange: StartTime and EndTime reach the API.
func TestTimeRange(t *testing.T) {
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	f := newFake(map[string]int{"us-east-1": 100}, base)
	s, _ := New(clients(t, f), Options{Regions: []string{"us-east-1"}, Since: base.Add(10 * time.Minute), Until: base.Add(19 * time.Minute), Interval: time.Millisecond})
	n := 0
	for ev, err := range s.Events(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if at := ev.Time(); at.Before(base.Add(10*time.Minute)) || at.After(base.Add(19*time.Minute)) {
			t.Errorf("event at %v", at)
		}
		n++
	}
	if n != 10 {
		t.Errorf("%d events, want 10", n)
	}
}

// TestGivesUpNamingTheRegion: a region throttled past the attempts is named
// and the others are still read; a disabled region is skipped for
// cloudtrail://all and an error when named.
func TestGivesUpNamingTheRegion(t *testing.T) {
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	f := newFake(map[string]int{"us-east-1": 10, "eu-west-1": 10}, base)
	f.window, f.throttleFirst = time.Millisecond, 1000
	f.disabled["me-south-1"] = true
	okFake := newFake(map[string]int{"eu-west-1": 10}, base)
	cl, okCl := clients(t, f), clients(t, okFake)
	pick := func(region string) Client {
		if region == "eu-west-1" {
			return okCl(region)
		}
		return cl(region)
	}
	for _, all := range []bool{true, false} {
		s, _ := New(pick, Options{Regions: []string{"us-east-1", "eu-west-1", "me-south-1"}, All: all, Since: base,
			Interval: time.Millisecond, Backoff: time.Millisecond, Attempts: 3})
		var errs []error
		events := 0
		for ev, err := range s.Events(context.Background()) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if ev.Region() != "eu-west-1" {
				t.Errorf("event from %s", ev.Region())
			}
			events++
		}
		if events != 10 || len(errs) != 2 {
			t.Fatalf("all=%v: %d events, errors %v", all, events, errs)
		}
		var skip *ingest.SkipError
		var in *ingest.InputError
		for _, err := range errs {
			msg := err.Error()
			switch {
			case strings.HasPrefix(msg, "cloudtrail://us-east-1: CloudTrail LookupEvents failed: ") && strings.Contains(msg, "ThrottlingException") && strings.Contains(msg, "after 3 attempts"):
				if !errors.As(err, &in) {
					t.Errorf("%T", err)
				}
			case strings.HasPrefix(msg, "skipped cloudtrail://me-south-1: the region is not enabled") && all:
				if !errors.As(err, &skip) {
					t.Errorf("%T", err)
				}
			case strings.HasPrefix(msg, "cloudtrail://me-south-1: CloudTrail LookupEvents failed") && !all:
			default:
				t.Errorf("all=%v: unexpected %q", all, msg)
			}
		}
	}
}

func TestParseURI(t *testing.T) {
	for uri, want := range map[string]string{
		"cloudtrail://us-east-1":            "us-east-1",
		"cloudtrail://us-east-1,eu-west-1/": "us-east-1 eu-west-1",
		"cloudtrail://us-east-1,us-east-1":  "us-east-1",
	} {
		rs, all, err := ParseURI(uri)
		if err != nil || all || strings.Join(rs, " ") != want {
			t.Errorf("%s: %v %v %v", uri, rs, all, err)
		}
	}
	rs, all, err := ParseURI("cloudtrail://all")
	if err != nil || !all || !slices.Contains(rs, "ap-northeast-1") {
		t.Errorf("all: %v %v", rs, err)
	}
	if _, _, err := ParseURI("cloudtrail://"); err == nil || err.Error() != `"cloudtrail://": "" is not a region (want cloudtrail://us-east-1, cloudtrail://us-east-1,eu-west-1 or cloudtrail://all)` {
		t.Errorf("%v", err)
	}
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{"cloudtrail://all", "cloudtrail://us-east-1,eu-west-1", "cloudtrail://", "cloudtrail://a--b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, _, err := ParseURI(s)
		if err != nil {
			return
		}
		for _, r := range rs {
			if !validRegion(r) || strings.ContainsAny(r, "/,:") {
				t.Errorf("%q gave region %q", s, r)
			}
		}
	})
}
