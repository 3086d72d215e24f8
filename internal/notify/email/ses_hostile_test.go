package email

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/trailwatch/trailwatch/internal/notify/notifytest"
)

const sessionToken = "FwoGZXIvYXdzEBYaDHs3ss10n-t0k3n-d1st1nct1ve-4f9a2c"

// TestSESHostileEchoIsRedacted: an endpoint that quotes the session token or
// secret key back in its error message never gets them into the error.
func TestSESHostileEchoIsRedacted(t *testing.T) {
	bodies := notifytest.HostileBodies([]string{sessionToken, awsSecret}, func(s string) string { return s })
	var mu sync.Mutex
	i := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		echo := bodies[min(i, len(bodies)-1)]
		i++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", "BadRequestException")
		w.WriteHeader(400)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": "token " + echo + " is invalid"})
	}))
	t.Cleanup(srv.Close)
	c := sesv2.New(sesv2.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", awsSecret, sessionToken),
		BaseEndpoint:     aws.String(srv.URL),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
	n, err := NewSES(SESOptions{Client: c, From: "alerts@example.com", To: []string{"sec@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	for range bodies {
		_, err := n.Notify(context.Background(), mailPayload(), notifytest.Group("ops-mail"))
		if err == nil {
			t.Fatal("a refused send was taken as a success")
		}
		outs = append(outs, err.Error())
	}
	notifytest.LeaksAnyForm(t, []string{sessionToken, awsSecret}, outs...)
}
