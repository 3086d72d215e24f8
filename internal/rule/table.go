package rule

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
)

// A packSpec holds the rules of one built-in pack file as packtable.go
// keeps them: read from the file's YAML when the table was made, not yet
// compiled. Loading a pack from the table compiles the rules as loading
// them from YAML does, without parsing YAML, which is most of what loading
// costs; only runs that leave the tests out use it (SkipBuiltinTests), as
// the table holds none.
type packSpec struct {
	// file is the pack's name in rules.FS ("signin.yaml").
	file string
	// sum is the hex SHA-256 of the file the table was made from: a pack
	// edited since is read from its YAML.
	sum string
	// optIn reports that the pack says pack: {default: false}.
	optIn bool
	rules []ruleSpec
}

// ruleSpec is one rule as the loader reads it from its file: descriptions
// trimmed, severity and threshold parsed, a pattern mapping written as
// JSON; summaries and the match are source text, compiled when the pack is
// loaded.
type ruleSpec struct {
	id          string
	line        int
	title       string
	severity    event.Severity
	description string
	tags        []string
	refs        []string
	summary     string
	locales     []localSpec
	threshold   *detect.ThresholdSpec
	language    string
	source      string
}

// localSpec is a rule's text in one locale.
type localSpec struct {
	locale      string
	title       string
	description string
	summary     string
}

// tableEntry returns the entry of table made from the built-in pack file
// name holding exactly data, or nil.
func tableEntry(table []packSpec, name string, data []byte) *packSpec {
	i := slices.IndexFunc(table, func(p packSpec) bool { return p.file == name })
	if i < 0 {
		return nil
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != table[i].sum {
		return nil
	}
	return &table[i]
}

// fromTable returns the rules of the built-in pack file name (display in
// messages) from table, without their tests; ok is false when the table
// has no rules made from exactly data, or they do not compile.
func fromTable(table []packSpec, name, display string, data []byte) (rules []*Rule, ok bool) {
	p := tableEntry(table, name, data)
	if p == nil {
		return nil, false
	}
	pack := PackName(display)
	rules = make([]*Rule, 0, len(p.rules))
	for j := range p.rules {
		r, err := p.rules[j].compile(pack, display)
		if err != nil {
			return nil, false
		}
		rules = append(rules, r)
	}
	return rules, true
}

// compile makes the rule s describes, as fileParser.rule does from its
// YAML. The rule shares nothing mutable with the table.
func (s *ruleSpec) compile(pack, file string) (*Rule, error) {
	r := &Rule{
		ID:          s.id,
		Title:       s.title,
		Severity:    s.severity,
		Description: s.description,
		Tags:        slices.Clone(s.tags),
		Refs:        slices.Clone(s.refs),
		Pack:        pack,
		File:        file,
		Line:        s.line,
	}
	if s.threshold != nil {
		t := *s.threshold
		t.By, t.Distinct = slices.Clone(t.By), slices.Clone(t.Distinct)
		r.Threshold = &t
	}
	if s.summary != "" {
		st, err := compileSummaryTemplate(s.id, s.summary)
		if err != nil {
			return nil, err
		}
		r.Summary, r.summary = st.tmpl, st
	}
	if s.locales != nil {
		r.Locales = make(map[string]*Local, len(s.locales))
		for _, ls := range s.locales {
			l := &Local{Title: ls.title, Description: ls.description}
			if ls.summary != "" {
				st, err := compileSummaryTemplate(s.id, ls.summary)
				if err != nil {
					return nil, err
				}
				l.Summary, l.summary = st.tmpl, st
			}
			r.Locales[ls.locale] = l
		}
	}
	for _, l := range Languages() {
		if l.Name != s.language {
			continue
		}
		m, err := l.Compile(s.source)
		if err != nil {
			return nil, err
		}
		r.Language, r.Source, r.matcher = s.language, s.source, m
		return r, nil
	}
	return nil, fmt.Errorf("unknown language %q", s.language)
}
