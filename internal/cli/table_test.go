package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/textwidth"
)

// widest returns the widest line of out, in terminal columns.
func widest(out string) (int, string) {
	w, line := 0, ""
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if n := textwidth.Width(l); n > w {
			w, line = n, l
		}
	}
	return w, line
}

// TestCheckTableFitsTheTerminal: at 80 columns every line of the check
// table fits, the essential columns stay and principals are shortened
// from the middle; wider terminals get more columns; --wide gets all.
func TestCheckTableFitsTheTerminal(t *testing.T) {
	t.Setenv("COLUMNS", "80")
	out, errs, code := runCmd(t, newCheckCmd(), "", sampleScenario)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if w, line := widest(out); w > 80 {
		t.Errorf("a line is %d columns wide at 80:\n%s", w, line)
	}
	header := strings.Fields(strings.SplitN(out, "\n", 2)[0])
	if strings.Join(header, " ") != "TIME SEVERITY RULE SUMMARY" {
		t.Errorf("header at 80 columns: %v", header)
	}
	var events, alerts int
	if _, err := fmt.Sscanf(errs, "%d events, %d alerts", &events, &alerts); err != nil || alerts == 0 {
		t.Fatalf("summary line %q: %v", errs, err)
	}
	if n := strings.Count(out, "\n"); n != alerts+1 { // the header and one line per alert
		t.Errorf("%d lines for %d alerts", n, alerts)
	}

	t.Setenv("COLUMNS", "132")
	out, _, _ = runCmd(t, newCheckCmd(), "", sampleScenario)
	if w, line := widest(out); w > 132 {
		t.Errorf("a line is %d columns wide at 132:\n%s", w, line)
	}
	if !strings.Contains(out, "PRINCIPAL") || !regexp.MustCompile(`stratus-\S*…\S*187801 `).MatchString(out) {
		t.Errorf("at 132 columns the principal column is missing or not cut in the middle:\n%s", out[:min(len(out), 2000)])
	}

	out, _, _ = runCmd(t, newCheckCmd(), "", "--wide", sampleScenario)
	header = strings.Fields(strings.SplitN(out, "\n", 2)[0])
	if len(header) != 10 { // nine columns, SOURCE IP two words
		t.Errorf("--wide header %v", header)
	}
	if !strings.Contains(out, "stratus-red-team-get-usr-data-role/aws-go-sdk-1688990565286187801") {
		t.Error("--wide cut a principal")
	}
}

func TestEventsTableFitsTheTerminal(t *testing.T) {
	t.Setenv("COLUMNS", "80")
	out, errOut, code := runEvents(t, "", invictusDir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if w, line := widest(out); w > 80 {
		t.Errorf("a line is %d columns wide at 80:\n%s", w, line)
	}
	if h := strings.Fields(strings.SplitN(out, "\n", 2)[0]); strings.Join(h, " ") != "TIME EVENT PRINCIPAL SOURCE IP RESULT" {
		t.Errorf("header at 80 columns: %v", h)
	}
}

// TestTableLayout checks the layout on its own: Japanese text measured in
// columns, the last column cut to what is left, the lowest column dropped
// first, and blocks that never narrow a column they widened.
func TestTableLayout(t *testing.T) {
	cols := []column{
		{title: "WHO", min: 10, shrink: 1, cut: textwidth.CutMiddle},
		{title: "WHERE", min: 8, shrink: 2, drop: 1},
		{title: "WHAT", min: 12, shrink: 3},
	}
	for _, limit := range []int{30, 40, 60} {
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		tb := newTable(w, cols, limit, false, false)
		tb.row("ルートユーザー/セッション名がとても長い", "ap-northeast-1", "コンソールにサインインしました")
		tb.row("alice", "us-east-1", "short")
		tb.emit()
		tb.row("a-much-longer-principal-name-than-before", "eu-west-1", "x")
		tb.emit()
		w.Flush()
		out := buf.String()
		if wd, line := widest(out); wd > limit {
			t.Errorf("limit %d: a line is %d wide: %q\n%s", limit, wd, line, out)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if limit == 30 && strings.Contains(lines[0], "WHERE") {
			t.Errorf("limit 30 kept the column to drop:\n%s", out)
		}
		if limit == 60 && !strings.Contains(lines[0], "WHERE") {
			t.Errorf("limit 60 dropped a column:\n%s", out)
		}
		// The second block's first column starts its next column where
		// the first block's did.
		col := func(l string) int { // where the second column starts
			i := strings.Index(l, "  ")
			return textwidth.Width(l[:i]) + len(l[i:]) - len(strings.TrimLeft(l[i:], " "))
		}
		if col(lines[3]) < col(lines[1]) {
			t.Errorf("limit %d: the second block narrowed a column:\n%s", limit, out)
		}
		if !strings.Contains(out, "…") {
			t.Errorf("limit %d: nothing was cut:\n%s", limit, out)
		}
	}
}

// TestCheckTableConfigTimezone: with --config, the table's times are in the
// configuration's zone unless --timezone says otherwise.
func TestCheckTableConfigTimezone(t *testing.T) {
	slack := &slackStandIn{}
	srv := httptest.NewServer(slack)
	defer srv.Close()
	cfg := writeDeliveryConfig(t, srv.URL+"/services/T000/B000/secret")
	body, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tokyo := filepath.Join(filepath.Dir(cfg), "tokyo.yaml")
	if err := os.WriteFile(tokyo, append([]byte("timezone: Asia/Tokyo\n"), body...), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runCmd(t, newCheckCmd(), "", "--config", tokyo, sampleScenario)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if !strings.Contains(out, " JST ") || strings.Contains(out, " UTC ") {
		t.Errorf("times not in the configuration's zone:\n%s", out)
	}
	out, _, _ = runCmd(t, newCheckCmd(), "", "--config", tokyo, "--timezone", "UTC", sampleScenario)
	if !strings.Contains(out, " UTC ") || strings.Contains(out, " JST ") {
		t.Errorf("--timezone did not win over the configuration:\n%s", out)
	}
}

func TestShortTime(t *testing.T) {
	for _, tc := range []struct {
		w    int
		want string
	}{{23, "2023-07-10 12:00:32 UTC"}, {20, "2023-07-10 12:00:32"}, {14, "07-10 12:00:32"}, {10, "2023-07-1…"}} {
		s := "2023-07-10 12:00:32 UTC"
		got := s
		if textwidth.Width(s) > tc.w {
			got = shortTime(s, tc.w)
		}
		if got != tc.want {
			t.Errorf("shortTime(%d) = %q, want %q", tc.w, got, tc.want)
		}
	}
	if got := shortTime("-", 14); got != "-" {
		t.Errorf("shortTime(-) = %q", got)
	}
}

func TestOutputOf(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if o := outputOf(f, getenv); o.terminal || o.width != 0 {
		t.Errorf("a file: %+v", o)
	}
	env["COLUMNS"] = "80"
	if o := outputOf(f, getenv); o.width != 80 {
		t.Errorf("COLUMNS=80: %+v", o)
	}
	env["COLUMNS"] = "wide"
	if o := outputOf(&bytes.Buffer{}, getenv); o.width != 0 || o.terminal {
		t.Errorf("COLUMNS=wide on a buffer: %+v", o)
	}
	if isTerminal(f) {
		t.Error("a file is a terminal")
	}
}

// chanWriter hands each write to a channel.
type chanWriter struct{ ch chan string }

func (c *chanWriter) Write(p []byte) (int, error) {
	c.ch <- string(p)
	return len(p), nil
}

// TestCheckStdinShowsAlertsAtOnce: reading a live standard input, an
// event's alerts are written before the next event arrives, buffering or
// not.
func TestCheckStdinShowsAlertsAtOnce(t *testing.T) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(rootLoginEvent)); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	out := &chanWriter{ch: make(chan string, 16)}
	cmd := newCheckCmd()
	cmd.SetArgs([]string{"--packs", "signin", "-"})
	cmd.SetIn(pr)
	cmd.SetOut(out)
	cmd.SetErr(io.Discard)
	done := make(chan error, 1)
	go func() { done <- cmd.Execute() }()
	if _, err := pw.Write(append(compact.Bytes(), '\n')); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-out.ch:
		if !strings.Contains(s, "root-console-login") {
			t.Errorf("first write %q", s)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no alert shown while standard input stays open")
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestMain runs the package's tests with tables at their full width,
// whatever COLUMNS the shell running them exports; the tests about widths
// set it themselves.
func TestMain(m *testing.M) {
	os.Unsetenv("COLUMNS")
	os.Exit(m.Run())
}
