package cli

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestTestBuiltinPacks(t *testing.T) {
	out, errs, code := runCmd(t, newTestCmd(), "")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	last := out[strings.LastIndex(strings.TrimSuffix(out, "\n"), "\n")+1:]
	if !regexp.MustCompile(`^[1-9][0-9]* passed, 0 failed\n$`).MatchString(last) {
		t.Errorf("closing line %q", last)
	}
}

func TestTestFiles(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "events", "root.json"), rootLogin)
	file := writeTestFile(t, filepath.Join(dir, "pack.yaml"), checkRules+`    tests:
      - name: creates a user
        alert: true
        event: {eventName: CreateUser}
      - name: root login is not a user creation
        alert: true
        file: events/root.json
`)
	out, _, code := runCmd(t, newTestCmd(), "", "-v", dir)
	want := `none  pack/root-console-login: no tests
none  pack/login-arn: no tests
FAIL  pack/create-user (1 of 2 tests failed)
      ok creates a user (alert)
      ` + file + `:20: rule "create-user" test "root login is not a user creation": expected an alert, got none
1 passed, 1 failed
`
	if code != 1 || out != want {
		t.Errorf("exit %d, output:\n%s\nwant:\n%s", code, out, want)
	}
}

func TestTestLoadError(t *testing.T) {
	dir := t.TempDir()
	file := writeTestFile(t, filepath.Join(dir, "bad.yaml"), "rules:\n  - id: x\n    title: X\n    severity: high\n")
	out, errs, code := runCmd(t, newTestCmd(), "", file)
	want := file + `:2: rule "x": has no match; a rule has exactly one of pattern, filter, jq, sigma` + "\n"
	if code != 1 || out != "" || errs != want {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant:\n%s", code, out, errs, want)
	}
	_, errs, code = runCmd(t, newTestCmd(), "", "--packs", "signin", file)
	if code != 1 || !strings.Contains(errs, "cannot be combined") {
		t.Errorf("--packs with files: exit %d %s", code, errs)
	}
}
