package sns

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/notify/notifytest"
	"github.com/trailwatch/trailwatch/internal/render"
)

const (
	topic     = "arn:aws:sns:us-east-1:111122223333:trailwatch-alerts"
	fifoTopic = "arn:aws:sns:us-east-1:111122223333:trailwatch-alerts.fifo"
	awsSecret = "aws-s3cr3t-k3y-d1st1nct"
)

// fakeSNS speaks the AWS query protocol for Publish.
type fakeSNS struct {
	t      *testing.T
	mu     sync.Mutex
	errs   []int // HTTP status of scripted failures: 400 Throttled, 404 NotFound
	forms  []url.Values
	closed bool
}

func (f *fakeSNS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("bad form: %v", err)
	}
	if !strings.Contains(r.Header.Get("Authorization"), "Credential=AKIDTEST/") || !strings.Contains(r.Header.Get("Authorization"), "/us-east-1/sns/aws4_request") {
		f.t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
	}
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	var status int
	if len(f.errs) > 0 {
		status, f.errs = f.errs[0], f.errs[1:]
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	switch status {
	case 0:
		if r.PostForm.Get("Action") != "Publish" || r.PostForm.Get("Version") != "2010-03-31" {
			f.t.Errorf("form = %v", r.PostForm)
		}
		fmt.Fprint(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>94f20ce6-13c5-43a0-9a9e-ca52d816e90b</MessageId></PublishResult><ResponseMetadata><RequestId>f187a3c1-376f-11df-8963-01868b7c937a</RequestId></ResponseMetadata></PublishResponse>`)
	case 400:
		w.WriteHeader(400)
		fmt.Fprint(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>Throttled</Code><Message>Rate exceeded</Message></Error><RequestId>r1</RequestId></ErrorResponse>`)
	case 404:
		w.WriteHeader(404)
		fmt.Fprint(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>r2</RequestId></ErrorResponse>`)
	}
}

func (f *fakeSNS) all() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.forms...)
}

func newClient(t *testing.T, f *fakeSNS) (*sns.Client, *httptest.Server) {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return sns.New(sns.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", awsSecret, ""),
		BaseEndpoint:     aws.String(srv.URL),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1, // the Retrier retries
	}), srv
}

func payload() *render.Payload {
	return &render.Payload{
		Receiver: "ops-sns", Kind: "sns",
		Body:           []byte(`{"default":"Root user signed in","email":"Root user signed in\nfrom 192.0.2.1"}`),
		Subject:        "[CRITICAL] ルートユーザーがサインイン\r\nBcc: x@example.com",
		Text:           "Root user signed in\nfrom 192.0.2.1",
		Attributes:     map[string]string{"severity": "critical", "rule": "root-console-login", "empty": ""},
		ListAttributes: map[string][]string{"rules": {"root-console-login", "root-activity"}, "none": nil},
	}
}

func TestPublishText(t *testing.T) {
	f := &fakeSNS{t: t}
	c, _ := newClient(t, f)
	n, err := New(Options{Client: c, TopicARN: topic})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Notify(context.Background(), payload(), notifytest.Group("ops-sns")); err != nil {
		t.Fatal(err)
	}
	form := f.all()[0]
	want := map[string]string{
		"TopicArn":                       topic,
		"Message":                        "Root user signed in\nfrom 192.0.2.1",
		"Subject":                        "[CRITICAL] ルートユーザーがサインイン Bcc: x@example.com",
		"MessageAttributes.entry.1.Name": "rule",
		"MessageAttributes.entry.1.Value.DataType":    "String",
		"MessageAttributes.entry.1.Value.StringValue": "root-console-login",
		"MessageAttributes.entry.2.Name":              "rules",
		"MessageAttributes.entry.2.Value.DataType":    "String.Array",
		"MessageAttributes.entry.2.Value.StringValue": `["root-console-login","root-activity"]`,
		"MessageAttributes.entry.3.Name":              "severity",
		"MessageAttributes.entry.3.Value.StringValue": "critical",
		"MessageStructure":                            "",
		"MessageGroupId":                              "",
		"MessageAttributes.entry.4.Name":              "",
	}
	for k, v := range want {
		if form.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, form.Get(k), v)
		}
	}
}

func TestPublishJSONStructureAndFIFO(t *testing.T) {
	f := &fakeSNS{t: t}
	c, _ := newClient(t, f)
	n, err := New(Options{Client: c, TopicARN: fifoTopic, JSON: true})
	if err != nil {
		t.Fatal(err)
	}
	g := notifytest.Group("ops-sns")
	ctx := context.Background()
	p := payload()
	for range 2 {
		if _, err := n.Notify(ctx, p, g); err != nil {
			t.Fatal(err)
		}
	}
	p2 := payload()
	p2.Body = []byte(`{"default":"2 alerts"}`)
	if _, err := n.Notify(ctx, p2, g); err != nil {
		t.Fatal(err)
	}
	forms := f.all()
	sum := sha256.Sum256([]byte(g.Key))
	if forms[0].Get("MessageStructure") != "json" || forms[0].Get("Message") != string(p.Body) {
		t.Errorf("form = %v", forms[0])
	}
	for _, form := range forms {
		if form.Get("MessageGroupId") != hex.EncodeToString(sum[:]) {
			t.Errorf("MessageGroupId = %q", form.Get("MessageGroupId"))
		}
	}
	d0, d1, d2 := forms[0].Get("MessageDeduplicationId"), forms[1].Get("MessageDeduplicationId"), forms[2].Get("MessageDeduplicationId")
	if d0 == "" || d0 != d1 || d0 == d2 || len(d0) > 128 {
		t.Errorf("dedup ids: %q %q %q", d0, d1, d2)
	}
}

func TestPublishFailures(t *testing.T) {
	f := &fakeSNS{t: t, errs: []int{400, 400}}
	c, srv := newClient(t, f)
	n, _ := New(Options{Client: c, TopicARN: topic})
	clock := notifytest.NewClock()
	ctx := context.Background()
	if err := clock.Retrier(nil).Deliver(ctx, n, payload(), notifytest.Group("ops-sns")); err != nil {
		t.Fatalf("throttled then success: %v", err)
	}
	if len(f.all()) != 3 || len(clock.Waits()) != 2 {
		t.Errorf("requests = %d, waits = %v", len(f.all()), clock.Waits())
	}
	var out []string

	f.errs = []int{404}
	err := clock.Retrier(nil).Deliver(ctx, n, payload(), notifytest.Group("ops-sns"))
	var de *notify.DeliveryError
	if !errors.As(err, &de) || !de.Permanent || !strings.Contains(err.Error(), `receiver "ops-sns" (sns)`) || !strings.Contains(err.Error(), "sns publish to "+topic+" failed") || !strings.Contains(err.Error(), "Topic does not exist") {
		t.Errorf("not found: %v", err)
	} else {
		out = append(out, err.Error())
	}

	srv.Close()
	r := clock.Retrier(nil)
	r.MaxAttempts = 2
	err = r.Deliver(ctx, n, payload(), notifytest.Group("ops-sns"))
	if !errors.As(err, &de) || de.Permanent || de.Attempts != 2 {
		t.Errorf("network failure: %v", err)
	} else {
		out = append(out, err.Error())
	}
	notifytest.Leaks(t, []string{awsSecret}, out...)
}

func TestSubject(t *testing.T) {
	long := strings.Repeat("あ", 150)
	for in, want := range map[string]string{
		"Root signed in":            "Root signed in",
		"  a\r\nb\tc\x00d\u2028e  ": "a b c d e",
		long:                        strings.Repeat("あ", 96) + "...",
		strings.Repeat("a", 99):     strings.Repeat("a", 99),
		strings.Repeat("a", 100):    strings.Repeat("a", 96) + "...",
		"":                          "",
	} {
		if got := Subject(in); got != want {
			t.Errorf("Subject(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	c := sns.New(sns.Options{Region: "us-east-1"})
	for _, tt := range []struct {
		o    Options
		want string
	}{
		{Options{TopicARN: topic}, "sns: no SNS client"},
		{Options{Client: c, TopicARN: "trailwatch-alerts"}, `sns: topic "trailwatch-alerts" is not a topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)`},
	} {
		if _, err := New(tt.o); err == nil || err.Error() != tt.want {
			t.Errorf("New = %v, want %s", err, tt.want)
		}
	}
	n, _ := New(Options{Client: c, TopicARN: topic})
	if retry, err := n.Notify(context.Background(), &render.Payload{}, nil); retry || err == nil || err.Error() != "sns message is empty" {
		t.Errorf("empty: %v %v", retry, err)
	}
}
