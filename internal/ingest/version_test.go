package ingest

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// TestNotificationVersionIsRead: an S3 notification naming a versionId is
// read at that version, so a log file overwritten after CloudTrail wrote
// it (by whoever may write to the bucket) is read as CloudTrail wrote it.
func TestNotificationVersionIsRead(t *testing.T) {
	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	const bucket, key = "org-trail", "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/f.json.gz"
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	if err := backend.SetVersioningConfiguration(bucket, gofakes3.VersioningConfiguration{Status: gofakes3.VersioningEnabled}); err != nil {
		t.Fatal(err)
	}
	real := mustRead(t, invictusFile)
	put, err := backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(real), int64(len(real)), nil)
	if err != nil || put.VersionID == "" {
		t.Fatalf("put: %v, version %q", err, put.VersionID)
	}
	forged := []byte(`{"Records":[{"eventVersion":"1.08","eventID":"forged","eventName":"ListBuckets","eventSource":"s3.amazonaws.com"}]}`)
	if _, err := backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(forged), int64(len(forged)), nil); err != nil {
		t.Fatal(err)
	}
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	r := New(Options{Fetcher: NewS3Fetcher(client)})
	notification := `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventName":"ObjectCreated:Put",` +
		`"s3":{"bucket":{"name":"` + bucket + `"},"object":{"key":"` + key + `","versionId":"` + string(put.VersionID) + `"}}}]}`
	c := payload(t, r, "s3-notification", []byte(notification))
	if n := invictusCount(t, invictusFile); len(c.events) != n || c.errs() != 0 {
		t.Fatalf("read %d events (%v %v); want the %d of the version the notification named", len(c.events), c.records, c.inputs, n)
	}
	// Without a versionId the key's current object is read, as before.
	c = payload(t, r, "s3-notification", []byte(s3Notification(bucket, key)))
	if len(c.events) != 1 || c.events[0].ID() != "forged" {
		t.Fatalf("without a version: %d events", len(c.events))
	}
}
