package ingest

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// TestS3FetcherWithFakeS3 reads an S3 notification through the SDK client
// against an in-process S3.
func TestS3FetcherWithFakeS3(t *testing.T) {
	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()

	const bucket = "org-trail"
	const key = "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/218007301253_CloudTrail_us-east-1_20230710T1230Z_KV9LZlfXqBel7nqf.json.gz"
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	obj := mustRead(t, invictusFile)
	if _, err := backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(obj), int64(len(obj)), nil); err != nil {
		t.Fatal(err)
	}

	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	r := New(Options{Fetcher: NewS3Fetcher(client)})
	n := invictusCount(t, invictusFile)

	t.Run("events come through", func(t *testing.T) {
		c := payload(t, r, "s3-notification", []byte(s3Notification(bucket, key)))
		if len(c.events) != n || c.errs()+len(c.skips) != 0 {
			t.Fatalf("got %d events, %v %v %v; want %d", len(c.events), c.skips, c.records, c.inputs, n)
		}
		if o := c.events[0].Origin(); o.Input != "s3://"+bucket+"/"+key || o.Path != "s3" || o.Index != 0 {
			t.Errorf("origin %+v", o)
		}
	})
	t.Run("s3 path", func(t *testing.T) {
		c := collect(t, r.Paths(context.Background(), []string{"s3://" + bucket + "/" + key}))
		if len(c.events) != n || c.errs() != 0 {
			t.Fatalf("got %d events, %v %v", len(c.events), c.records, c.inputs)
		}
	})
	t.Run("missing object", func(t *testing.T) {
		c := payload(t, r, "s3-notification", []byte(s3Notification(bucket, "AWSLogs/1/CloudTrail/gone.json.gz")))
		if len(c.inputs) != 1 || len(c.events) != 0 {
			t.Fatalf("got %d events, %v %v", len(c.events), c.records, c.inputs)
		}
		if msg := c.inputs[0].Error(); !strings.HasPrefix(msg, "s3://"+bucket+"/AWSLogs/1/CloudTrail/gone.json.gz: ") || !strings.Contains(msg, "does not exist") {
			t.Errorf("error %q", msg)
		}
	})
	t.Run("digest key is skipped", func(t *testing.T) {
		c := payload(t, r, "s3-notification", []byte(s3Notification(bucket, "AWSLogs/1/CloudTrail-Digest/us-east-1/2023/07/10/d.json.gz")))
		if len(c.skips) != 1 || c.errs() != 0 || len(c.events) != 0 {
			t.Fatalf("%v %v %v", c.skips, c.records, c.inputs)
		}
	})
}
