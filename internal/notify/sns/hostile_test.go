package sns

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/trailwatch/trailwatch/internal/notify/notifytest"
)

// sessionToken stands for the temporary credentials of a Lambda role.
const sessionToken = "FwoGZXIvYXdzEBYaDHs3ss10n-t0k3n-d1st1nct1ve-4f9a2c"

// TestHostileEchoIsRedacted: an endpoint that quotes the request's session
// token or secret key back in its error message, in any encoding, never gets
// them into the receiver's error.
func TestHostileEchoIsRedacted(t *testing.T) {
	bodies := notifytest.HostileBodies([]string{sessionToken, awsSecret}, func(s string) string { return s })
	var mu sync.Mutex
	i := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		echo := bodies[min(i, len(bodies)-1)]
		i++
		mu.Unlock()
		if r.Header.Get("X-Amz-Security-Token") != sessionToken {
			t.Errorf("the request carries no session token: %v", r.Header)
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(400)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>token %s is invalid</Message></Error><RequestId>r9</RequestId></ErrorResponse>`, html.EscapeString(echo))
	}))
	t.Cleanup(srv.Close)
	c := sns.New(sns.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", awsSecret, sessionToken),
		BaseEndpoint:     aws.String(srv.URL),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
	n, err := New(Options{Client: c, TopicARN: topic})
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	for range bodies {
		_, err := n.Notify(context.Background(), payload(), notifytest.Group("ops-sns"))
		if err == nil {
			t.Fatal("a refused publish was taken as a success")
		}
		outs = append(outs, err.Error())
	}
	notifytest.LeaksAnyForm(t, []string{sessionToken, awsSecret}, outs...)
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
