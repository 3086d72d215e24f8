package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/trailwatch/trailwatch/internal/geoip"
	"github.com/trailwatch/trailwatch/internal/geoip/geoiptest"
)

var update = flag.Bool("update", false, "rewrite the screenshots in docs/ from TestReportInBrowser:\n\tgo test ./internal/report -run TestReportInBrowser -args -update")

// browserSeen is what testdata/browser.js reports of a page.
type browserSeen struct {
	Title, Lang string
	Charts      map[string]struct {
		Marks         int
		Width, Height float64
	}
	Cards      map[string]int
	Principals []struct {
		Principal, Account                    string
		Signins, Success, Failure, MFA, NoMFA int
	}
	Rows []struct {
		Result, MFA, ID string
	}
	SortsUp, SortsDown bool
	Errors, Requests   []string
}

// TestReportInBrowser opens the HTML report in Debian's Chromium, driven by
// playwright-core: the page loads without console errors and without a
// single request, every chart is drawn, sorting works, a screenshot is
// kept, and the numbers on the page equal those of the CSV output of the
// same report. `make test` installs Chromium (as root) and playwright-core
// (npm ci); elsewhere the test says what is missing and skips.
func TestReportInBrowser(t *testing.T) {
	chromium := cmpOr(os.Getenv("CHROMIUM"), "/usr/bin/chromium")
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("no Chromium at %s (set CHROMIUM, or run `make test`, which installs Debian's chromium where it runs as root)", chromium)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed, so playwright-core cannot drive the browser")
	}
	root, _ := filepath.Abs("../..")
	if _, err := os.Stat(filepath.Join(root, "node_modules", "playwright-core")); err != nil {
		t.Skip("playwright-core is not installed: run `npm ci` at the repository root (make test does)")
	}
	paths, err := geoiptest.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	loc, err := geoip.Open(paths.City, paths.ASN)
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	r := build(t, Options{Location: tokyo, GeoIP: loc}, fixture, "../../testdata/sample")
	var csvOut bytes.Buffer
	if err := r.WriteCSV(&csvOut); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&csvOut).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows = rows[1:]

	artefacts := cmpOr(os.Getenv("TRAILWATCH_ARTIFACTS"), filepath.Join(os.TempDir(), "trailwatch-artifacts"))
	if err := os.MkdirAll(artefacts, 0o755); err != nil {
		t.Fatal(err)
	}
	// One browser opens the page in every locale.
	dir := t.TempDir()
	args := []string{"testdata/browser.js"}
	for _, locale := range Locales {
		pagePath := filepath.Join(dir, "logins-"+locale+".html")
		var page bytes.Buffer
		if err := r.WriteHTML(&page, locale); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pagePath, page.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, pagePath, filepath.Join(artefacts, "report-logins-"+locale+".png"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("browser: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(Locales) {
		t.Fatalf("browser said %q", out)
	}
	for i, locale := range Locales {
		t.Run(locale, func(t *testing.T) {
			var seen browserSeen
			if err := json.Unmarshal([]byte(lines[i]), &seen); err != nil {
				t.Fatalf("browser said %q: %v", lines[i], err)
			}
			shot := args[2+2*i]
			t.Logf("screenshot kept at %s", shot)
			checkSeen(t, seen, rows, locale)
			if *update {
				b, err := os.ReadFile(shot)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, "docs", "report-logins-"+locale+".png"), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// checkSeen compares the page as the browser showed it with the CSV rows.
func checkSeen(t *testing.T, seen browserSeen, rows [][]string, locale string) {
	t.Helper()
	if len(seen.Errors) > 0 {
		t.Errorf("console errors: %q", seen.Errors)
	}
	if len(seen.Requests) > 0 {
		t.Errorf("the page made requests: %q", seen.Requests)
	}
	if seen.Lang != locale || seen.Title != words[locale]["title"] {
		t.Errorf("page language %q, title %q", seen.Lang, seen.Title)
	}
	for _, c := range []string{"per-day", "per-principal", "mfa", "failures", "networks"} {
		ch, ok := seen.Charts[c]
		if !ok || ch.Marks == 0 || ch.Width < 100 || ch.Height < 50 {
			t.Errorf("chart %s: %+v, present %v", c, ch, ok)
		}
	}
	if !seen.SortsUp || !seen.SortsDown {
		t.Errorf("sorting the principal table: up %v, down %v", seen.SortsUp, seen.SortsDown)
	}

	// The CSV's numbers, counted here from its rows.
	col := map[string]int{}
	for i, h := range CSVHeader {
		col[h] = i
	}
	type tally struct{ signins, success, failure, mfa, nomfa int }
	byPrincipal := map[string]*tally{}
	var total tally
	for _, row := range rows {
		k := row[col["principal"]] + "|" + row[col["account"]]
		p := byPrincipal[k]
		if p == nil {
			p = &tally{}
			byPrincipal[k] = p
		}
		for _, x := range []*tally{p, &total} {
			x.signins++
			switch row[col["result"]] {
			case Success:
				x.success++
			case Failure:
				x.failure++
			}
			switch row[col["mfa"]] {
			case Yes:
				x.mfa++
			case No:
				x.nomfa++
			}
		}
	}
	if seen.Cards["signins"] != total.signins || seen.Cards["success"] != total.success || seen.Cards["failure"] != total.failure ||
		seen.Cards["principals"] != len(byPrincipal) {
		t.Errorf("cards %v; the CSV has %+v and %d principals", seen.Cards, total, len(byPrincipal))
	}
	if len(seen.Principals) != len(byPrincipal) {
		t.Errorf("page lists %d principals, the CSV has %d", len(seen.Principals), len(byPrincipal))
	}
	for _, p := range seen.Principals {
		want := byPrincipal[p.Principal+"|"+p.Account]
		got := tally{p.Signins, p.Success, p.Failure, p.MFA, p.NoMFA}
		if want == nil || got != *want {
			t.Errorf("principal %s (%s) on the page %+v, in the CSV %+v", p.Principal, p.Account, got, want)
		}
	}
	var pageRows, csvRows []string
	for _, r := range seen.Rows {
		pageRows = append(pageRows, r.ID+"|"+r.Result+"|"+r.MFA)
	}
	for _, row := range rows {
		csvRows = append(csvRows, row[col["event_id"]]+"|"+row[col["result"]]+"|"+row[col["mfa"]])
	}
	slices.Sort(pageRows)
	slices.Sort(csvRows)
	if !slices.Equal(pageRows, csvRows) {
		t.Errorf("page rows differ from the CSV's: %d and %d", len(pageRows), len(csvRows))
	}
	if n := strconv.Itoa(len(rows)); !strings.Contains(strconv.Itoa(seen.Cards["signins"]), n) {
		t.Errorf("sign-in card %d, CSV rows %s", seen.Cards["signins"], n)
	}
}
