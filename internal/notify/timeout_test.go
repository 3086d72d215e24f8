package notify_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/notify/notifytest"
	"github.com/trailwatch/trailwatch/internal/notify/slack"
	"github.com/trailwatch/trailwatch/internal/secret"
)

// hangingServer hangs the first hang requests until the client gives up,
// then answers "ok".
func hangingServer(t *testing.T, hang int32) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices the client leave only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		if calls.Add(1) <= hang {
			<-r.Context().Done()
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// TestHungAttemptIsRetried: a request that hangs past its attempt timeout is
// retried within the delivery's budget, not reported as permanent.
func TestHungAttemptIsRetried(t *testing.T) {
	r := &notify.Retrier{AttemptTimeout: 100 * time.Millisecond, MaxAttempts: 4, Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("then success", func(t *testing.T) {
		srv, calls := hangingServer(t, 2)
		n, err := slack.New(slack.Options{URL: secret.New(srv.URL + "/services/T000/B000/" + token), Client: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Deliver(ctx, n, payload, notifytest.Group("ops")); err != nil {
			t.Fatalf("delivery failed: %v", err)
		}
		if c := calls.Load(); c != 3 {
			t.Errorf("the server got %d requests, want 3", c)
		}
	})
	t.Run("every attempt hangs", func(t *testing.T) {
		srv, calls := hangingServer(t, 100)
		n, err := slack.New(slack.Options{URL: secret.New(srv.URL + "/services/T000/B000/" + token), Client: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		err = r.Deliver(ctx, n, payload, notifytest.Group("ops"))
		var de *notify.DeliveryError
		if !errors.As(err, &de) || de.Permanent || de.Attempts != 4 {
			t.Fatalf("err = %v", err)
		}
		if c := calls.Load(); c != 4 {
			t.Errorf("the server got %d requests, want 4", c)
		}
		for _, want := range []string{"gave up after 4 attempts", "the attempt timed out after 100ms"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if strings.Contains(err.Error(), "permanent") || strings.Contains(err.Error(), token) {
			t.Errorf("err = %v", err)
		}
	})
}
