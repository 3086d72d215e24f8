package cli

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/pipeline"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

const rootToSlackJa = "../../examples/root-to-slack-ja.yaml"

// TestDryRunRootToSlackJa runs the Japanese root example over the sample
// logs as a user would (check --config ... --dry-run) and pins what it
// prints in testdata/golden/root-to-slack-ja.txt (refresh with
// go test ./internal/cli -update). Whatever the golden holds, the run must
// send each event's rules in one message per receiver (a failed root
// sign-in raises five alerts, which used to be five messages with mixed
// @here and @channel), write in Japanese with JST times, and never show
// the English title of a rule that has a Japanese one.
func TestDryRunRootToSlackJa(t *testing.T) {
	out, errs, code := runCmd(t, newCheckCmd(), "", "--config", rootToSlackJa, "--dry-run", sampleScenario)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	golden := filepath.Join("testdata", "golden", "root-to-slack-ja.txt")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if want, err := os.ReadFile(golden); err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update to create it)", err)
	} else if out != string(want) {
		t.Errorf("the dry run differs from %s (refresh with -update if the change is meant); got:\n%s", golden, out)
	}

	// The same run, looked at message by message.
	var msgs []pipeline.Message
	p, err := newPipeline(context.Background(), rootToSlackJa, true, func(m pipeline.Message) { msgs = append(msgs, m) }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r := &pipelineRun{checker: &checker{in: &inputs{reader: ingest.New(ingest.Options{})}, errw: io.Discard}, p: p}
	if _, err := r.run(context.Background(), []string{sampleScenario}); err != nil {
		t.Fatal(err)
	}
	type at struct{ receiver, event string }
	seen := map[at]int{}
	failedRootSignIns := 0
	for _, m := range msgs {
		for _, a := range m.Group.Alerts {
			seen[at{m.Group.Receiver, a.Event.ID()}]++
			if a.Event.Name() == "ConsoleLogin" && a.Event.Principal().Type == "Root" && a.Event.LoginResult() == event.LoginFailure {
				failedRootSignIns++
				if a.Rule.ID != "root-console-login-failure" {
					t.Errorf("a failed root sign-in's message is led by %s, want root-console-login-failure", a.Rule.ID)
				}
			}
			for _, part := range append([]*event.Alert{a}, a.Also...) {
				if ja := part.Rule.Locales["ja"].Title; ja != "" && strings.Contains(out, part.Rule.Title+" (") && part.Rule.Title != ja {
					t.Errorf("rule %s is shown with its English title %q", part.Rule.ID, part.Rule.Title)
				}
			}
		}
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("event %s reaches %s in %d messages", k.event, k.receiver, n)
		}
	}
	if failedRootSignIns == 0 {
		t.Fatal("no failed root sign-in in the messages")
	}
	// The failed root sign-in: one message, one mention (it was five
	// messages, some with @here and some with @channel).
	for _, block := range strings.Split(out, "\n=== ") {
		if strings.Contains(block, "Root console sign-in failed") && !strings.Contains(block, "mentions @channel\n") {
			t.Errorf("the failed root sign-in's message does not mention @channel alone:\n%s", block)
		}
	}
	for _, want := range []string{"発生時刻", " JST", "他に該当したルール", "mentions @channel"} {
		if !strings.Contains(out, want) {
			t.Errorf("the dry run lacks %q", want)
		}
	}
	if strings.Contains(out, " UTC") {
		t.Error("a time is shown in UTC, not in the configured zone")
	}
}

// TestExamplesOneMessagePerEvent runs every example configuration over
// the sample logs: no event reaches one receiver in two messages.
func TestExamplesOneMessagePerEvent(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("examples: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var msgs []pipeline.Message
			p, err := newPipeline(context.Background(), f, true, func(m pipeline.Message) { msgs = append(msgs, m) }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			r := &pipelineRun{checker: &checker{in: &inputs{reader: ingest.New(ingest.Options{})}, errw: io.Discard}, p: p}
			if _, err := r.run(context.Background(), []string{sampleScenario}); err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, m := range msgs {
				for _, a := range m.Group.Alerts {
					k := m.Group.Receiver + " " + a.Event.ID()
					if seen[k]++; seen[k] == 2 {
						t.Errorf("event %s (%s) reaches %s in two messages", a.Event.ID(), a.Event.Name(), m.Group.Receiver)
					}
				}
			}
			if len(msgs) == 0 {
				t.Error("no message")
			}
		})
	}
}

// TestDryRunPreviewAndRaw: by default a dry run shows messages as people
// read them; --raw and --format json print the exact payloads.
func TestDryRunPreviewAndRaw(t *testing.T) {
	cfg := writeDeliveryConfig(t, "https://hooks.slack.com/services/T000/B000/XXXX")
	out, errs, code := runCmd(t, newCheckCmd(), "", "--config", cfg, "--dry-run", sampleScenario)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if !strings.Contains(out, "=== to slack (slack)") || !strings.Contains(out, "Slack message, colour ") || strings.Contains(out, `"blocks"`) {
		t.Fatalf("preview:\n%s", out)
	}
	for _, args := range [][]string{{"--raw"}, {"--format", "json"}} {
		out, errs, code := runCmd(t, newCheckCmd(), "", append([]string{"--config", cfg, "--dry-run", sampleScenario}, args...)...)
		if code != 0 || !strings.Contains(out, "--- receiver slack (slack)") || !strings.Contains(out, `"blocks"`) {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errs)
		}
	}
	if _, errs, code := runCmd(t, newCheckCmd(), "", "--raw", sampleScenario); code != 1 || !strings.Contains(errs, "--raw prints the payloads of a dry run") {
		t.Fatalf("--raw without --dry-run: exit %d %s", code, errs)
	}
}

// TestRenderPreviewDefault: render shows one folded message per kind, as
// read; --raw prints the payloads.
func TestRenderPreviewDefault(t *testing.T) {
	ev := writeRenderFile(t, "root.json", rootLoginEvent)
	out, _, err := runRenderCmd(t, "--event", ev, "--receiver", "slack,email", "--locale", "ja", "--timezone", "Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Slack message, colour red (#D00000), mentions @channel",
		"【重大】ルートユーザーがコンソールにサインインしました",
		"他に該当したルール",
		"Subject: 【重大】",
		"2022-11-11 01:24:34 JST",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("preview lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "==> "); n != 2 {
		t.Errorf("%d messages for two kinds, want one each (the rules folded):\n%s", n, out)
	}
	raw, _, err := runRenderCmd(t, "--event", ev, "--receiver", "slack", "--raw")
	if err != nil || !strings.HasPrefix(raw, "{") {
		t.Fatalf("--raw: %v\n%s", err, raw)
	}
}

// TestPreviewCleansTerminalControl: a preview goes to a terminal, so
// control characters from an event are shown, not sent.
func TestPreviewCleansTerminalControl(t *testing.T) {
	evil := strings.Replace(rootLoginEvent, `"userAgent": "Mozilla/5.0`, `"userAgent": "\u001b]0;pwned\u0007Mozilla/5.0`, 1)
	ev := writeRenderFile(t, "root.json", evil)
	out, _, err := runRenderCmd(t, "--event", ev, "--receiver", "email,teams,slack,sns,webhook,stdout")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny([]byte(out), "\x1b\x07") {
		t.Fatalf("a control character reached the terminal:\n%q", out)
	}
}
