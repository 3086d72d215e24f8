package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/trailwatch/trailwatch/internal/ingest/archive"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2024, 5, 31, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                          {},
		"2024-05-01T09:00:00+09:00": time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
		"2024-05-01":                time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
		"30d":                       time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		"2w":                        time.Date(2024, 5, 17, 12, 0, 0, 0, time.UTC),
		"12h":                       time.Date(2024, 5, 31, 0, 0, 0, 0, time.UTC),
		"1h30m":                     time.Date(2024, 5, 31, 10, 30, 0, 0, time.UTC),
	} {
		got, err := parseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "30", "-3d", "d", "-1h", "2024-13-01", "99999999d"} {
		_, err := parseTime(bad, now)
		want := `"` + bad + `" is not a time: want RFC 3339 (2024-05-01T09:00:00Z), a date (2024-05-01) or a duration such as 30d or 12h`
		if err == nil || err.Error() != want {
			t.Errorf("parseTime(%q): %v", bad, err)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"30d", "2w", "12h", "2024-05-01", "2024-05-01T09:00:00+09:00", "1h30m", "", "d", "-5d"} {
		f.Add(s)
	}
	now := time.Date(2024, 5, 31, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTime(s, now)
		if err == nil && strings.TrimSpace(s) != "" && got.IsZero() {
			t.Errorf("parseTime(%q) gave no time and no error", s)
		}
		if err != nil && !strings.Contains(err.Error(), "is not a time") {
			t.Errorf("parseTime(%q): %v", s, err)
		}
	})
}

func TestInputFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--since", "soon"}, `--since: "soon" is not a time: want RFC 3339 (2024-05-01T09:00:00Z), a date (2024-05-01) or a duration such as 30d or 12h`},
		{[]string{"--since", "2024-05-02", "--until", "2024-05-01"}, "--until 2024-05-01T00:00:00Z is not after --since 2024-05-02T00:00:00Z"},
		{[]string{"--account", "1234"}, `--account "1234" is not a 12-digit AWS account id`},
		{[]string{"--region", "us-east-1/.."}, `--region "us-east-1/.." is not a region name such as us-east-1`},
		{[]string{"--concurrency", "0"}, "--concurrency 0 is out of range (1 to 64)"},
	} {
		_, errOut, code := runEvents(t, "", append(tc.args, "testdata/none")...)
		if code != 1 || errOut != "trailwatch: "+tc.want+"\n" {
			t.Errorf("%q: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
}

// TestSelectionNarrowsLocalFiles: --since, --until, --account and --region
// apply to files too.
func TestSelectionNarrowsLocalFiles(t *testing.T) {
	out, errOut, code := runEvents(t, "", "--format", "json", "--since", "2020-10-30", "--until", "2020-11-01", "../../testdata/sample/panther")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if !strings.Contains(l, `"time":"2020-10-3`) {
			t.Errorf("event out of range: %s", l)
		}
	}
	// The three failed root sign-ins of the attacker file.
	if len(lines) != 3 {
		t.Errorf("%d events between 2020-10-30 and 2020-11-01, want 3", len(lines))
	}
	out, _, _ = runEvents(t, "", "--format", "json", "--account", "493859302102", "--region", "us-east-1", "../../testdata/sample")
	if n := strings.Count(out, "\n"); n != 16 || strings.Count(out, `"account":"493859302102"`) != 16 {
		t.Errorf("--account: %d events, %d of the account; want the 16 Panther events", n, strings.Count(out, `"account":"493859302102"`))
	}
}

// s3Env points the default AWS configuration at an in-process S3 whose
// requests are logged.
type s3Env struct {
	backend *s3mem.Backend
	mu      sync.Mutex
	gets    []string
}

func newS3Env(t *testing.T, buckets ...string) *s3Env {
	t.Helper()
	e := &s3Env{backend: s3mem.New()}
	inner := gofakes3.New(e.backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if r.Method == http.MethodGet && key != "" && r.URL.Query().Get("list-type") == "" {
			e.mu.Lock()
			e.gets = append(e.gets, key)
			e.mu.Unlock()
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	for _, b := range buckets {
		if err := e.backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_S3":         srv.URL,
		"AWS_ENDPOINT_URL":            srv.URL,
		"AWS_ACCESS_KEY_ID":           "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":       "secret",
		"AWS_REGION":                  "us-east-1",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             filepath.Join(t.TempDir(), "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
	} {
		t.Setenv(k, v)
	}
	return e
}

func (e *s3Env) putFile(t *testing.T, bucket, key, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	e.put(t, bucket, key, b)
}

func (e *s3Env) put(t *testing.T, bucket, key string, b []byte) {
	t.Helper()
	if _, err := e.backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(b), int64(len(b)), nil); err != nil {
		t.Fatal(err)
	}
}

// sampleTrail puts the sample logs into a bucket as CloudTrail delivers
// them: the Panther victim file (events 2020-10-15 to 10-27), the attacker
// file (10-30 to 11-01), a truncated copy of it, and an Invictus file of
// another account.
func sampleTrail(t *testing.T, e *s3Env) (victim, attacker, broken, other string) {
	const root = "AWSLogs/493859302102/CloudTrail/us-east-1/"
	victim = root + "2020/10/27/493859302102_CloudTrail_us-east-1_20201027T0610Z_victim.json.gz"
	attacker = root + "2020/11/01/493859302102_CloudTrail_us-east-1_20201101T0835Z_attacker.json.gz"
	broken = root + "2020/11/01/493859302102_CloudTrail_us-east-1_20201101T0900Z_broken.json.gz"
	other = "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/218007301253_CloudTrail_us-east-1_20230710T1230Z_ZtUNbBkwAu98FPZb.json.gz"
	e.putFile(t, "trail", victim, "../../testdata/sample/panther/compromised-root-creds-victim.json.gz")
	e.putFile(t, "trail", attacker, "../../testdata/sample/panther/compromised-root-creds-attacker.json.gz")
	b, err := os.ReadFile("../../testdata/sample/panther/compromised-root-creds-attacker.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	e.put(t, "trail", broken, b[:len(b)-40])
	e.putFile(t, "trail", other, "../../testdata/sample/invictus/218007301253_CloudTrail_us-east-1_20230710T1230Z_ZtUNbBkwAu98FPZb.json.gz")
	return victim, attacker, broken, other
}

// TestCheckS3Prefix runs check over an S3 prefix narrowed by time, account
// and region: only the objects in range are read, the alerts are those of
// the events in range, and the truncated object is named, the rest read,
// and the exit status is 1.
func TestCheckS3Prefix(t *testing.T) {
	e := newS3Env(t, "trail")
	_, attacker, broken, _ := sampleTrail(t, e)
	out, errOut, code := runCmd(t, newCheckCmd(), "", "--packs", "root", "--format", "json",
		"--since", "2020-10-29", "--account", "493859302102", "--region", "us-east-1", "s3://trail/AWSLogs/")
	if code != 1 {
		t.Errorf("exit %d, want 1 (a truncated object)", code)
	}
	e.mu.Lock()
	gets := append([]string(nil), e.gets...)
	e.mu.Unlock()
	slices.Sort(gets) // downloads run concurrently
	if strings.Join(gets, " ") != attacker+" "+broken {
		t.Errorf("read %q, want only the attacker file and its truncated copy", gets)
	}
	if !strings.Contains(errOut, "trailwatch: s3://trail/"+broken+" record ") ||
		!strings.Contains(errOut, "trailwatch: s3://trail/AWSLogs/: 1 of 2 log files were not read completely") {
		t.Errorf("stderr %q", errOut)
	}
	if out == "" || strings.Contains(out, `"time":"2020-10-1`) || !strings.Contains(out, `"input":"s3://trail/`+attacker+`"`) {
		t.Errorf("alerts %q", out)
	}

	// --until before the attacker file: nothing but the victim file is
	// read, and nothing fails.
	e.mu.Lock()
	e.gets = nil
	e.mu.Unlock()
	_, errOut, code = runCmd(t, newCheckCmd(), "", "--packs", "root", "--until", "2020-10-28", "s3://trail/AWSLogs/493859302102")
	e.mu.Lock()
	gets = e.gets
	e.mu.Unlock()
	if code != 0 || len(gets) != 1 || !strings.Contains(gets[0], "victim") {
		t.Errorf("exit %d, read %q, stderr %q", code, gets, errOut)
	}
}

// TestEventsS3PrefixOneObjectStillWorks: s3://bucket/key.json.gz is still
// one object, not a listing.
func TestEventsS3PrefixOneObjectStillWorks(t *testing.T) {
	e := newS3Env(t, "trail")
	_, _, _, other := sampleTrail(t, e)
	out, errOut, code := runEvents(t, "", "s3://trail/"+other)
	if code != 0 || strings.Count(out, "\n") < 2 {
		t.Fatalf("exit %d, %q, %q", code, out, errOut)
	}
}

// TestReportLoginsFromEventHistory runs the login report over
// cloudtrail://us-east-1,eu-west-1 against an in-process CloudTrail that
// speaks LookupEvents (AWS JSON 1.1), two pages per region.
func TestReportLoginsFromEventHistory(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "CloudTrail_20131101.LookupEvents" {
			http.Error(w, "unexpected call", http.StatusBadRequest)
			return
		}
		region := "us-east-1"
		if strings.Contains(r.Header.Get("Authorization"), "/eu-west-1/") {
			region = "eu-west-1"
		}
		mu.Lock()
		calls[region]++
		mu.Unlock()
		var in struct{ NextToken string }
		json.NewDecoder(r.Body).Decode(&in)
		result := "Success"
		next := `,"NextToken":"page2"`
		if in.NextToken == "page2" {
			result, next = "Failure", ""
		}
		ev := fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2024-05-01T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":%q,"sourceIPAddress":"192.0.2.1","responseElements":{"ConsoleLogin":%q},"additionalEventData":{"MFAUsed":"No"},"eventID":"%s-%s","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}`, region, result, region, result)
		b, _ := json.Marshal(ev)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprintf(w, `{"Events":[{"EventId":"x","CloudTrailEvent":%s}]%s}`, b, next)
	}))
	defer srv.Close()
	newS3Env(t)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", srv.URL)
	out, errOut, code := runCmd(t, newRootCmd(), "", "report", "logins", "--format", "csv", "--since", "2024-04-01", "cloudtrail://us-east-1,eu-west-1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := strings.Count(out, "\n"); n != 5 || strings.Count(out, ",Failure,") != 2 {
		t.Errorf("CSV %q", out)
	}
	if calls["us-east-1"] != 2 || calls["eu-west-1"] != 2 {
		t.Errorf("calls %v", calls)
	}
	_, errOut, code = runCmd(t, newRootCmd(), "", "events", "--region", "ap-northeast-1", "cloudtrail://us-east-1")
	if code != 1 || !strings.Contains(errOut, "cloudtrail://us-east-1: none of its regions is among --region ap-northeast-1") {
		t.Errorf("exit %d, %q", code, errOut)
	}
}

// TestCheckConfigLearnFromS3Prefix: --learn reads an S3 prefix through the
// same narrowing, learns, alerts nothing, and still names the truncated
// object and exits 1.
func TestCheckConfigLearnFromS3Prefix(t *testing.T) {
	e := newS3Env(t, "trail")
	sampleTrail(t, e)
	slack := &slackStandIn{}
	srv := httptest.NewServer(slack)
	defer srv.Close()
	cfg := writeDeliveryConfig(t, srv.URL)
	out, errs, code := runCmd(t, newCheckCmd(), "", "--config", cfg, "--learn", "--since", "2020-10-29", "--account", "493859302102", "s3://trail/AWSLogs/")
	if code != 1 || out != "" || slack.count() != 0 {
		t.Fatalf("learn: exit %d, %d posts, stdout %q\n%s", code, slack.count(), out, errs)
	}
	if !strings.Contains(errs, "1 of 2 log files were not read completely") || !regexp.MustCompile(`\n(1[2-9]|2\d) events, 0 alerts`).MatchString(errs) {
		t.Errorf("stderr %s", errs)
	}
}

// TestObjectProgress: the progress line counts the log files of S3
// prefixes as the download goroutines report them.
func TestObjectProgress(t *testing.T) {
	var b bytes.Buffer
	now := time.Unix(1_700_000_000, 0)
	p := startProgress(&b, func() time.Time { return now }, false)
	p.Listed(archive.Object{Size: 3 << 20})
	p.Listed(archive.Object{Size: 1 << 20})
	p.Done(archive.Object{Size: 3 << 20}, nil)
	p.Done(archive.Object{Size: 1 << 20}, errors.New("truncated"))
	now = now.Add(2 * time.Second)
	p.tick()
	p.clear()
	got := b.String()
	if !strings.Contains(got, ", S3 log files 2 of 2 listed (4.0 of 4.0 MiB), 1 failed\x1b[K") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("drawn %q", got)
	}
	var nilp *progress
	nilp.Listed(archive.Object{Size: 1})
	nilp.Done(archive.Object{Size: 1}, nil)
	if isTerminal(&b) {
		t.Error("a buffer is not a terminal")
	}
}
