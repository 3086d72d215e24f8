package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// runtimeAPI is a small Lambda Runtime API: it hands queued payloads to the
// function (GET /2018-06-01/runtime/invocation/next) and records what the
// function answers (POST .../invocation/{id}/response or /error, and
// /runtime/init/error).
type runtimeAPI struct {
	srv   *httptest.Server
	queue chan *invocation

	mu        sync.Mutex
	inflight  map[string]*invocation
	seq       int
	initError []byte
	polled    chan struct{} // closed at the first GET next
	polledAt  time.Time
}

// invocation is one queued payload and, once done, its outcome.
type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	done     chan struct{}
	// response is the function's answer; failed is set when it reported
	// an error (response is then the error document).
	response   []byte
	failed     bool
	answeredAt time.Time
}

func newRuntimeAPI(t *testing.T) *runtimeAPI {
	t.Helper()
	rt := &runtimeAPI{queue: make(chan *invocation, 16), inflight: map[string]*invocation{}, polled: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", rt.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		rt.answer(w, r, false)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", func(w http.ResponseWriter, r *http.Request) {
		rt.answer(w, r, true)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rt.mu.Lock()
		rt.initError = b
		rt.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	rt.srv = httptest.NewServer(mux)
	t.Cleanup(rt.srv.Close)
	return rt
}

// addr is the value of AWS_LAMBDA_RUNTIME_API: host:port, no scheme.
func (rt *runtimeAPI) addr() string { return strings.TrimPrefix(rt.srv.URL, "http://") }

func (rt *runtimeAPI) next(w http.ResponseWriter, r *http.Request) {
	rt.mu.Lock()
	select {
	case <-rt.polled:
	default:
		rt.polledAt = time.Now()
		close(rt.polled)
	}
	rt.mu.Unlock()
	var inv *invocation
	select {
	case inv = <-rt.queue:
	case <-r.Context().Done():
		return
	}
	rt.mu.Lock()
	rt.inflight[inv.id] = inv
	rt.mu.Unlock()
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:trailwatch-e2e")
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
	h.Set("Content-Type", "application/json")
	w.Write(inv.payload)
}

func (rt *runtimeAPI) answer(w http.ResponseWriter, r *http.Request, failed bool) {
	b, _ := io.ReadAll(r.Body)
	rt.mu.Lock()
	inv := rt.inflight[r.PathValue("id")]
	delete(rt.inflight, r.PathValue("id"))
	rt.mu.Unlock()
	if inv == nil {
		http.Error(w, "unknown request id", http.StatusBadRequest)
		return
	}
	inv.response, inv.failed, inv.answeredAt = b, failed, time.Now()
	close(inv.done)
	w.WriteHeader(http.StatusAccepted)
}

// invoke queues payload with the given time limit and waits for the answer.
func (rt *runtimeAPI) invoke(t *testing.T, fn *function, payload []byte, limit time.Duration) *invocation {
	t.Helper()
	rt.mu.Lock()
	rt.seq++
	id := fmt.Sprintf("req-%04d", rt.seq)
	rt.mu.Unlock()
	inv := &invocation{id: id, payload: payload, deadline: time.Now().Add(limit), done: make(chan struct{})}
	rt.queue <- inv
	select {
	case <-inv.done:
		return inv
	case <-fn.exited:
		t.Fatalf("the function exited during invocation %s: %v\nstderr:\n%s", id, fn.exitErr, fn.stderr.String())
	case <-time.After(limit + 10*time.Second):
		t.Fatalf("invocation %s got no answer within %s\nstderr:\n%s", id, limit, fn.stderr.String())
	}
	return nil
}

// lockedBuffer collects a child's output safely.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// function is the compiled binary running as a Lambda function.
type function struct {
	cmd     *exec.Cmd
	started time.Time
	stdout  *lockedBuffer // embedded metric lines
	stderr  *lockedBuffer // JSON logs
	exited  chan struct{}
	exitErr error
}

// fixture is everything one test's function talks to.
type fixture struct {
	rt     *runtimeAPI
	s3     *fakeS3
	ddb    *fakeDynamoDB
	slack  *fakeSlack
	table  string
	dir    string
	config string // path of the configuration file
	env    map[string]string
}

// newFixture starts the fakes, creates the state table and writes a
// configuration that sends the given packs' alerts to the fake Slack, one
// message per rule, reading the webhook URL through secretRef ("env" or
// "file").
func newFixture(t *testing.T, packs, secretRef string) *fixture {
	t.Helper()
	f := &fixture{
		rt:    newRuntimeAPI(t),
		s3:    newFakeS3(t),
		ddb:   newFakeDynamoDB(t),
		slack: newFakeSlack(t),
		table: "trailwatch-state",
		dir:   t.TempDir(),
	}
	f.ddb.createTable(t, f.table)
	f.env = map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          f.rt.addr(),
		"AWS_LAMBDA_FUNCTION_NAME":        "trailwatch-e2e",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"TRAILWATCH_STATE_TABLE":          f.table,
		"AWS_REGION":                      "us-east-1",
		"AWS_ACCESS_KEY_ID":               fakeKeyID,
		"AWS_SECRET_ACCESS_KEY":           fakeSecret,
		"AWS_ENDPOINT_URL_S3":             f.s3.srv.URL,
		"AWS_ENDPOINT_URL_DYNAMODB":       f.ddb.srv.URL,
		"AWS_EC2_METADATA_DISABLED":       "true",
		"AWS_CONFIG_FILE":                 filepath.Join(f.dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE":     filepath.Join(f.dir, "no-aws-credentials"),
		"HOME":                            f.dir,
		"PATH":                            os.Getenv("PATH"),
	}
	var ref string
	switch secretRef {
	case "env":
		ref = "env:SLACK_WEBHOOK_URL"
		f.env["SLACK_WEBHOOK_URL"] = f.slack.url()
	case "file":
		p := filepath.Join(f.dir, "slack-webhook-url")
		if err := os.WriteFile(p, []byte(f.slack.url()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		ref = "file:" + p
	default:
		t.Fatalf("unknown secret reference kind %q", secretRef)
	}
	cfg := fmt.Sprintf(`# trailwatch end-to-end configuration
rules:
  packs: [%s]
accounts:
  "123837392027": invictus-lab
receivers:
  - name: security-slack
    slack:
      webhook_url: %s
route:
  receiver: security-slack
  group_by: [rule]
state:
  backend: dynamodb
  table: %s
`, packs, ref, f.table)
	f.config = filepath.Join(f.dir, "trailwatch.yaml")
	if err := os.WriteFile(f.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	f.env["TRAILWATCH_CONFIG"] = f.config
	return f
}

// start runs the binary as the function and stops it when the test ends.
func (f *fixture) start(t *testing.T) *function {
	t.Helper()
	cmd := exec.Command(binary)
	cmd.Dir = f.dir
	for k, v := range f.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	fn := &function{cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = fn.stdout, fn.stderr
	fn.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", binary, err)
	}
	go func() {
		fn.exitErr = cmd.Wait()
		close(fn.exited)
	}()
	t.Cleanup(func() {
		fn.stop()
		if t.Failed() {
			t.Logf("function stderr:\n%s", fn.stderr.String())
		}
	})
	select {
	case <-f.rt.polled:
	case <-fn.exited:
		t.Fatalf("the binary exited instead of polling the Lambda Runtime API (does cmd/trailwatch/main.go start the Lambda face when AWS_LAMBDA_RUNTIME_API is set?): %v\nstdout:\n%s\nstderr:\n%s",
			fn.exitErr, fn.stdout.String(), fn.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the function did not poll the Runtime API within 30s\nstderr:\n%s", fn.stderr.String())
	}
	return fn
}

// stop ends the process and waits until all its output has been read.
func (fn *function) stop() {
	fn.cmd.Process.Kill()
	<-fn.exited
}

// peakRSS returns the child's resident-set high-water mark (VmHWM) in bytes.
func (fn *function) peakRSS(t *testing.T) int64 {
	t.Helper()
	fh, err := os.Open(fmt.Sprintf("/proc/%d/status", fn.cmd.Process.Pid))
	if err != nil {
		t.Skipf("no /proc on this system: %v", err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM line %q: %v", sc.Text(), err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", fn.cmd.Process.Pid)
	return 0
}

// metrics returns the function's embedded-metric lines, one per
// invocation, in order, once there are n of them: the child's output
// reaches the test through a pipe, a moment after the answer does.
func (fn *function) metrics(t *testing.T, n int) []map[string]any {
	t.Helper()
	var out []map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out = out[:0]
		for _, line := range strings.Split(fn.stdout.String(), "\n") {
			if !strings.Contains(line, `"_aws"`) {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			out = append(out, m)
		}
		if len(out) >= n || time.Now().After(deadline) {
			return out
		}
	}
}
