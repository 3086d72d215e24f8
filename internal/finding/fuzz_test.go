package finding_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/finding"
)

// FuzzRead feeds arbitrary JSON to the finding reader as both kinds of
// finding event. It must never panic, read at most the findings asked for,
// keep every text bounded and valid UTF-8, and build console links only on
// the consoles' hosts.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "findings", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, strings.Contains(p, "securityhub"))
	}
	f.Add([]byte(`{"detail":{"findings":[{"Id":"a","Severity":{"Normalized":"NaN"}},{"Id":1},null]}}`), true)
	f.Add([]byte(`{"detail":{"id":"x","arn":"arn:aws:guardduty:bad host/:1:f","severity":1e400,"service":{"count":"-1e99"}}}`), false)
	f.Fuzz(func(t *testing.T, raw []byte, sh bool) {
		kind := event.KindGuardDuty
		if sh {
			kind = event.KindSecurityHub
		}
		ev, err := event.Parse(raw, event.Origin{Input: "fuzz", Kind: kind})
		if err != nil {
			return
		}
		items, _ := finding.Read(ev, 5)
		if len(items) > 5 {
			t.Fatalf("read %d findings, asked for at most 5", len(items))
		}
		for _, it := range items {
			fd := it.Finding
			if fd.ID == "" || it.Record == nil || it.Record.Kind() != kind {
				t.Fatalf("item without id or record: %+v", it)
			}
			for _, s := range []string{fd.ID, fd.ARN, fd.Type, fd.Title, fd.Description, fd.ProductSeverity, fd.Product,
				fd.Generator, fd.Control, fd.Account, fd.Region, fd.ResourceType, fd.ResourceID, fd.Principal,
				fd.RemoteIP, fd.Compliance, fd.Workflow, fd.Remediation} {
				if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 2048+1100 {
					t.Fatalf("unbounded or invalid text %.60q", s)
				}
			}
			if fd.Severity < event.SeverityInfo || fd.Severity > event.SeverityCritical || fd.Count < 0 {
				t.Fatalf("severity %d, count %d", fd.Severity, fd.Count)
			}
			if u := fd.URL; u != "" {
				host, _, _ := strings.Cut(strings.TrimPrefix(u, "https://"), "/")
				if !strings.HasPrefix(u, "https://") || strings.ContainsAny(u, " \"<>\\\n") ||
					!(strings.HasSuffix(host, ".console.aws.amazon.com") || strings.HasSuffix(host, ".console.amazonaws.cn") || host == "console.amazonaws-us-gov.com") {
					t.Fatalf("bad console link %q", u)
				}
			}
		}
	})
}
