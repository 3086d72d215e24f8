package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"
)

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestReadEnv(t *testing.T) {
	e, err := ReadEnv(envFrom(map[string]string{
		EnvConfig:     " ssm:/trailwatch/config ",
		EnvStateTable: "trailwatch-state",
		EnvFunction:   "trailwatch-prod",
		EnvLogLevel:   "debug",
		EnvMemory:     "256",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Env{Config: "ssm:/trailwatch/config", StateTable: "trailwatch-state", Function: "trailwatch-prod", LogLevel: slog.LevelDebug, MemoryMiB: 256}
	if e != want {
		t.Fatalf("ReadEnv = %+v; want %+v", e, want)
	}

	e, err = ReadEnv(envFrom(nil))
	if err != nil || e.Function != "trailwatch" || e.LogLevel != slog.LevelInfo || e.Config != "" {
		t.Fatalf("empty environment: %+v, %v", e, err)
	}

	for env, msg := range map[string]string{
		EnvLogLevel: `TRAILWATCH_LOG_LEVEL="loud" is not a log level (want debug, info, warn or error)`,
		EnvMemory:   `AWS_LAMBDA_FUNCTION_MEMORY_SIZE="loud" is not a memory size in MiB`,
	} {
		if _, err := ReadEnv(envFrom(map[string]string{env: "loud"})); err == nil || err.Error() != msg {
			t.Errorf("%s=loud: error %v; want %q", env, err, msg)
		}
	}
}

func TestMemoryLimit(t *testing.T) {
	if got := MemoryLimit(128); got != 128<<20*85/100 {
		t.Fatalf("MemoryLimit(128) = %d", got)
	}
	if MemoryLimit(0) != 0 {
		t.Fatal("an unknown size should set no limit")
	}
}

func TestSDKLoggerWritesJSON(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelDebug, "fn")
	SDKLogger(log).Logf(logging.Warn, "retrying %s", "GetObject")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("line %q: %v", buf.String(), err)
	}
	if line["msg"] != "aws_sdk" || line["level"] != "WARN" || line["message"] != "retrying GetObject" || line["function"] != "fn" {
		t.Fatalf("line %v", line)
	}
}

// syncBuffer is a bytes.Buffer safe for the handler's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSetupServesAnEventBridgeEvent builds the handler as Main does, from a
// configuration file, and runs one EventBridge event through it to a local
// Slack webhook.
func TestSetupServesAnEventBridgeEvent(t *testing.T) {
	var mu sync.Mutex
	var posts []string
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, string(b))
		mu.Unlock()
		w.Write([]byte("ok"))
	}))
	defer slack.Close()
	t.Setenv("SETUP_TEST_SLACK_URL", slack.URL+"/services/T1/B1/setupTestSecret")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "trailwatch.yaml")
	cfg := `rules:
  packs: [signin]
receivers:
  - name: slack
    slack:
      webhook_url: env:SETUP_TEST_SLACK_URL
route:
  receiver: slack
state:
  backend: memory
`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	awsCfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	var stdout, stderr syncBuffer
	log := NewLogger(&stderr, slog.LevelInfo, "trailwatch-test")
	h, reloader, err := Setup(Env{Config: cfgPath, Function: "trailwatch-test"}, awsCfg, &stdout, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reloader.Engine(context.Background()); err != nil {
		t.Fatalf("the configuration does not build: %v", err)
	}
	payload, err := os.ReadFile("testdata/eventbridge-signin.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Invoke(context.Background(), payload); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if len(posts) != 1 || !strings.Contains(posts[0], "root-console-login") {
		t.Fatalf("Slack got %q; want one root console login message", posts)
	}
	if !strings.Contains(stdout.String(), `"Function":"trailwatch-test"`) || !strings.Contains(stdout.String(), `"Alerts":1`) {
		t.Fatalf("no metric line on stdout: %q", stdout.String())
	}
	if !strings.Contains(stderr.String(), `"msg":"state_table_unset"`) {
		t.Fatalf("a missing state table should be warned about: %s", stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Fatalf("log line is not JSON: %q", line)
		}
	}
}

func TestSetupRejectsABadConfigSource(t *testing.T) {
	_, _, err := Setup(Env{Config: "s3://bucket-only"}, aws.Config{Region: "us-east-1"}, io.Discard, slog.New(slog.DiscardHandler))
	if err == nil || err.Error() != `TRAILWATCH_CONFIG: config source "s3://bucket-only": want s3://bucket/key` {
		t.Fatalf("error %v", err)
	}
}
