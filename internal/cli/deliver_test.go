package cli

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// slackStandIn records the bodies posted to it; fail makes it answer 400.
type slackStandIn struct {
	mu     sync.Mutex
	bodies []string
	fail   bool
}

func (s *slackStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.bodies = append(s.bodies, string(b))
	io.WriteString(w, "ok")
}

func (s *slackStandIn) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

// writeDeliveryConfig writes a configuration sending root activity from the
// sign-in and root packs to a Slack webhook whose URL is an env: reference.
func writeDeliveryConfig(t *testing.T, url string) string {
	t.Helper()
	t.Setenv("TW_TEST_SLACK_URL", url)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "trailwatch.yaml")
	os.WriteFile(cfg, []byte(`rules:
  packs: [signin, root]
receivers:
  - name: slack
    slack:
      webhook_url: env:TW_TEST_SLACK_URL
route:
  receiver: slack
  group_by: [rule]
state:
  backend: file
  path: `+filepath.Join(dir, "state.db")+`
`), 0o600)
	return cfg
}

const sampleScenario = "../../testdata/sample"

func TestCheckConfigDeliversOnce(t *testing.T) {
	slack := &slackStandIn{}
	srv := httptest.NewServer(slack)
	defer srv.Close()
	cfg := writeDeliveryConfig(t, srv.URL+"/services/T000/B000/secret-token")

	out, errs, code := runCmd(t, newCheckCmd(), "", "--config", cfg, sampleScenario)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	first := slack.count()
	if first == 0 || !strings.Contains(out, "root-console-login") {
		t.Fatalf("%d posts; alerts:\n%s", first, out)
	}
	for _, b := range slack.bodies {
		if !json.Valid([]byte(b)) {
			t.Fatalf("posted body is not JSON: %s", b)
		}
	}
	// The same logs again: every alert is already delivered (file store).
	if _, errs, code := runCmd(t, newCheckCmd(), "", "--config", cfg, sampleScenario); code != 0 {
		t.Fatalf("second run exit %d\n%s", code, errs)
	}
	if slack.count() != first {
		t.Fatalf("second run posted %d more messages; want none:\n%s", slack.count()-first, strings.Join(slack.bodies[first:], "\n"))
	}
}

// TestCheckConfigDeliversALiveFeedAsItComes: with standard input still
// open, an event's alerts are delivered before the next event comes.
func TestCheckConfigDeliversALiveFeedAsItComes(t *testing.T) {
	slack := &slackStandIn{}
	srv := httptest.NewServer(slack)
	defer srv.Close()
	cfg := writeDeliveryConfig(t, srv.URL+"/services/T000/B000/secret-token")
	pr, pw := io.Pipe()
	var out, errb strings.Builder
	done := make(chan int)
	go func() { done <- Main([]string{"check", "--config", cfg, "-"}, pr, &out, &errb) }()
	if _, err := io.WriteString(pw, rootLogin+"\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for slack.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	posted := slack.count()
	pw.Close()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	if posted == 0 {
		t.Fatalf("nothing was delivered while standard input was open; after it closed, %d posts\n%s", slack.count(), errb.String())
	}
}

func TestCheckConfigReportsFailedDelivery(t *testing.T) {
	slack := &slackStandIn{fail: true}
	srv := httptest.NewServer(slack)
	defer srv.Close()
	secretURL := srv.URL + "/services/T000/B000/secret-token"
	cfg := writeDeliveryConfig(t, secretURL)

	_, errs, code := runCmd(t, newCheckCmd(), "", "--config", cfg, sampleScenario)
	if code != 3 || !strings.Contains(errs, "could not be delivered") {
		t.Fatalf("exit %d; want 3 naming the undelivered alerts\n%s", code, errs)
	}
	if strings.Contains(errs, "secret-token") {
		t.Fatalf("the webhook URL leaked into the output:\n%s", errs)
	}
}

func TestCheckConfigDryRunSendsNothing(t *testing.T) {
	slack := &slackStandIn{}
	srv := httptest.NewServer(slack)
	defer srv.Close()
	cfg := writeDeliveryConfig(t, srv.URL)

	out, errs, code := runCmd(t, newCheckCmd(), "", "--config", cfg, "--dry-run", "--raw", sampleScenario)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if slack.count() != 0 {
		t.Fatalf("dry run posted %d messages", slack.count())
	}
	if !strings.Contains(out, "--- receiver slack (slack)") || !strings.Contains(out, `"blocks"`) {
		t.Fatalf("dry run printed no message:\n%s", out)
	}
}

func TestCheckConfigFlagsConflict(t *testing.T) {
	if _, errs, code := runCmd(t, newCheckCmd(), "", "--dry-run", sampleScenario); code != 1 || !strings.Contains(errs, "need --config") {
		t.Fatalf("--dry-run without --config: exit %d %s", code, errs)
	}
	if _, errs, code := runCmd(t, newCheckCmd(), "", "--config", "x.yaml", "--packs", "root", sampleScenario); code != 1 || !strings.Contains(errs, "rules section") {
		t.Fatalf("--config with --packs: exit %d %s", code, errs)
	}
}

func TestCheckConfigLearnAlertsNothing(t *testing.T) {
	slack := &slackStandIn{}
	srv := httptest.NewServer(slack)
	defer srv.Close()
	cfg := writeDeliveryConfig(t, srv.URL)
	out, errs, code := runCmd(t, newCheckCmd(), "", "--config", cfg, "--learn", sampleScenario)
	if code != 0 || out != "" || slack.count() != 0 {
		t.Fatalf("learn: exit %d, %d posts, stdout %q\n%s", code, slack.count(), out, errs)
	}
	if !strings.Contains(errs, "529 events, 0 alerts") {
		t.Fatalf("learn summary: %s", errs)
	}
}

func TestRenderWithConfig(t *testing.T) {
	cfg := "../../examples/root-to-slack-ja.yaml"
	ev := "../../rules/testdata/signin/root-login-success.json"
	out, errs, code := runCmd(t, newRenderCmd(), "", "--config", cfg, "--event", ev, "--receiver", "slack-root", "--raw", "--pretty=false")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	var bodies int
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "{") {
			bodies++
			if !json.Valid([]byte(line)) {
				t.Fatalf("body is not JSON: %s", line)
			}
		}
	}
	// The example routes root activity to slack-root, the rules of one
	// event in one message, in Japanese with JST times.
	if bodies != 1 || !strings.Contains(out, "--- receiver slack-root (slack)") || !strings.Contains(out, "JST") || strings.Contains(out, "receiver slack-security") {
		t.Fatalf("unexpected messages:\n%s", out)
	}
	if _, errs, code := runCmd(t, newRenderCmd(), "", "--config", cfg, "--event", ev, "--receiver", "nope"); code != 1 || !strings.Contains(errs, `no receiver of that name`) {
		t.Fatalf("unknown receiver: exit %d %s", code, errs)
	}
}

func TestCLIErrorsCannotDriveTheTerminal(t *testing.T) {
	var out, errb strings.Builder
	code := Main([]string{"check", "no\x1b]0;pwned\x07such-file.json"}, strings.NewReader(""), &out, &errb)
	if code != 1 || strings.ContainsAny(errb.String(), "\x1b\x07") || !strings.Contains(errb.String(), `\x1b`) {
		t.Fatalf("exit %d, stderr %q: want the escape shown, not sent", code, errb.String())
	}
}

// TestRenderWithConfigShowsThresholdRules: a rule with a threshold alerts
// only on the match that reaches it, but a preview of one event shows the
// message it would send then.
func TestRenderWithConfigShowsThresholdRules(t *testing.T) {
	dir := t.TempDir()
	cfg := writeTestFile(t, filepath.Join(dir, "trailwatch.yaml"), `rules:
  packs: [compute]
receivers:
  - name: ops
    slack:
      webhook_url: env:TRAILWATCH_TEST_NO_SUCH_WEBHOOK
route:
  receiver: ops
`)
	ev := "../../rules/testdata/compute/get-password-data-unauthorized.json"
	out, errs, code := runCmd(t, newRenderCmd(), "", "--config", cfg, "--event", ev)
	if code != 0 || !strings.Contains(out, "=== to ops (slack)") || !strings.Contains(out, "EC2 Windows password data requested repeatedly") {
		t.Fatalf("exit %d, stderr %s, output:\n%s", code, errs, out)
	}
}

func TestRenderWithConfigRefusesIgnoredFlags(t *testing.T) {
	_, errs, code := runCmd(t, newRenderCmd(), "", "--config", "../../examples/root-to-slack-ja.yaml",
		"--event", "../../rules/testdata/signin/root-login-success.json", "--locale", "ja", "--count", "5")
	if code != 1 || !strings.Contains(errs, "drop --locale, --count") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// TestCheckConfigStopsAtTheFirstStoreFailure: with the state table out
// of reach, `check --config --learn` over 529 events stops at the first
// event with one error naming the store, instead of one error per event
// (each after the store's timeout).
func TestCheckConfigStopsAtTheFirstStoreFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	ln.Close() // nothing listens: every request is refused
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	cfg := filepath.Join(t.TempDir(), "trailwatch.yaml")
	os.WriteFile(cfg, []byte("rules:\n  packs: [signin]\nstate:\n  backend: dynamodb\n  table: trailwatch-state\n"), 0o600)

	start := time.Now()
	_, errs, code := runCmd(t, newCheckCmd(), "", "--config", cfg, "--learn", sampleScenario)
	took := time.Since(start)
	if code != 1 {
		t.Fatalf("exit %d; want 1\n%s", code, errs)
	}
	if n := strings.Count(errs, "trailwatch-state"); n != 1 || !strings.Contains(errs, "stopped at ") || !strings.Contains(errs, "the state store failed") {
		t.Fatalf("stderr names the table %d times; want one line saying where reading stopped:\n%s", n, errs)
	}
	if !strings.Contains(errs, "1 events, 0 alerts, 0 skipped, 1 errors") {
		t.Fatalf("want reading stopped at the first event:\n%s", errs)
	}
	t.Logf("stopped after %s:\n%s", took.Round(time.Millisecond), errs)
}
