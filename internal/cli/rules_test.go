package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestRulesTable(t *testing.T) {
	file := writeTestFile(t, filepath.Join(t.TempDir(), "mine.yaml"), checkRules)
	out, errs, code := runCmd(t, newRulesCmd(), "", "--packs", "none", "--rules", file)
	want := `PACK  ID                  SEVERITY  LANGUAGE  TITLE
mine  root-console-login  critical  pattern   Root user signed in to the console
mine  login-arn           info      jq        Console sign-in
mine  create-user         medium    filter    IAM user created
`
	if code != 0 || out != want {
		t.Errorf("exit %d %s, output:\n%s\nwant:\n%s", code, errs, out, want)
	}
}

func TestRulesJSONBuiltin(t *testing.T) {
	out, errs, code := runCmd(t, newRulesCmd(), "", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	packs := map[string]int{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var r ruleJSON
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if r.ID == "" || r.Title == "" || r.Language == "" || r.Match == "" || !strings.HasPrefix(r.File, "rules/") {
			t.Errorf("incomplete rule: %+v", r)
		}
		packs[r.Pack]++
	}
	if len(packs) < 2 {
		t.Errorf("packs: %v", packs)
	}
	out, _, _ = runCmd(t, newRulesCmd(), "", "--packs", "signin")
	if strings.Contains(out[strings.Index(out, "\n")+1:], "\nroot ") {
		t.Errorf("--packs signin listed other packs:\n%s", out)
	}
}

func TestClean(t *testing.T) {
	tests := map[string]string{
		"plain":             "plain",
		"日本語":               "日本語",
		"a\x1b[31mb":        `a\x1b[31mb`,
		"tab\there\r\n":     `tab\x09here\x0d\x0a`,
		"bidi\u202egnp.exe": `bidi\u202egnp.exe`,
		"c1\u0085":          `c1\u0085`,
		"bad\xffutf8":       "bad\uFFFDutf8",
		"del\x7f":           `del\x7f`,
		"root\u200b":        `root\u200b`,
		"\ufeffad\u2060min": `\ufeffad\u2060min`,
	}
	for in, want := range tests {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q; want %q", in, got, want)
		}
	}
}
