package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// runEvents runs `events args...` with stdin and returns stdout, stderr and
// the exit code Main would return.
func runEvents(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := newEventsCmd()
	var out, errw bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errw)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err := cmd.Execute()
	code := 0
	if err != nil {
		code = 1
		var ee *ExitError
		if errors.As(err, &ee) {
			code = ee.Code
		}
		if ee == nil || ee.Err != nil {
			errw.WriteString("trailwatch: " + err.Error() + "\n")
		}
	}
	return out.String(), errw.String(), code
}

const invictusDir = "../ingest/testdata/invictus"

func TestEventsInvictusSummary(t *testing.T) {
	out, errOut, code := runEvents(t, "", invictusDir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if want := "trailwatch: 2900 events from 55 inputs, 0 skipped, 0 errors\n"; errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2901 {
		t.Fatalf("%d lines, want header + 2900", len(lines))
	}
	if !strings.HasPrefix(lines[0], "TIME                     EVENT") {
		t.Errorf("header %q", lines[0])
	}
	// Columns line up: the EVENT column starts at the same place on every line.
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "2023-07-10 ") || l[23:25] != "  " || l[25] == ' ' {
			t.Fatalf("misaligned line %q", l)
		}
	}
}

const evRootLogin = `{"eventVersion":"1.05","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2023-07-10T11:42:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.5","userAgent":"Mozilla/5.0","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"LoginTo":"https://console.aws.amazon.com","MobileVersion":"No","MFAUsed":"No"},"eventID":"3fcfb586-a9b1-4d2b-9c3c-1a2b3c4d5e6f","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}`

func TestEventsJSON(t *testing.T) {
	out, errOut, code := runEvents(t, evRootLogin+"\n", "--format", "json", "--timezone", "Asia/Tokyo", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := `{"event_id":"3fcfb586-a9b1-4d2b-9c3c-1a2b3c4d5e6f","time":"2023-07-10T20:42:00+09:00","event_name":"ConsoleLogin","event_source":"signin.amazonaws.com","event_type":"AwsConsoleSignIn","account":"111122223333","region":"us-east-1","principal":"root","principal_type":"Root","source_ip":"203.0.113.5","user_agent":"Mozilla/5.0","error_code":"","mfa":false,"login_result":"Success","read_only":null,"console_url":"https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/3fcfb586-a9b1-4d2b-9c3c-1a2b3c4d5e6f"}` + "\n"
	if out != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	if errOut != "trailwatch: 1 event from 1 input, 0 skipped, 0 errors\n" {
		t.Errorf("stderr %q", errOut)
	}

	// Every line of a larger run is one JSON object with the keys in order.
	out, _, _ = runEvents(t, "", "--format", "json", invictusDir)
	keys := []string{"event_id", "time", "event_name", "event_source", "event_type", "account", "region", "principal", "principal_type", "source_ip", "user_agent", "error_code", "mfa", "login_result", "read_only", "console_url"}
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.Token()
		for _, k := range keys {
			tok, err := dec.Token()
			if err != nil || tok != k {
				t.Fatalf("line %d: key %v (%v), want %s", i, tok, err, k)
			}
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("line %d: %v", i, err)
			}
		}
		if dec.More() {
			t.Fatalf("line %d has extra keys", i)
		}
	}
}

func TestEventsTableNeutralisesControlCharacters(t *testing.T) {
	evil := strings.Replace(evRootLogin, `"Mozilla/5.0"`, `"x"`, 1)
	evil = strings.Replace(evil, `"type":"Root"`, `"type":"IAMUser","userName":"eve\n2023-01-01 00:00:00 UTC  ConsoleLogin\u001b[31m"`, 1)
	out, errOut, code := runEvents(t, evil, "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || strings.ContainsRune(out, 0x1b) || !strings.Contains(lines[1], `eve\x0a2023`) {
		t.Fatalf("table output %q", out)
	}
}

func TestEventsTableTimezone(t *testing.T) {
	out, _, _ := runEvents(t, evRootLogin, "--timezone", "Asia/Tokyo")
	if !strings.Contains(out, "2023-07-10 20:42:00 JST  ConsoleLogin") || !strings.Contains(out, "Success") {
		t.Fatalf("table %q", out)
	}
}

func TestEventsProblems(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	digest := write("digest.json", `{"awsAccountId":"1","digestStartTime":"2025-10-21T00:00:00Z","logFiles":[]}`)
	bad := write("bad.jsonl", evRootLogin+"\n{\"eventVersion\":}\n"+evRootLogin+"\n")

	out, errOut, code := runEvents(t, "", digest, bad)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := strings.Count(out, "ConsoleLogin"); n != 2 {
		t.Errorf("%d events printed, want 2: %q", n, out)
	}
	wantErr := "trailwatch: skipped " + digest + " record 0: CloudTrail digest file, which holds no events\n" +
		"trailwatch: " + bad + " record 1: invalid JSON: "
	if !strings.HasPrefix(errOut, wantErr) || !strings.HasSuffix(errOut, "trailwatch: 2 events from 2 inputs, 1 skipped, 1 error\n") {
		t.Errorf("stderr %q", errOut)
	}

	out, errOut, code = runEvents(t, "", filepath.Join(dir, "missing.json"), bad)
	if code != 1 || strings.Count(out, "ConsoleLogin") != 2 {
		t.Fatalf("exit %d, out %q", code, out)
	}
	if !strings.HasPrefix(errOut, "trailwatch: "+filepath.Join(dir, "missing.json")+": no such file or directory\n") {
		t.Errorf("stderr %q", errOut)
	}

	_, errOut, code = runEvents(t, "", "--format", "yaml", bad)
	if code != 1 || !strings.Contains(errOut, `unknown --format "yaml"`) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = runEvents(t, "", "--timezone", "Mars/Olympus", bad)
	if code != 1 || !strings.Contains(errOut, `unknown --timezone "Mars/Olympus"`) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestEventsSample(t *testing.T) {
	out, errOut, code := runEvents(t, "", "../../testdata/sample")
	if code != 0 || !strings.Contains(errOut, ", 0 skipped, 0 errors") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, name := range []string{"ConsoleLogin", "StopLogging", "CreateAccessKey", "CreateUser", "AttachUserPolicy"} {
		if !strings.Contains(out, name) {
			t.Errorf("sample has no %s event", name)
		}
	}
}

// TestEventsS3 reads an s3:// argument and an S3 notification through the
// default AWS configuration, pointed at an in-process S3 by the SDK's own
// AWS_ENDPOINT_URL_S3 setting.
func TestEventsS3(t *testing.T) {
	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	obj, err := os.ReadFile(filepath.Join(invictusDir, "218007301253_CloudTrail_us-east-1_20230710T1230Z_KV9LZlfXqBel7nqf.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	backend.CreateBucket("trail")
	if _, err := backend.PutObject("trail", "AWSLogs/x.json.gz", map[string]string{}, bytes.NewReader(obj), int64(len(obj)), nil); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_S3":         srv.URL,
		"AWS_ACCESS_KEY_ID":           "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":       "secret",
		"AWS_REGION":                  "us-east-1",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             filepath.Join(t.TempDir(), "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
	} {
		t.Setenv(k, v)
	}
	out, errOut, code := runEvents(t, "", "--format", "json", "s3://trail/AWSLogs/x.json.gz")
	if code != 0 || strings.Count(out, "\n") != 47 {
		t.Fatalf("exit %d, %d lines, stderr %q", code, strings.Count(out, "\n"), errOut)
	}
	_, errOut, code = runEvents(t, "", "s3://trail/AWSLogs/missing.json.gz")
	if code != 1 || !strings.HasPrefix(errOut, "trailwatch: s3://trail/AWSLogs/missing.json.gz: S3 object does not exist") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
