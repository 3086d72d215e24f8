package rule

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/trailwatch/trailwatch/rules"
)

var update = flag.Bool("update", false, "rewrite packtable.go from the built-in packs (rules/*.yaml)")

// TestPackTable checks that packtable.go holds what the built-in packs say
// now. After editing a pack, rewrite it:
//
//	go test ./internal/rule -run 'TestPackTable$' -update
//
// (A stale table is not used: each pack's entry carries the SHA-256 of the
// file it was made from. But then the pack is parsed at every start.)
func TestPackTable(t *testing.T) {
	src := generatePackTable(t)
	if *update {
		if err := os.WriteFile("packtable.go", src, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	cur, err := os.ReadFile("packtable.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cur, src) {
		t.Fatal("packtable.go does not match rules/*.yaml; rewrite it with: go test ./internal/rule -run 'TestPackTable$' -update")
	}
}

// TestPackTableRules loads every built-in pack from packTable and checks
// that its rules are those a whole parse of its YAML gives, without tests.
func TestPackTableRules(t *testing.T) {
	entries, err := fs.ReadDir(rules.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || !IsRuleFile(e.Name()) {
			continue
		}
		name := e.Name()
		t.Run(PackName(name), func(t *testing.T) {
			data, err := fs.ReadFile(rules.FS, name)
			if err != nil {
				t.Fatal(err)
			}
			table, ok := fromTable(packTable, name, "rules/"+name, data)
			if !ok {
				t.Fatal("packTable has no rules for the pack as it is; rewrite it with: go test ./internal/rule -run 'TestPackTable$' -update")
			}
			whole, err := loadFSFile(rules.FS, name, "rules/"+name, false)
			if err != nil {
				t.Fatal(err)
			}
			sameRules(t, table, whole)
			f, err := parser.ParseBytes(data, 0)
			if err != nil {
				t.Fatal(err)
			}
			if p := tableEntry(packTable, name, data); p.optIn == packDefaultIn(f) {
				t.Errorf("the table says the pack runs by default: %v; its YAML says %v", !p.optIn, packDefaultIn(f))
			}
		})
	}
	// Another file, or the same name with other bytes, is not in the table.
	if _, ok := fromTable(packTable, "signin.yaml", "rules/signin.yaml", []byte("rules: []\n")); ok {
		t.Error("fromTable gave rules for bytes the table was not made from")
	}
	if _, ok := fromTable(packTable, "mine.yaml", "rules/mine.yaml", nil); ok {
		t.Error("fromTable gave rules for a file the table does not hold")
	}
}

// generatePackTable writes packtable.go from the built-in packs: each
// pack's rules as the loader reads them from YAML, and the summaries'
// source text, read from the YAML here.
func generatePackTable(t *testing.T) []byte {
	t.Helper()
	entries, err := fs.ReadDir(rules.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	thresholds := false
	for _, e := range entries {
		if e.IsDir() || !IsRuleFile(e.Name()) {
			continue
		}
		data, err := fs.ReadFile(rules.FS, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		rs, err := loadFSFile(rules.FS, e.Name(), "rules/"+e.Name(), false)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(rs, func(r *Rule) bool { return r.Language == "sigma" }) {
			continue // compiled from its YAML nodes, so read from YAML
		}
		summaries := summarySources(t, data)
		sum := sha256.Sum256(data)
		fmt.Fprintf(&b, "{\nfile: %q,\nsum: %q,\n", e.Name(), hex.EncodeToString(sum[:]))
		if f, err := parser.ParseBytes(data, 0); err != nil || !packDefaultIn(f) {
			b.WriteString("optIn: true,\n")
		}
		b.WriteString("rules: []ruleSpec{\n")
		for _, r := range rs {
			src := summaries[r.ID]
			fmt.Fprintf(&b, "{\nid: %q,\nline: %d,\ntitle: %q,\nseverity: %s,\ndescription: %q,\n", r.ID, r.Line, r.Title, severityConst(r.Severity.String()), r.Description)
			if r.Tags != nil {
				fmt.Fprintf(&b, "tags: %s,\n", stringsLiteral(r.Tags))
			}
			if r.Refs != nil {
				fmt.Fprintf(&b, "refs: %s,\n", stringsLiteral(r.Refs))
			}
			if (r.Summary != nil) != (src[""] != "") {
				t.Fatalf("%s: summary source not found", r.ID)
			}
			if src[""] != "" {
				fmt.Fprintf(&b, "summary: %q,\n", src[""])
			}
			if r.Locales != nil {
				b.WriteString("locales: []localSpec{\n")
				for _, loc := range slices.Sorted(func(yield func(string) bool) {
					for k := range r.Locales {
						if !yield(k) {
							return
						}
					}
				}) {
					l := r.Locales[loc]
					if (l.Summary != nil) != (src[loc] != "") {
						t.Fatalf("%s: %s summary source not found", r.ID, loc)
					}
					fmt.Fprintf(&b, "{locale: %q, title: %q, description: %q, summary: %q},\n", loc, l.Title, l.Description, src[loc])
				}
				b.WriteString("},\n")
			}
			if th := r.Threshold; th != nil {
				thresholds = true
				fmt.Fprintf(&b, "threshold: &detect.ThresholdSpec{Count: %d, Window: %s", th.Count, durationLiteral(th.Window))
				if th.By != nil {
					fmt.Fprintf(&b, ", By: %s", stringsLiteral(th.By))
				}
				if th.Distinct != nil {
					fmt.Fprintf(&b, ", Distinct: %s", stringsLiteral(th.Distinct))
				}
				b.WriteString("},\n")
			}
			fmt.Fprintf(&b, "language: %q,\nsource: %q,\n},\n", r.Language, r.Source)
		}
		b.WriteString("},\n},\n")
	}
	b.WriteString("}\n")
	imports := `"github.com/trailwatch/trailwatch/internal/event"`
	if thresholds {
		imports = `"time"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"`
	}
	head := `// Code generated by TestPackTable from rules/*.yaml; DO NOT EDIT.
// Rewrite it after editing a pack: go test ./internal/rule -run 'TestPackTable$' -update

package rule

import (
	` + imports + `
)

// packTable holds the built-in packs' rules, so that a run that does not
// need their tests loads them without parsing YAML (table.go).
var packTable = []packSpec{
`
	src, err := format.Source(append([]byte(head), b.Bytes()...))
	if err != nil {
		t.Fatalf("the generated table does not format: %v\n%s", err, b.Bytes())
	}
	return src
}

// summarySources returns each rule's summary source text by rule id, keyed
// by locale ("" for the rule's own).
func summarySources(t *testing.T, data []byte) map[string]map[string]string {
	t.Helper()
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	value := func(m *ast.MappingNode, key string) ast.Node {
		for _, kv := range m.Values {
			if k, _ := keyText(kv.Key); k == key {
				return kv.Value
			}
		}
		return nil
	}
	out := map[string]map[string]string{}
	top, _ := f.Docs[0].Body.(*ast.MappingNode)
	seq, _ := value(top, "rules").(*ast.SequenceNode)
	if seq == nil {
		return out
	}
	for _, item := range seq.Values {
		m := item.(*ast.MappingNode)
		id, _ := scalar(value(m, "id"))
		src := map[string]string{}
		if s := value(m, "summary"); s != nil {
			src[""], _ = scalar(s)
		}
		if locs, ok := value(m, "locales").(*ast.MappingNode); ok {
			for _, kv := range locs.Values {
				loc, _ := keyText(kv.Key)
				if lm, ok := kv.Value.(*ast.MappingNode); ok {
					if s := value(lm, "summary"); s != nil {
						src[loc], _ = scalar(s)
					}
				}
			}
		}
		out[id] = src
	}
	return out
}

func severityConst(name string) string {
	return "event.Severity" + strings.ToUpper(name[:1]) + name[1:]
}

func stringsLiteral(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}

func durationLiteral(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%d * time.Second", d/time.Second)
	}
	return fmt.Sprintf("time.Duration(%d)", int64(d))
}
