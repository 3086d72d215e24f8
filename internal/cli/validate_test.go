package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/config/source/sourcetest"
)

func runConfigCmd(t *testing.T, cmdName string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runConfigCmdIn(t, "", cmdName, args...)
}

func runConfigCmdIn(t *testing.T, stdin, cmdName string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := newValidateCmd()
	if cmdName == "route" {
		cmd = newRouteCmd()
	}
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err := cmd.Execute()
	switch {
	case err == nil:
	default:
		var ee *ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("error %v is not an *ExitError", err)
		}
		code = ee.Code
		if ee.Err != nil {
			errOut.WriteString(ee.Err.Error() + "\n")
		}
	}
	return out.String(), errOut.String(), code
}

func writeConfigFile(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "trailwatch.yaml")
	if err := os.WriteFile(p, []byte(strings.TrimPrefix(src, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateExamples(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.yaml")
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out, errOut, code := runConfigCmd(t, "validate", "--config", f)
			if code != 0 || !strings.HasPrefix(out, "config OK: ") {
				t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
		})
	}
}

func TestValidateSummary(t *testing.T) {
	p := writeConfigFile(t, `
rules: {packs: [signin]}
receivers:
  - name: a
    stdout: {}
  - name: b
    stdout: {format: json}
route:
  receiver: a
  routes:
    - {matchers: [severity >= high], receiver: b}
silences:
  - matchers: [rule = root-console-login]
    expires: 2020-01-01T00:00:00Z
    comment: long gone
  - matchers: [rule = console-login-failur]
    expires: 2999-01-01T00:00:00Z
    comment: far away
`)
	out, errOut, code := runConfigCmd(t, "validate", "--config", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "config OK: 2 receivers, 2 routes, 2 silences (1 expired)\nrules: ") {
		t.Errorf("stdout = %q", out)
	}
	want := "note: " + p + ":12: silences[0] expired at 2020-01-01T00:00:00Z and is ignored\n" +
		"note: " + p + ":15: silences[1].matchers[0]: no loaded rule has id \"console-login-failur\", so this matcher never holds\n"
	if errOut != want {
		t.Errorf("stderr = %q, want %q", errOut, want)
	}
}

func TestValidateErrors(t *testing.T) {
	p := writeConfigFile(t, `
rules:
  packs: [signin, sigin]
  disable: [no-such-rule]
receivers:
  - name: a
    stdout: {}
    templates:
      title: "{{ .Title "
route:
  receiver: a
`)
	_, errOut, code := runConfigCmd(t, "validate", "--config", p)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.HasPrefix(errOut, p+`:2: rules.packs[1]: unknown pack "sigin" (the built-in packs are `) {
		t.Errorf("stderr = %s", errOut)
	}
	if !strings.Contains(errOut, "\n"+p+`:7: receivers[0].templates: render: template "title" does not parse`) {
		t.Errorf("stderr lacks the template error: %s", errOut)
	}

	p = writeConfigFile(t, "recievers: []\n")
	_, errOut, code = runConfigCmd(t, "validate", "--config", p)
	if code != 1 || errOut != p+":1: unknown field \"recievers\"\n" {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}

	p = writeConfigFile(t, `
rules:
  disable: [no-such-rule]
  severity: {also-missing: high}
`)
	_, errOut, _ = runConfigCmd(t, "validate", "--config", p)
	want := p + `:2: rules.disable[0]: no loaded rule or detector has id "no-such-rule"` + "\n" +
		p + `:3: rules.severity.also-missing: no loaded rule has id "also-missing"` + "\n"
	if errOut != want {
		t.Errorf("stderr\n got: %s\nwant: %s", errOut, want)
	}

	_, errOut, code = runConfigCmd(t, "validate", "--config", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: exit %d, %s", code, errOut)
	}
}

func TestValidateShowHidesSecrets(t *testing.T) {
	p := writeConfigFile(t, `
receivers:
  - name: s
    slack: {webhook_url: ssm:/very/private/name}
route: {receiver: s}
`)
	out, _, code := runConfigCmd(t, "validate", "--config", p, "--show")
	if code != 0 || !strings.Contains(out, "webhook_url: <secret>") || strings.Contains(out, "private") {
		t.Errorf("exit %d, stdout:\n%s", code, out)
	}
	if !strings.Contains(out, "timezone: UTC") || !strings.Contains(out, "ttl: 7d") {
		t.Errorf("defaults missing from the dump:\n%s", out)
	}
}

// TestValidateReportsEverythingAtOnce: nine mistakes in a configuration,
// its rule file, its detector file and a template are all reported by one
// run, each with its file and line. A misspelt key inside a detector fails
// validate as it fails the function.
func TestValidateReportsEverythingAtOnce(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("trailwatch.yaml", `rules:
  packs: [signin, rot]
  files: [rules/*.yaml, networks.yaml]
timezone: Asia/Tokio
recievers: []
receivers:
  - name: slack
    slack:
      webhok_url: env:SLACK_URL
  - name: log
    stdout: {format: text}
    templates:
      title: "{{ .Title "
route:
  receiver: log
  group_by: [rule, acount]
`)
	write("rules/ours.yaml", `rules:
  - id: our-key
    titel: Access key created
    severity: high
    pattern:
      eventName: [CreateAccessKey]
  - id: our-cidr
    title: Bad cidr
    severity: high
    pattern:
      sourceIPAddress: [{cidr: 10.0.0.0/33}]
`)
	write("networks.yaml", `networks:
  office: [203.0.113.0/24]
detectors:
  - id: signin-untrusted-network
    netwroks: [office]
`)
	cfg := filepath.Join(dir, "trailwatch.yaml")
	_, errOut, code := runConfigCmd(t, "validate", cfg)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, want := range []string{
		cfg + `:4: timezone: unknown time zone "Asia/Tokio"`,
		cfg + `:5: unknown field "recievers"`,
		cfg + `:9: receivers[0].slack: unknown field "webhok_url"`,
		cfg + `:16: route.group_by[1]: unknown label "acount"`,
		cfg + `:2: rules.packs[1]: unknown pack "rot"`,
		filepath.Join(dir, "rules", "ours.yaml") + `:3: rule "our-key": unknown key "titel"`,
		filepath.Join(dir, "rules", "ours.yaml") + `:10: rule "our-cidr": pattern: sourceIPAddress: cidr "10.0.0.0/33": invalid prefix length`,
		filepath.Join(dir, "networks.yaml") + `:5: unknown field "netwroks"`,
		cfg + `:12: receivers[1].templates: render: template "title" does not parse`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("missing %q in:\n%s", want, errOut)
		}
	}
	// The detector file alone: validate fails as the function would.
	write("trailwatch.yaml", "rules:\n  files: [networks.yaml]\n")
	if _, errOut, code := runConfigCmd(t, "validate", cfg); code != 1 || !strings.Contains(errOut, `networks.yaml:5: unknown field "netwroks"`) {
		t.Errorf("a misspelt detector key: exit %d\n%s", code, errOut)
	}
}

func TestValidateNamesTheConfigOnce(t *testing.T) {
	_, errOut, code := runConfigCmd(t, "validate", "--config", "a.yaml", "b.yaml")
	if code != 2 || !strings.Contains(errOut, "name the configuration once") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}

// TestValidateRemote: validate reads a configuration from S3 or SSM with
// the rule files beside it, through the loader the function uses.
func TestValidateRemote(t *testing.T) {
	s3 := sourcetest.NewS3(t)
	ssm := sourcetest.NewSSM(t)
	for k, v := range sourcetest.Env(t.TempDir(), s3, ssm) {
		t.Setenv(k, v)
	}
	rules := "rules:\n  - id: our-key\n    title: Access key created\n    severity: high\n    pattern: {eventName: [CreateAccessKey]}\n"
	s3.Put(t, "cfg", "tw/trailwatch.yaml", []byte("rules:\n  packs: none\n  files: [rules/*.yaml]\n"))
	s3.Put(t, "cfg", "tw/rules/ours.yaml", []byte(rules))
	ssm.Put("/trailwatch/config", "rules:\n  packs: none\n  files: [rules/]\n")
	ssm.Put("/trailwatch/rules/ours", rules)
	for _, ref := range []string{"s3://cfg/tw/trailwatch.yaml", "ssm:/trailwatch/config"} {
		out, errOut, code := runConfigCmd(t, "validate", ref)
		if code != 0 || !strings.Contains(out, "rules: 1 loaded") {
			t.Errorf("%s: exit %d\n%s%s", ref, code, out, errOut)
		}
	}
	ssm.Put("/trailwatch/rules/broken", "rules:\n  - id: x\n    titel: y\n")
	_, errOut, code := runConfigCmd(t, "validate", "ssm:/trailwatch/config")
	if code != 1 || !strings.Contains(errOut, `ssm:/trailwatch/rules/broken:3: rule "x": unknown key "titel"`) {
		t.Errorf("broken rule parameter: exit %d\n%s", code, errOut)
	}
}

// TestValidateCountsTheDefaultPacks: a configuration that leaves rules.packs
// out, or names the groups default and all, loads exactly the rules the
// pipeline loads, not none.
func TestValidateCountsTheDefaultPacks(t *testing.T) {
	for _, tc := range []struct{ packs, list string }{
		{"", "default"},
		{"rules: {packs: [default]}\n", "default"},
		{"rules: {packs: [all]}\n", "all"},
		{"rules: {packs: [default, cis]}\n", "default,cis"},
	} {
		p := writeConfigFile(t, tc.packs+"state: {backend: memory}\n")
		out, errOut, code := runConfigCmd(t, "validate", "--config", p)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", tc.packs, code, errOut)
		}
		listed, _, code := runCmd(t, newRulesCmd(), "", "--packs", tc.list)
		if code != 0 {
			t.Fatalf("rules --packs %s: exit %d", tc.list, code)
		}
		want := fmt.Sprintf("rules: %d loaded\n", strings.Count(listed, "\n")-1) // less the header
		if !strings.Contains(out, want) {
			t.Errorf("%q: validate says %q, want %q", tc.packs, out, want)
		}
	}
}
