package email

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/trailwatch/trailwatch/internal/notify/notifytest"
)

// TestSESHostileEchoIsRedacted: an endpoint that quotes the session token or
// secret key back in its error message never gets them into the error.
func TestSESHostileEchoIsRedacted(t *testing.T) {
	notifytest.RunAWSEcho(t, awsSecret, func(w http.ResponseWriter, _ *http.Request, echo string) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", "BadRequestException")
		w.WriteHeader(400)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": "token " + echo + " is invalid"})
	}, func(srv *httptest.Server) func() error {
		c := sesv2.New(sesv2.Options{
			Region:           "us-east-1",
			Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", awsSecret, notifytest.SessionToken),
			BaseEndpoint:     aws.String(srv.URL),
			HTTPClient:       srv.Client(),
			RetryMaxAttempts: 1,
		})
		n, err := NewSES(SESOptions{Client: c, From: "alerts@example.com", To: []string{"sec@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		return func() error {
			_, err := n.Notify(context.Background(), mailPayload(), notifytest.Group("ops-mail"))
			return err
		}
	})
}
