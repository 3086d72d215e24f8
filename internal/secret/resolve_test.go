package secret

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// fakeAWS speaks the AWS JSON 1.1 protocol for the three operations the
// Resolver calls and records every request.
type fakeAWS struct {
	t     *testing.T
	calls atomic.Int64
	delay time.Duration

	mu       sync.Mutex
	requests []map[string]any // decoded request bodies, with "target" added
	params   map[string]string
	secrets  map[string]string
	plain    string         // KMS plaintext for any valid ciphertext
	wantCtx  map[string]any // the encryption context KMS requires
	failNext atomic.Int64   // answer this many requests with a 500
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	var body map[string]any
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &body); err != nil {
		f.t.Errorf("request body is not JSON: %s", b)
	}
	target := r.Header.Get("X-Amz-Target")
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(r.Header.Get("Authorization"), "/us-east-1/") {
		f.t.Errorf("request is not signed for us-east-1 with the static key: %q", r.Header.Get("Authorization"))
	}
	body["target"] = target
	f.mu.Lock()
	f.requests = append(f.requests, body)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	fail := func(code int, typ, msg string) {
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	if f.failNext.Load() > 0 {
		f.failNext.Add(-1)
		fail(400, "AccessDeniedException", "User is not authorized")
		return
	}
	switch target {
	case "AmazonSSM.GetParameter":
		name, _ := body["Name"].(string)
		v, ok := f.params[name]
		if !ok {
			fail(400, "ParameterNotFound", "")
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{"Name": name, "Type": "SecureString", "Value": v, "Version": 1}})
	case "secretsmanager.GetSecretValue":
		id, _ := body["SecretId"].(string)
		v, ok := f.secrets[id]
		if !ok {
			fail(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:" + id, "Name": id, "SecretString": v})
	case "TrentService.Decrypt":
		blob, _ := body["CiphertextBlob"].(string) // base64 in JSON
		ctx, _ := body["EncryptionContext"].(map[string]any)
		if blob != base64.StdEncoding.EncodeToString([]byte("ciphertext-blob")) || !equalCtx(ctx, f.wantCtx) {
			fail(400, "InvalidCiphertextException", "")
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"KeyId": "arn:aws:kms:us-east-1:111122223333:key/k", "Plaintext": base64.StdEncoding.EncodeToString([]byte(f.plain))})
	default:
		fail(400, "UnknownOperationException", target)
	}
}

func equalCtx(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func newFake(t *testing.T) (*fakeAWS, Options) {
	t.Helper()
	f := &fakeAWS{t: t, params: map[string]string{}, secrets: map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secretkey", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	}
	return f, Options{
		SSM:            ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		SecretsManager: secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		KMS:            kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		LookupEnv:      func(string) (string, bool) { return "", false },
	}
}

func TestResolveEveryKind(t *testing.T) {
	f, o := newFake(t)
	f.params["/trailwatch/slack"] = "https://hooks.example.test/ssm-" + hidden
	f.secrets["prod/trailwatch"] = `{"slack_url":"sm-json-` + hidden + `","n":3}`
	f.secrets["plain"] = "sm-plain-" + hidden
	f.plain = "kms-" + hidden
	f.wantCtx = map[string]any{"LambdaFunctionName": "trailwatch"}
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	if err := os.WriteFile(path, []byte("file-"+hidden+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o.LookupEnv = func(n string) (string, bool) {
		if n == "TW_TOKEN" {
			return "env-" + hidden, true
		}
		return "", false
	}
	r := NewResolver(o)
	kmsRef := "kms:" + base64.StdEncoding.EncodeToString([]byte("ciphertext-blob")) + "#LambdaFunctionName=trailwatch"
	tests := []struct{ ref, want string }{
		{"env:TW_TOKEN", "env-" + hidden},
		{"file:" + path, "file-" + hidden},
		{"ssm:/trailwatch/slack", "https://hooks.example.test/ssm-" + hidden},
		{"secretsmanager:prod/trailwatch#slack_url", "sm-json-" + hidden},
		{"secretsmanager:plain", "sm-plain-" + hidden},
		{kmsRef, "kms-" + hidden},
		{"literal-" + hidden, "literal-" + hidden},
	}
	for _, tt := range tests {
		s, err := r.ResolveString(context.Background(), tt.ref)
		if err != nil {
			t.Errorf("%s: %v", tt.ref, err)
			continue
		}
		if s.Reveal() != tt.want {
			t.Errorf("%s resolved to %q, want %q", tt.ref, s.Reveal(), tt.want)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want := map[string]bool{"AmazonSSM.GetParameter": false, "secretsmanager.GetSecretValue": false, "TrentService.Decrypt": false}
	for _, req := range f.requests {
		target := req["target"].(string)
		want[target] = true
		if target == "AmazonSSM.GetParameter" && req["WithDecryption"] != true {
			t.Errorf("GetParameter without WithDecryption: %v", req)
		}
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("no %s request reached the fake", k)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	f, o := newFake(t)
	f.secrets["notjson"] = "x" + hidden
	f.secrets["obj"] = `{"a":1,"e":""}`
	f.plain = hidden
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	r := NewResolver(o)
	tests := []struct{ ref, want string }{
		{"ssm:/trailwatch/slack", "secret ssm:/trailwatch/slack: parameter not found"},
		{"secretsmanager:missing", "secret secretsmanager:missing: secret not found"},
		{"secretsmanager:notjson#k", "secret secretsmanager:notjson#k: the secret is not a JSON object, so #k cannot pick a field"},
		{"secretsmanager:obj#k", `secret secretsmanager:obj#k: the JSON secret has no key "k"`},
		{"secretsmanager:obj#a", `secret secretsmanager:obj#a: the JSON secret's key "a" is not a string`},
		{"secretsmanager:obj#e", `secret secretsmanager:obj#e: the JSON secret's key "e" is empty`},
		{"kms:" + base64.StdEncoding.EncodeToString([]byte("other")), "secret kms:b3RoZXI=: KMS cannot decrypt the ciphertext: check the key and the encryption context after #"},
		{"env:NOPE", "secret env:NOPE: environment variable is not set"},
		{"file:" + filepath.Join(dir, "missing"), "secret file:" + filepath.Join(dir, "missing") + ": cannot read the file: no such file or directory"},
		{"file:" + empty, "secret file:" + empty + ": the file is empty"},
	}
	for _, tt := range tests {
		_, err := r.ResolveString(context.Background(), tt.ref)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got: %v\nwant: %s", tt.ref, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), hidden) {
			t.Errorf("error leaks the value: %v", err)
		}
	}

	f.failNext.Store(1)
	f.params["/denied"] = "v"
	_, err := r.ResolveString(context.Background(), "ssm:/denied")
	if err == nil || !strings.HasPrefix(err.Error(), "secret ssm:/denied: access denied: allow ssm:GetParameter on it to the function's role: ") {
		t.Errorf("access denied error: %v", err)
	}
	// Failures are not cached: the next resolve asks again and succeeds.
	s, err := r.ResolveString(context.Background(), "ssm:/denied")
	if err != nil || s.Reveal() != "v" {
		t.Errorf("after a failure: %v", err)
	}

	none := NewResolver(Options{})
	for ref, want := range map[string]string{
		"ssm:/x":           "secret ssm:/x: no SSM client is configured",
		"secretsmanager:x": "secret secretsmanager:x: no Secrets Manager client is configured",
		"kms:AQID":         "secret kms:AQID: no KMS client is configured",
	} {
		if _, err := none.ResolveString(context.Background(), ref); err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %s", ref, err, want)
		}
	}
	if _, err := none.Resolve(context.Background(), Ref{}); err == nil {
		t.Error("the zero Ref resolved")
	}
}

func TestResolveCachesAndSharesOneFetch(t *testing.T) {
	f, o := newFake(t)
	f.params["/trailwatch/slack"] = hidden
	f.delay = 50 * time.Millisecond
	r := NewResolver(o)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			s, err := r.ResolveString(context.Background(), "ssm:/trailwatch/slack")
			if err == nil && s.Reveal() != hidden {
				err = io.ErrUnexpectedEOF
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if _, err := r.ResolveString(context.Background(), "ssm:/trailwatch/slack"); err != nil {
		t.Fatal(err)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("the backend was called %d times, want 1", n)
	}
}

func TestResolveWaiterRetriesAfterLeaderCancelled(t *testing.T) {
	f, o := newFake(t)
	f.params["/p"] = hidden
	f.delay = 100 * time.Millisecond
	r := NewResolver(o)
	leaderCtx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		close(started)
		_, err := r.ResolveString(leaderCtx, "ssm:/p")
		done <- err
	}()
	<-started
	time.Sleep(20 * time.Millisecond)
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	s, err := r.ResolveString(context.Background(), "ssm:/p")
	if err != nil || s.Reveal() != hidden {
		t.Errorf("waiter: %v", err)
	}
	if err := <-done; err == nil {
		t.Error("the cancelled leader reported success")
	}
}

// TestKMSWebhookWithoutScheme: AWS's Slack blueprint stores the webhook URL
// encrypted without "https://"; such a plaintext is read as an https URL,
// and nothing else a KMS secret may hold is changed.
func TestKMSWebhookWithoutScheme(t *testing.T) {
	ref := "kms:" + base64.StdEncoding.EncodeToString([]byte("ciphertext-blob"))
	cases := []struct{ plain, want string }{
		{"hooks.slack.com/services/T000/B000/" + hidden, "https://hooks.slack.com/services/T000/B000/" + hidden},
		{"prod-01.westus.logic.azure.com:443/workflows/" + hidden, "https://prod-01.westus.logic.azure.com:443/workflows/" + hidden},
		{"https://hooks.slack.com/services/T000/B000/" + hidden, "https://hooks.slack.com/services/T000/B000/" + hidden},
		{"http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook"},
		{"xoxb-123-456-" + hidden, "xoxb-123-456-" + hidden},
		{"hooks.slack.com", "hooks.slack.com"},
		{"hooks.slack.com/", "hooks.slack.com/"},
		{"10.0.0.1/hook", "10.0.0.1/hook"},
		{"a b.com/x", "a b.com/x"},
		{"host.example:port/x", "host.example:port/x"},
	}
	for _, c := range cases {
		f, o := newFake(t)
		f.plain = c.plain
		s, err := NewResolver(o).ResolveString(context.Background(), ref)
		if err != nil {
			t.Errorf("%q: %v", c.plain, err)
			continue
		}
		if s.Reveal() != c.want {
			t.Errorf("%q resolved to %q, want %q", c.plain, s.Reveal(), c.want)
		}
	}
}
