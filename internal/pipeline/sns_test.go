package pipeline

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/trailwatch/trailwatch/internal/event"
)

// TestSNSTopicInItsOwnRegion: a topic is published to in the region its
// ARN names, whatever region the function runs in.
func TestSNSTopicInItsOwnRegion(t *testing.T) {
	var mu sync.Mutex
	var scopes []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		// "AWS4-HMAC-SHA256 Credential=AKID/20231120/ap-northeast-1/sns/aws4_request, ..."
		auth := r.Header.Get("Authorization")
		if i := strings.Index(auth, "Credential="); i >= 0 {
			parts := strings.Split(strings.SplitN(auth[i:], ",", 2)[0], "/")
			if len(parts) >= 4 {
				scopes = append(scopes, parts[2]+"/"+parts[3])
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		w.Write([]byte(`<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`))
	}))
	defer srv.Close()

	deps := testDeps(t)
	deps.AWS = &aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
	}
	cfg := []byte(`rules:
  packs: [signin]
receivers:
  - name: cis
    sns:
      topic_arn: arn:aws:sns:ap-northeast-1:111122223333:security-alerts
route:
  receiver: cis
`)
	p, err := Build(context.Background(), cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var alerts []*event.Alert
	for _, ev := range events(t, "iam-user-console-login.json") {
		a, err := p.Alerts(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, a...)
	}
	if len(alerts) == 0 {
		t.Fatal("no alerts to deliver")
	}
	if failed, err := p.Deliver(context.Background(), alerts); err != nil || len(failed) > 0 {
		t.Fatalf("deliver: %d failed: %v", len(failed), err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(scopes) == 0 {
		t.Fatal("nothing was published")
	}
	for _, s := range scopes {
		if s != "ap-northeast-1/sns" {
			t.Fatalf("published with credential scope %s; want ap-northeast-1/sns", s)
		}
	}
}
