package email

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/notify/notifytest"
	"github.com/trailwatch/trailwatch/internal/render"
)

const awsSecret = "aws-s3cr3t-k3y-d1st1nct"

// fakeSES speaks the SES v2 REST-JSON protocol for SendEmail.
type fakeSES struct {
	t      *testing.T
	mu     sync.Mutex
	errs   []string // scripted error types: TooManyRequestsException, MessageRejected
	bodies []map[string]any
}

func (f *fakeSES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != "POST" || r.URL.Path != "/v2/email/outbound-emails" {
		f.t.Errorf("request %s %s", r.Method, r.URL.Path)
	}
	if !strings.Contains(r.Header.Get("Authorization"), "/us-east-1/ses/aws4_request") {
		f.t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
	}
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		f.t.Errorf("body %s: %v", b, err)
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, m)
	var code string
	if len(f.errs) > 0 {
		code, f.errs = f.errs[0], f.errs[1:]
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch code {
	case "":
		_, _ = io.WriteString(w, `{"MessageId":"0100018b-test"}`)
	case "TooManyRequestsException":
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(429)
		_, _ = io.WriteString(w, `{"message":"Too many requests"}`)
	default:
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(400)
		_, _ = io.WriteString(w, `{"message":"Email address is not verified."}`)
	}
}

func newSESClient(t *testing.T, f *fakeSES) (*sesv2.Client, *httptest.Server) {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return sesv2.New(sesv2.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", awsSecret, ""),
		BaseEndpoint:     aws.String(srv.URL),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	}), srv
}

func mailPayload() *render.Payload {
	return &render.Payload{
		Receiver: "ops-mail", Kind: "email",
		Subject: "[重大] ルートユーザーがコンソールにサインインしました",
		Text:    "ルートユーザーがサインインしました。\nfrom 192.0.2.1\n.\nend",
		HTML:    "<p>ルートユーザーが<b>サインイン</b>しました。</p>",
	}
}

func TestSESSendEmail(t *testing.T) {
	f := &fakeSES{t: t}
	c, _ := newSESClient(t, f)
	n, err := NewSES(SESOptions{Client: c, From: "trailwatch <alerts@example.com>", To: []string{"sec@example.com", "Ops <ops@example.com>"}, CC: []string{"audit@example.com"}, ConfigurationSet: "alerts"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Notify(context.Background(), mailPayload(), notifytest.Group("ops-mail")); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(f.bodies[0])
	want := `{"ConfigurationSetName":"alerts","Content":{"Simple":{"Body":{"Html":{"Charset":"UTF-8","Data":"\u003cp\u003eルートユーザーが\u003cb\u003eサインイン\u003c/b\u003eしました。\u003c/p\u003e"},"Text":{"Charset":"UTF-8","Data":"ルートユーザーがサインインしました。\nfrom 192.0.2.1\n.\nend"}},"Subject":{"Charset":"UTF-8","Data":"[重大] ルートユーザーがコンソールにサインインしました"}}},"Destination":{"CcAddresses":["audit@example.com"],"ToAddresses":["sec@example.com","\"Ops\" \u003cops@example.com\u003e"]},"FromEmailAddress":"\"trailwatch\" \u003calerts@example.com\u003e"}`
	if string(got) != want {
		t.Errorf("request\n got: %s\nwant: %s", got, want)
	}
}

func TestSESFailures(t *testing.T) {
	f := &fakeSES{t: t, errs: []string{"TooManyRequestsException"}}
	c, srv := newSESClient(t, f)
	n, _ := NewSES(SESOptions{Client: c, From: "alerts@example.com", To: []string{"sec@example.com"}})
	clock := notifytest.NewClock()
	ctx := context.Background()
	if err := clock.Retrier(nil).Deliver(ctx, n, mailPayload(), notifytest.Group("ops-mail")); err != nil || len(f.bodies) != 2 {
		t.Fatalf("throttled then success: %v after %d requests", err, len(f.bodies))
	}
	var out []string
	f.errs = []string{"MessageRejected"}
	err := clock.Retrier(nil).Deliver(ctx, n, mailPayload(), notifytest.Group("ops-mail"))
	var de *notify.DeliveryError
	if !errors.As(err, &de) || !de.Permanent || !strings.Contains(err.Error(), "ses send from alerts@example.com failed") || !strings.Contains(err.Error(), "MessageRejected") {
		t.Errorf("rejected: %v", err)
	} else {
		out = append(out, err.Error())
	}
	srv.Close()
	r := clock.Retrier(nil)
	r.MaxAttempts = 2
	if err := r.Deliver(ctx, n, mailPayload(), notifytest.Group("ops-mail")); !errors.As(err, &de) || de.Permanent || de.Attempts != 2 {
		t.Errorf("network: %v", err)
	} else {
		out = append(out, err.Error())
	}
	notifytest.Leaks(t, []string{awsSecret}, out...)

	inj := mailPayload()
	inj.Subject = "alert\r\nBcc: evil@example.com"
	n2, _ := NewSES(SESOptions{Client: c, From: "alerts@example.com", To: []string{"sec@example.com"}})
	if retry, err := n2.Notify(ctx, inj, nil); retry || err == nil || err.Error() != "ses subject holds a line break or NUL; refusing to send it as a header" {
		t.Errorf("injection: %v %v", retry, err)
	}
}

func TestAddressErrors(t *testing.T) {
	c := sesv2.New(sesv2.Options{Region: "us-east-1"})
	for _, tt := range []struct {
		o    SESOptions
		want string
	}{
		{SESOptions{From: "a@example.com", To: []string{"b@example.com"}}, "ses: no SES client"},
		{SESOptions{Client: c, From: "a@example.com"}, "ses: no to address"},
		{SESOptions{Client: c, From: "a@example.com\r\nBcc: evil@example.com", To: []string{"b@example.com"}}, `ses: from address "a@example.com\r\nBcc: evil@example.com" holds a line break`},
		{SESOptions{Client: c, From: "a@example.com", To: []string{"b@example.com\nBcc: evil@example.com"}}, `ses: to address "b@example.com\nBcc: evil@example.com" holds a line break`},
		{SESOptions{Client: c, From: "a@example.com", To: []string{"b@example.com"}, CC: []string{"not an address"}}, `ses: cc address "not an address" is not an email address: mail: no angle-addr`},
	} {
		if _, err := NewSES(tt.o); err == nil || err.Error() != tt.want {
			t.Errorf("NewSES = %v, want %s", err, tt.want)
		}
	}
}
