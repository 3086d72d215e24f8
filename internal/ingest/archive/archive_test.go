package archive

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/ingest"
)

const (
	bucket  = "org-trail"
	orgRoot = "ct/AWSLogs/o-abcdef1234/" // a Control Tower style key prefix
	acctA   = "111111111111"
	acctB   = "222222222222"
	acctC   = "333333333333"
	acctD   = "444444444444" // a plain account trail at the bucket root
)

// treeFile is one object of the test tree, described independently of the
// code under test.
type treeFile struct {
	key             string
	account, region string
	delivered       time.Time
	events          int
}

// tree is several accounts, regions and days of log files, two deliveries
// a day (00:05 and 23:55 UTC), with digests, another service's logs, a
// truncated object and one that cannot be read.
type tree struct {
	files  []treeFile
	broken string // truncated gzip
	denied string // GetObject answers AccessDenied
}

// shared is the fake S3 holding the tree, built once for the tests that
// read it (none of them changes it).
var shared struct {
	once sync.Once
	f    *fakeS3
	tr   tree
}

// sharedTree returns the fake and its tree, with the request log cleared.
func sharedTree(t *testing.T) (*fakeS3, tree) {
	shared.once.Do(func() {
		shared.f = newFakeS3(&onceTB{T: t}, bucket)
		shared.tr = buildTree(t, shared.f)
	})
	shared.f.reset()
	return shared.f, shared.tr
}

// onceTB keeps the shared fake alive past the first test that builds it;
// the process exit closes its listener.
type onceTB struct{ *testing.T }

func (onceTB) Cleanup(func()) {}

func buildTree(t testing.TB, f *fakeS3) tree {
	t.Helper()
	var tr tree
	day0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	add := func(root, account, region string, at time.Time) {
		key := trailKey(root, account, region, at, fmt.Sprintf("id%d", len(tr.files)))
		f.put(t, bucket, key, logFile(t, key, account, region, at, 3))
		tr.files = append(tr.files, treeFile{key, account, region, at, 3})
	}
	for _, account := range []string{acctA, acctB, acctC} {
		for _, region := range []string{"ap-northeast-1", "eu-west-1", "us-east-1"} {
			for d := range 5 {
				day := day0.AddDate(0, 0, d)
				add(orgRoot, account, region, day.Add(5*time.Minute))
				add(orgRoot, account, region, day.Add(23*time.Hour+55*time.Minute))
				f.put(t, bucket, digestKey(orgRoot, account, region, day.Add(time.Hour)), []byte(`{"digestStartTime":"x"}`))
			}
		}
		f.put(t, bucket, orgRoot+account+"/vpcflowlogs/us-east-1/2024/05/02/flow.log.gz", []byte("not cloudtrail"))
	}
	for d := range 5 {
		add("AWSLogs/", acctD, "us-east-1", day0.AddDate(0, 0, d).Add(12*time.Hour))
	}
	// A truncated object and a forbidden one, both in range of the
	// narrowed test below.
	tr.broken = trailKey(orgRoot, acctA, "us-east-1", day0.AddDate(0, 0, 2).Add(12*time.Hour), "broken")
	full := logFile(t, tr.broken, acctA, "us-east-1", day0.AddDate(0, 0, 2).Add(12*time.Hour), 50)
	f.put(t, bucket, tr.broken, full[:len(full)/2])
	tr.denied = trailKey(orgRoot, acctB, "eu-west-1", day0.AddDate(0, 0, 2).Add(12*time.Hour), "denied")
	f.put(t, bucket, tr.denied, logFile(t, tr.denied, acctB, "eu-west-1", day0.AddDate(0, 0, 2).Add(12*time.Hour), 3))
	f.denied[tr.denied] = true
	return tr
}

// collected is what one Events run yielded.
type collected struct {
	ids    []string // event ids in order
	inputs []string // inputs of the events, in order, deduplicated runs
	errs   []error
}

func run(t *testing.T, s *Source, uri string) collected {
	t.Helper()
	b, p, err := ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	var c collected
	for ev, err := range s.Events(context.Background(), b, p) {
		if err != nil {
			c.errs = append(c.errs, err)
			continue
		}
		c.ids = append(c.ids, ev.ID())
		if in := ev.Origin().Input; len(c.inputs) == 0 || c.inputs[len(c.inputs)-1] != in {
			c.inputs = append(c.inputs, in)
		}
	}
	return c
}

// TestNarrowedListingReadsExactlyTheObjectsInRange runs the listing with
// account, region and time filters over the tree, and checks in the fake's
// request log that exactly the objects in range were read, that no folder
// of another account, region, digest or service was listed, and that the
// broken and forbidden objects are named while the rest is read.
func TestNarrowedListingReadsExactlyTheObjectsInRange(t *testing.T) {
	f, tr := sharedTree(t)
	since := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
	until := time.Date(2024, 5, 4, 0, 0, 0, 0, time.UTC)

	// Expected, from the tree's own description: accounts A and B, regions
	// eu-west-1 and us-east-1, files delivered in the minute of since or
	// later, and no later than an hour after until.
	var want []string
	for _, tf := range tr.files {
		if (tf.account == acctA || tf.account == acctB) && (tf.region == "eu-west-1" || tf.region == "us-east-1") &&
			!tf.delivered.Before(since) && !tf.delivered.After(until.Add(time.Hour)) {
			want = append(want, tf.key)
		}
	}
	want = append(want, tr.broken, tr.denied)
	slices.Sort(want)
	if len(want) != 22 {
		t.Fatalf("the tree has %d objects in range, want 22: the test's own arithmetic is off", len(want))
	}

	for _, conc := range []int{1, 4} {
		t.Run(fmt.Sprintf("concurrency %d", conc), func(t *testing.T) {
			f.reset()
			s, err := New(f.client, Options{
				Accounts: []string{acctB, acctA}, Regions: []string{"us-east-1", "eu-west-1"},
				Since: since, Until: until, Concurrency: conc,
			})
			if err != nil {
				t.Fatal(err)
			}
			c := run(t, s, "s3://"+bucket+"/ct/")
			gets, lists := f.log()
			slices.Sort(gets)
			if !slices.Equal(gets, want) {
				t.Errorf("objects read:\n%s\nwant:\n%s", strings.Join(gets, "\n"), strings.Join(want, "\n"))
			}
			for _, l := range lists {
				for _, bad := range []string{acctC, "ap-northeast-1", "Digest", "vpcflowlogs", "2024/05/01/"} {
					if strings.Contains(l, bad) {
						t.Errorf("listed %q, which cannot hold an object in range (%s)", l, bad)
					}
				}
			}
			// Region folders are listed from the first day in range, so
			// earlier days are never even listed.
			regionLists := 0
			for _, l := range lists {
				prefix, _, _ := strings.Cut(l, "|")
				if strings.HasSuffix(prefix, "-1/") {
					regionLists++
					if !strings.HasSuffix(l, "||"+prefix+"2024/05/02") {
						t.Errorf("region listing %q does not start after the day before --since", l)
					}
				}
			}
			if regionLists != 4 {
				t.Errorf("%d region listings, want 4 (2 accounts, 2 regions)", regionLists)
			}
			// The org folder is not listed at all: named accounts are
			// visited directly.
			if slices.ContainsFunc(lists, func(l string) bool { return strings.HasPrefix(l, orgRoot+"|") }) {
				t.Errorf("listed the organization folder although accounts were named: %q", lists)
			}
			t.Logf("%d listings: %q", len(lists), lists)

			// Events come in key order, objects whole; the broken and
			// forbidden objects are named.
			var wantInputs []string
			for _, k := range want {
				if k != tr.denied {
					wantInputs = append(wantInputs, "s3://"+bucket+"/"+k)
				}
			}
			if !slices.Equal(c.inputs, wantInputs) {
				t.Errorf("events came from\n%s\nwant\n%s", strings.Join(c.inputs, "\n"), strings.Join(wantInputs, "\n"))
			}
			if n := len(c.ids) - 20*3; n < 1 || n > 49 {
				t.Errorf("%d events, want 60 from 20 files of 3 and the first part of the truncated one's 50", len(c.ids))
			}
			assertErrors(t, c.errs, tr)
		})
	}
}

// assertErrors checks the errors of the narrowed run: the truncated object,
// the forbidden one, then the summary naming both.
func assertErrors(t *testing.T, errs []error, tr tree) {
	t.Helper()
	var brokenSeen, deniedSeen bool
	var summary *IncompleteError
	for _, err := range errs {
		msg := err.Error()
		var ie *IncompleteError
		switch {
		case errors.As(err, &ie):
			summary = ie
			var in *ingest.InputError
			if !errors.As(err, &in) || in.Input != "s3://"+bucket+"/ct/" {
				t.Errorf("summary error %q does not name the prefix", msg)
			}
		case strings.HasPrefix(msg, "s3://"+bucket+"/"+tr.broken+" "):
			brokenSeen = strings.Contains(msg, "truncated")
			var re *ingest.RecordError
			if !errors.As(err, &re) {
				t.Errorf("truncated object: %T %q, want a RecordError", err, msg)
			}
		case strings.HasPrefix(msg, "s3://"+bucket+"/"+tr.denied+": "):
			deniedSeen = strings.Contains(msg, "AccessDenied")
			var in *ingest.InputError
			if !errors.As(err, &in) {
				t.Errorf("forbidden object: %T %q, want an InputError", err, msg)
			}
		default:
			t.Errorf("unexpected error %q", msg)
		}
	}
	if !brokenSeen || !deniedSeen {
		t.Errorf("errors %q: want the truncated and the forbidden object named", errs)
	}
	if summary == nil || summary.Failed != 2 || summary.Total != 22 || len(summary.Objects) != 2 {
		t.Fatalf("summary %+v, want 2 of 22 failed and named", summary)
	}
	if !strings.Contains(summary.Error(), "2 of 22 log files were not read completely") ||
		!strings.Contains(summary.Error(), "s3://"+bucket+"/"+tr.broken) {
		t.Errorf("summary reads %q", summary.Error())
	}
}

// TestWholeTree reads everything: both layouts (the Control Tower prefix
// and a plain account trail at the root) are found, digests and other
// services' logs are never read.
func TestWholeTree(t *testing.T) {
	f, tr := sharedTree(t)
	s, err := New(f.client, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := run(t, s, "s3://"+bucket)
	gets, _ := f.log()
	if len(gets) != len(tr.files)+2 {
		t.Errorf("read %d objects, want %d", len(gets), len(tr.files)+2)
	}
	for _, g := range gets {
		if strings.Contains(g, "Digest") || strings.Contains(g, "vpcflowlogs") {
			t.Errorf("read %s", g)
		}
	}
	if !slices.IsSorted(c.inputs) {
		t.Errorf("objects not read in key order")
	}
	if n := len(c.ids) - len(tr.files)*3; n < 1 || n > 49 {
		t.Errorf("%d events, want %d and part of the truncated file", len(c.ids), len(tr.files)*3)
	}
}

// TestFolderForms: an account, a region and a day folder given directly are
// read the same way, and a prefix without the trailing slash is a folder.
func TestFolderForms(t *testing.T) {
	f, _ := sharedTree(t)
	s, err := New(f.client, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		prefix string
		files  int
	}{
		{orgRoot + acctC, 30},
		{orgRoot + acctC + "/CloudTrail/eu-west-1/", 10},
		{orgRoot + acctC + "/CloudTrail/eu-west-1/2024/05/03/", 2},
		{"AWSLogs/" + acctD + "/CloudTrail", 5},
	} {
		f.reset()
		c := run(t, s, "s3://"+bucket+"/"+tc.prefix)
		if len(c.inputs) != tc.files || len(c.errs) != 0 {
			t.Errorf("%s: %d files, errors %v; want %d", tc.prefix, len(c.inputs), c.errs, tc.files)
		}
	}
	c := run(t, s, "s3://"+bucket+"/"+orgRoot+acctC+"/vpcflowlogs/")
	if len(c.errs) != 1 || !strings.Contains(c.errs[0].Error(), "not a CloudTrail folder") {
		t.Errorf("another service's folder: %v", c.errs)
	}
	// A folder named outside the filters is not listed at all.
	narrow, err := New(f.client, Options{Accounts: []string{acctA}, Regions: []string{"us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{orgRoot + acctC + "/", orgRoot + acctA + "/CloudTrail/eu-west-1/"} {
		f.reset()
		c := run(t, narrow, "s3://"+bucket+"/"+prefix)
		gets, lists := f.log()
		var skip *ingest.SkipError
		if len(c.ids)+len(gets)+len(lists) != 0 || len(c.errs) != 1 || !errors.As(c.errs[0], &skip) ||
			c.errs[0].Error() != "skipped s3://"+bucket+"/"+prefix+": no CloudTrail log file in range under this prefix" {
			t.Errorf("%s: %d events, errors %v, %d reads, listings %q", prefix, len(c.ids), c.errs, len(gets), lists)
		}
	}
}

// TestOrderSameWhateverConcurrency: the event sequence is the same with 1
// and 8 downloads at once.
func TestOrderSameWhateverConcurrency(t *testing.T) {
	f, _ := sharedTree(t)
	var seqs [][]string
	for _, conc := range []int{1, 8} {
		s, err := New(f.client, Options{Concurrency: conc, Accounts: []string{acctA}})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, run(t, s, "s3://"+bucket+"/ct/").ids)
	}
	if len(seqs[0]) == 0 || !slices.Equal(seqs[0], seqs[1]) {
		t.Errorf("sequences differ: %d and %d events", len(seqs[0]), len(seqs[1]))
	}
}

// TestStopEarly: a consumer that stops leaves no goroutine behind and no
// download running.
func TestStopEarly(t *testing.T) {
	f, _ := sharedTree(t)
	s, err := New(f.client, Options{Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ev, err := range s.Events(context.Background(), bucket, "ct/") {
		if err == nil && ev != nil {
			if n++; n == 10 {
				break
			}
		}
	}
	if n != 10 {
		t.Fatalf("read %d events", n)
	}
	gets, _ := f.log()
	if len(gets) > 4+8 {
		t.Errorf("%d objects requested for 10 events with 8 at once", len(gets))
	}
}

// TestProgress: every object in range is announced, then reported done
// with its error.
func TestProgress(t *testing.T) {
	f, tr := sharedTree(t)
	p := &recorder{}
	s, err := New(f.client, Options{Accounts: []string{acctA}, Regions: []string{"us-east-1"}, Progress: p})
	if err != nil {
		t.Fatal(err)
	}
	run(t, s, "s3://"+bucket+"/ct/")
	if p.listed != 11 || p.done != 11 || len(p.failed) != 1 || p.failed[0] != tr.broken {
		t.Errorf("progress: listed %d, done %d, failed %v", p.listed, p.done, p.failed)
	}
	if p.bytes == 0 {
		t.Error("no sizes reported")
	}
}

type recorder struct {
	mu            sync.Mutex
	listed, done  int
	bytes         int64
	failed        []string
	doneBeforeAll bool
}

func (r *recorder) Listed(o Object) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listed++
	r.bytes += o.Size
}

func (r *recorder) Done(o Object, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done++
	if err != nil {
		r.failed = append(r.failed, o.Key)
	}
}

// TestListingFailure: a listing that fails is named, the walk goes on, and
// the summary counts it.
func TestListingFailure(t *testing.T) {
	f, _ := sharedTree(t)
	s, err := New(f.client, Options{Regions: []string{"us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	c := run(t, s, "s3://no-such-bucket/AWSLogs/")
	if len(c.errs) != 2 || !strings.Contains(c.errs[0].Error(), "ListObjectsV2 failed") ||
		!strings.Contains(c.errs[1].Error(), "1 listings failed") {
		t.Errorf("errors %q", c.errs)
	}
}

func TestOptionsErrors(t *testing.T) {
	f := newFakeS3(t)
	t0 := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Concurrency: 65}, "archive: concurrency 65 is out of range (1 to 64)"},
		{Options{Concurrency: -1}, "archive: concurrency -1 is out of range (1 to 64)"},
		{Options{Accounts: []string{"12345"}}, `archive: account "12345" is not a 12-digit AWS account id`},
		{Options{Regions: []string{"us-east-1/../x"}}, `archive: region "us-east-1/../x" is not a region name such as us-east-1`},
		{Options{Since: t0, Until: t0}, "archive: the time range ends (2024-05-02T00:00:00Z) before it starts (2024-05-02T00:00:00Z)"},
	} {
		_, err := New(f.client, tc.o)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
	}
}

func TestIsPrefixAndParseURI(t *testing.T) {
	for uri, want := range map[string]bool{
		"s3://b":                               true,
		"s3://b/":                              true,
		"s3://b/AWSLogs":                       true,
		"s3://b/AWSLogs/":                      true,
		"s3://b/AWSLogs/1/x.json":              false,
		"s3://b/k.json.gz":                     false,
		"s3://b/x/CloudTrail-Digest/d.json.gz": false,
		"/local/path":                          false,
	} {
		if got := IsPrefix(uri); got != want {
			t.Errorf("IsPrefix(%q) = %v", uri, got)
		}
	}
	for uri, want := range map[string]string{
		"s3://b":            "b|",
		"s3://b/":           "b|",
		"s3://b/AWSLogs":    "b|AWSLogs/",
		"s3://b/a/AWSLogs/": "b|a/AWSLogs/",
	} {
		b, p, err := ParseURI(uri)
		if err != nil || b+"|"+p != want {
			t.Errorf("ParseURI(%q) = %q %q %v", uri, b, p, err)
		}
	}
	if _, _, err := ParseURI("s3:///x"); err == nil || err.Error() != `"s3:///x" names no bucket (want s3://bucket/prefix/)` {
		t.Errorf("err %v", err)
	}
}

func TestLocate(t *testing.T) {
	for f, want := range map[string]place{
		"":                                   {level: levelAbove},
		"custom/":                            {level: levelAbove},
		"NotAWSLogs/":                        {level: levelAbove},
		"AWSLogs/":                           {level: levelAWSLogs},
		"o-abcdef1234/AWSLogs/":              {level: levelAWSLogs},
		"AWSLogs/o-abcdef1234/":              {level: levelOrg},
		"AWSLogs/111111111111/":              {level: levelAccount, account: "111111111111"},
		"AWSLogs/o-abcdef1234/111111111111/": {level: levelAccount, account: "111111111111"},
		"AWSLogs/111111111111/CloudTrail/":   {level: levelService, account: "111111111111"},
		"AWSLogs/111111111111/CloudTrail-Digest/":                {level: levelOther, account: "111111111111"},
		"AWSLogs/111111111111/CloudTrail/us-east-1/":             {levelRegion, "AWSLogs/111111111111/CloudTrail/us-east-1/", "111111111111", "us-east-1"},
		"a/AWSLogs/o-abcdef1234/1/CloudTrail/eu-west-1/2024/05/": {levelRegion, "a/AWSLogs/o-abcdef1234/1/CloudTrail/eu-west-1/", "1", "eu-west-1"},
	} {
		if got := locate(f); got != want {
			t.Errorf("locate(%q) = %+v, want %+v", f, got, want)
		}
	}
}

func TestParseLogName(t *testing.T) {
	n, err := parseLogName("218007301253_CloudTrail_us-east-1_20230710T1230Z_KV9LZlfXqBel7nqf.json.gz")
	if err != nil || n.Account != "218007301253" || n.Region != "us-east-1" || !n.Time.Equal(time.Date(2023, 7, 10, 12, 30, 0, 0, time.UTC)) {
		t.Errorf("%+v %v", n, err)
	}
	for _, bad := range []string{"", "x.json.gz", "2180_CloudTrail_us-east-1_20230710T1230Z_a.json.gz", "218007301253_CloudTrail_us-east-1_2023_a.json.gz"} {
		if _, err := parseLogName(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
