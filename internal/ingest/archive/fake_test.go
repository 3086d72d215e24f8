package archive

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fastjson"

	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
)

// fakeS3 is gofakes3 behind a handler that logs every request, so a test
// can see exactly which prefixes were listed and which objects were read.
type fakeS3 struct {
	backend *s3mem.Backend
	srv     *httptest.Server
	client  *s3.Client

	mu     sync.Mutex
	gets   []string // object keys read with GetObject, in request order
	lists  []string // "prefix|delimiter|start-after" of each ListObjectsV2
	denied map[string]bool
}

func newFakeS3(t testing.TB, buckets ...string) *fakeS3 {
	t.Helper()
	f := &fakeS3{backend: s3mem.New(), denied: map[string]bool{}}
	inner := gofakes3.New(f.backend).Server()
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		q := r.URL.Query()
		if r.Method == http.MethodGet && q.Get("list-type") == "2" {
			f.mu.Lock()
			f.lists = append(f.lists, q.Get("prefix")+"|"+q.Get("delimiter")+"|"+q.Get("start-after"))
			f.mu.Unlock()
		} else if r.Method == http.MethodGet && key != "" {
			f.mu.Lock()
			f.gets = append(f.gets, key)
			denied := f.denied[key]
			f.mu.Unlock()
			if denied {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><Resource>/%s/%s</Resource></Error>`, bucket, key)
				return
			}
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	f.client = newClient(f.srv.URL)
	for _, b := range buckets {
		if err := f.backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// newClient returns an S3 client of the fake at url.
func newClient(url string) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(url),
		UsePathStyle: true,
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		// Objects uploaded without checksums are normal.
		DisableLogOutputChecksumValidationSkipped: true,
	})
}

func (f *fakeS3) put(t testing.TB, bucket, key string, body []byte) {
	t.Helper()
	if _, err := f.backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(body), int64(len(body)), nil); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// reset forgets the requests logged so far.
func (f *fakeS3) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets, f.lists = nil, nil
}

func (f *fakeS3) log() (gets, lists []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.gets...), append([]string(nil), f.lists...)
}

// logFile builds a gzipped CloudTrail log file of n real records (from the
// Invictus data set) rewritten to belong to account and region, with event
// times in the minutes before delivered and ids made from the key.
func logFile(t testing.TB, key, account, region string, delivered time.Time, n int) []byte {
	t.Helper()
	recs := ingesttest.InvictusRecords(t)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(`{"Records":[`))
	var p fastjson.Parser
	for i := range n {
		if i > 0 {
			zw.Write([]byte{','})
		}
		v, err := p.ParseBytes(recs[(len(key)+i)%len(recs)])
		if err != nil {
			t.Fatal(err)
		}
		at := delivered.Add(-time.Duration(n-i) * time.Second)
		v.Set("eventID", fastjson.MustParse(fmt.Sprintf("%q", fmt.Sprintf("%s#%d", key, i))))
		v.Set("eventTime", fastjson.MustParse(`"`+at.UTC().Format(time.RFC3339)+`"`))
		v.Set("recipientAccountId", fastjson.MustParse(`"`+account+`"`))
		v.Set("awsRegion", fastjson.MustParse(`"`+region+`"`))
		zw.Write(v.MarshalTo(nil))
	}
	zw.Write([]byte("]}\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// trailKey is where CloudTrail delivers a log file: under root (which ends
// in "AWSLogs/" or "AWSLogs/o-xxxx/"), with the delivery time in the name.
func trailKey(root, account, region string, delivered time.Time, id string) string {
	d := delivered.UTC()
	return fmt.Sprintf("%s%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz",
		root, account, region, d.Format("2006/01/02"), account, region, d.Format("20060102T1504Z"), id)
}

func digestKey(root, account, region string, delivered time.Time) string {
	d := delivered.UTC()
	return fmt.Sprintf("%s%s/CloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_trail_%s_%s.json.gz",
		root, account, region, d.Format("2006/01/02"), account, region, region, d.Format("20060102T150405Z"))
}
