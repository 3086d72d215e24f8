package sns

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/trailwatch/trailwatch/internal/notify/notifytest"
)

// TestHostileEchoIsRedacted: an endpoint that quotes the request's session
// token or secret key back in its error message, in any encoding, never gets
// them into the receiver's error.
func TestHostileEchoIsRedacted(t *testing.T) {
	notifytest.RunAWSEcho(t, awsSecret, func(w http.ResponseWriter, _ *http.Request, echo string) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(400)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>token %s is invalid</Message></Error><RequestId>r9</RequestId></ErrorResponse>`, html.EscapeString(echo))
	}, func(srv *httptest.Server) func() error {
		c := sns.New(sns.Options{
			Region:           "us-east-1",
			Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", awsSecret, notifytest.SessionToken),
			BaseEndpoint:     aws.String(srv.URL),
			HTTPClient:       srv.Client(),
			RetryMaxAttempts: 1,
		})
		n, err := New(Options{Client: c, TopicARN: topic})
		if err != nil {
			t.Fatal(err)
		}
		return func() error {
			_, err := n.Notify(context.Background(), payload(), notifytest.Group("ops-sns"))
			return err
		}
	})
}

// TestHungPublishIsRetried: a Publish that hangs past its attempt timeout
// is retried (the SDK calls the ended context permanent; the Retrier knows
// the attempt's own time ran out).
func TestHungPublishIsRetried(t *testing.T) {
	f := &fakeSNS{t: t}
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
			return
		}
		f.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c := sns.New(sns.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", awsSecret, ""),
		BaseEndpoint:     aws.String(srv.URL),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
	n, err := New(Options{Client: c, TopicARN: topic})
	if err != nil {
		t.Fatal(err)
	}
	clock := notifytest.NewClock()
	r := clock.Retrier(nil)
	r.AttemptTimeout = 100 * time.Millisecond
	if err := r.Deliver(context.Background(), n, payload(), notifytest.Group("ops-sns")); err != nil {
		t.Fatalf("a publish that hung once was not retried: %v", err)
	}
	if c := calls.Load(); c != 2 {
		t.Errorf("%d requests, want 2", c)
	}
}
