package cli

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// sampleSignIns counts the console sign-ins of testdata/sample on its own:
// the log files are read with encoding/json, and the principal, result and
// MFA taken as CloudTrail's documentation describes them (root is "root",
// an IAM user its userName; responseElements.ConsoleLogin; MFAUsed).
func sampleSignIns(t *testing.T) map[string][3]int {
	t.Helper()
	out := map[string][3]int{} // principal: success, failure, MFA
	err := filepath.WalkDir("../../testdata/sample", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json.gz") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		var log struct {
			Records []struct {
				EventName, EventSource string
				UserIdentity           struct{ Type, UserName string }
				ResponseElements       map[string]any
				AdditionalEventData    map[string]any
			}
		}
		if err := json.NewDecoder(zr).Decode(&log); err != nil {
			return err
		}
		for _, r := range log.Records {
			if r.EventSource != "signin.amazonaws.com" || r.EventName != "ConsoleLogin" && r.EventName != "SwitchRole" {
				continue
			}
			who := r.UserIdentity.UserName
			if r.UserIdentity.Type == "Root" {
				who = "root"
			}
			c := out[who]
			switch r.ResponseElements[r.EventName] {
			case "Success":
				c[0]++
			case "Failure":
				c[1]++
			}
			if v, _ := r.AdditionalEventData["MFAUsed"].(string); strings.EqualFold(v, "yes") {
				c[2]++
			}
			out[who] = c
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReportLoginsSample: `trailwatch report logins testdata/sample` prints
// a table whose per-principal success, failure and MFA counts equal those
// counted independently from the events.
func TestReportLoginsSample(t *testing.T) {
	want := sampleSignIns(t)
	if len(want) < 2 {
		t.Fatalf("the sample has %d principals signing in; the test needs several", len(want))
	}
	out, errOut, code := runCmd(t, newRootCmd(), "", "report", "logins", "../../testdata/sample")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "PRINCIPAL") {
		t.Fatalf("header %q", lines[0])
	}
	cols := regexp.MustCompile(`\s{2,}`)
	got := map[string][3]int{}
	for _, l := range lines[1:] {
		if l == "" {
			break
		}
		f := cols.Split(l, -1)
		n := func(i int) int {
			v, err := strconv.Atoi(f[i])
			if err != nil {
				t.Fatalf("column %d of %q: %v", i, l, err)
			}
			return v
		}
		got[f[0]] = [3]int{n(4), n(5), n(6)}
	}
	if len(got) != len(want) {
		t.Errorf("table has %d principals %v, want %d %v", len(got), got, len(want), want)
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: success, failure, MFA = %v, want %v", p, got[p], w)
		}
	}
	if !strings.Contains(errOut, "trailwatch: 529 events read, 8 sign-ins, 0 skipped, 0 errors") {
		t.Errorf("stderr %q", errOut)
	}
}

// TestReportLoginsFormats: CSV, JSON and HTML (in Japanese, with --tz and
// --output) come out, and bad flags read as sentences.
func TestReportLoginsFormats(t *testing.T) {
	out, _, code := runCmd(t, newRootCmd(), "", "report", "logins", "--format", "csv", "--tz", "Asia/Tokyo", "../../testdata/sample")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(rows) != 9 || !strings.HasSuffix(rows[1][0], "+09:00") {
		t.Fatalf("exit %d, %v, %d rows: %q", code, err, len(rows), out)
	}
	out, _, _ = runCmd(t, newRootCmd(), "", "report", "logins", "--format", "json", "../../testdata/sample")
	var j struct {
		Totals struct {
			SignIns int `json:"sign_ins"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(out), &j); err != nil || j.Totals.SignIns != 8 {
		t.Errorf("json: %v %+v", err, j)
	}
	page := filepath.Join(t.TempDir(), "logins.html")
	_, errOut, code := runCmd(t, newRootCmd(), "", "report", "logins", "--format", "html", "--locale", "ja", "-o", page, "../../testdata/sample")
	b, err := os.ReadFile(page)
	if code != 0 || err != nil || !strings.Contains(string(b), `<html lang="ja">`) {
		t.Errorf("html: exit %d, %v, %s", code, err, errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "pdf"}, `unknown --format "pdf": use table, csv, json or html`},
		{[]string{"--locale", "fr"}, `unknown --locale "fr": use en or ja`},
		{[]string{"--tz", "Mars/Olympus"}, `unknown --timezone "Mars/Olympus": use an IANA zone name such as UTC or Asia/Tokyo`},
	} {
		_, errOut, code := runCmd(t, newRootCmd(), "", append([]string{"report", "logins"}, append(tc.args, "../../testdata/sample")...)...)
		if code != 1 || strings.TrimSpace(errOut) != tc.want {
			t.Errorf("%q: exit %d, %q", tc.args, code, errOut)
		}
	}
}

// TestReportLoginsConfig: the configuration's time zone and locale apply.
func TestReportLoginsConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "trailwatch.yaml")
	if err := os.WriteFile(cfg, []byte("timezone: Asia/Tokyo\nlocale: ja\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(t, newRootCmd(), "", "report", "logins", "--config", cfg, "--format", "html", "../../testdata/sample")
	if code != 0 || !strings.Contains(out, `<html lang="ja">`) || !strings.Contains(out, "Asia/Tokyo") {
		t.Errorf("exit %d, %s", code, errOut)
	}
}
