package rule

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/yamlnode"
)

// ruleKeys are the keys a rule may have, in the order the docs list them.
var ruleKeys = []string{"id", "title", "severity", "description", "tags", "refs", "summary", "locales", "threshold", "pattern", "filter", "jq", "sigma", "tests"}

// localKeys are the keys of one locale's text under a rule's locales.
var localKeys = []string{"title", "summary", "description"}

// fileKeys are the top-level keys of a rule file.
var fileKeys = []string{"pack", "rules", "networks", "detectors"}

// packKeys are the keys of a rule file's "pack" settings.
var packKeys = []string{"default"}

// testKeys are the keys a rule test may have.
var testKeys = []string{"name", "alert", "event", "file"}

var idPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// IsRuleFile reports whether name has a rule file extension (.yaml, .yml).
func IsRuleFile(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// PackName returns the pack a rule file defines: its base name without the
// extension.
func PackName(file string) string {
	base := path.Base(filepath.ToSlash(file))
	return strings.TrimSuffix(base, path.Ext(base))
}

// LoadFile loads the rules of one rule file on disk. Test event files are
// read relative to the rule file's folder.
func LoadFile(file string) ([]*Rule, error) {
	return unique(loadFile(file))
}

// unique adds Unique's verdict to a load's result.
func unique(rules []*Rule, err error) ([]*Rule, error) {
	return rules, errors.Join(err, Unique(rules))
}

func loadFile(file string) ([]*Rule, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read rule file: %w", err)
	}
	dir := filepath.Dir(file)
	resolve := func(rel string) (string, func() ([]byte, error), error) {
		p := rel
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, filepath.FromSlash(rel))
		}
		return p, func() ([]byte, error) { return os.ReadFile(p) }, nil
	}
	return parse(data, file, resolve)
}

// LoadPath loads a rule file, or every rule file (*.yaml, *.yml) under a
// folder, recursively, skipping folders named testdata. Files are read in
// lexical order and every error is reported.
func LoadPath(p string) ([]*Rule, error) {
	return unique(loadPath(p))
}

func loadPath(p string) ([]*Rule, error) {
	files, err := ruleFiles(p)
	if err != nil {
		return nil, err
	}
	if len(files) == 1 && files[0] == p {
		return loadFile(p)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no rule files (*.yaml, *.yml) found", p)
	}
	var all []*Rule
	var errs []error
	for _, f := range files {
		rules, err := loadFile(f)
		all = append(all, rules...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return all, errors.Join(errs...)
}

// LoadFS loads every rule file (*.yaml, *.yml) directly inside dir of fsys,
// such as the built-in packs. Rule files are named "dir/file" in messages.
// Test event files are read from fsys relative to the rule file.
func LoadFS(fsys fs.FS, dir string) ([]*Rule, error) {
	return unique(loadFS(fsys, dir, dir))
}

// loadFS is LoadFS with files named under display instead of dir.
func loadFS(fsys fs.FS, dir, display string) ([]*Rule, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("cannot list rules in %s: %w", display, err)
	}
	var all []*Rule
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !IsRuleFile(e.Name()) {
			continue
		}
		rules, err := loadFSFile(fsys, path.Join(dir, e.Name()), path.Join(display, e.Name()), false)
		all = append(all, rules...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return all, errors.Join(errs...)
}

// loadFSFile loads one rule file of fsys, named display in messages. With
// noTests, a built-in pack is read without its rules' tests when it can be:
// from packTable when the table was made from this very file, else by
// parsing its YAML without the tests (parseWithoutTests).
func loadFSFile(fsys fs.FS, name, display string, noTests bool) ([]*Rule, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("cannot read rule file %s: %w", display, err)
	}
	dir, displayDir := path.Dir(name), path.Dir(display)
	resolve := func(rel string) (string, func() ([]byte, error), error) {
		p := path.Join(dir, rel)
		if path.IsAbs(rel) || !fs.ValidPath(p) {
			return "", nil, fmt.Errorf("test file %q must be a relative path inside the packs", rel)
		}
		return path.Join(displayDir, rel), func() ([]byte, error) { return fs.ReadFile(fsys, p) }, nil
	}
	if noTests {
		if rules, ok := fromTable(packTable, name, display, data); ok {
			return rules, nil
		}
		if rules, ok := parseWithoutTests(data, display, resolve); ok {
			return rules, nil
		}
	}
	return parse(data, display, resolve)
}

// Unique reports every rule id used more than once, naming both places.
func Unique(rules []*Rule) error {
	seen := make(map[string]*Rule, len(rules))
	var errs []error
	for _, r := range rules {
		if first, ok := seen[r.ID]; ok {
			errs = append(errs, fmt.Errorf("%s: rule %q: duplicate id; it is already defined at %s", r.Where(), r.ID, first.Where()))
			continue
		}
		seen[r.ID] = r
	}
	return errors.Join(errs...)
}

// resolveFunc turns a test's file as written into a name for messages and a
// reader.
type resolveFunc func(rel string) (name string, open func() ([]byte, error), err error)

// fileParser reads one rule file, collecting every error.
type fileParser struct {
	file    string
	pack    string
	resolve resolveFunc
	errs    []error
	// emptied holds the lines of the tests keys whose values
	// parseWithoutTests emptied, each set once a rule is read with that
	// key, empty, at that line.
	emptied map[int]bool
}

// errorf records "file:line: message".
func (p *fileParser) errorf(line int, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s:%d: %s", p.file, line, fmt.Sprintf(format, args...)))
}

// parse reads a whole rule file.
func parse(data []byte, file string, resolve resolveFunc) ([]*Rule, error) {
	p := &fileParser{file: file, pack: PackName(file), resolve: resolve}
	rules := p.parse(data)
	return rules, errors.Join(p.errs...)
}

// parseWithoutTests parses a built-in pack without the values of its rules'
// tests keys, which check and the Lambda function never run and which are
// most of a pack's text (see outline): the rules have no Tests. ok is false
// when the file cannot be read that way (it does not outline, has no tests
// to leave out, or its parse did not go cleanly); the caller then parses it
// whole, which reports every problem as it always has.
func parseWithoutTests(data []byte, file string, resolve resolveFunc) (rules []*Rule, ok bool) {
	o, ok := outlineOf(data)
	if !ok {
		return nil, false
	}
	tests := o.tests()
	if len(tests) == 0 {
		return nil, false
	}
	view, ok := o.without(tests)
	if !ok {
		return nil, false
	}
	p := &fileParser{file: file, pack: PackName(file), resolve: resolve, emptied: make(map[int]bool, len(tests))}
	for _, s := range tests {
		p.emptied[s.line+1] = false
	}
	rules = p.parse(view)
	if len(p.errs) > 0 {
		return nil, false
	}
	for _, found := range p.emptied {
		if !found {
			// The outline took text for a tests key.
			return nil, false
		}
	}
	return rules, true
}

// parse reads the rules of a rule file, recording every problem in p.errs.
func (p *fileParser) parse(data []byte) []*Rule {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		l, msg := yamlnode.At(err)
		p.errorf(l, "invalid YAML: %s", msg)
		return nil
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc.Body == nil {
			continue
		}
		if body != nil {
			p.errorf(line(doc.Body), "a rule file holds one YAML document")
			return nil
		}
		body = doc.Body
	}
	if body == nil || isNull(body) {
		p.errorf(1, `empty rule file; want a mapping with a "rules" list`)
		return nil
	}
	top, ok := body.(*ast.MappingNode)
	if !ok {
		p.errorf(line(body), `want a mapping with a "rules" list, found %s`, yamlnode.Kind(body))
		return nil
	}
	if isSigmaDocument(top) {
		return p.sigmaDocument(top, data)
	}
	var list ast.Node
	detectors := false
	for _, kv := range p.entries(top, "", fileKeys, `a rule file has the keys "pack", "rules", "networks" and "detectors"`) {
		switch k, _ := keyText(kv.Key); k {
		case "rules":
			list = kv.Value
		case "pack":
			p.packSettings(kv)
		default:
			// Stateful detectors: LoadDetectors reads them.
			detectors = true
		}
	}
	if list == nil {
		if len(p.errs) == 0 && !detectors {
			p.errorf(line(top), `missing key "rules"`)
		}
		return nil
	}
	var rules []*Rule
	if isNull(list) {
		return nil
	}
	seq, ok := list.(*ast.SequenceNode)
	if !ok {
		p.errorf(line(list), `"rules" must be a list of rules, found %s`, yamlnode.Kind(list))
		return nil
	}
	for i, item := range seq.Values {
		if r := p.rule(i, item); r != nil {
			rules = append(rules, r)
		}
	}
	return rules
}

// packSettings checks a rule file's pack settings:
//
//	pack:
//	  default: false   # run only when the pack is named
//
// BuiltinPackList reads them (packDefault); here they are only validated,
// so that a misspelt setting is an error rather than a pack that runs
// when it should not.
func (p *fileParser) packSettings(kv *ast.MappingValueNode) {
	m, ok := kv.Value.(*ast.MappingNode)
	if !ok {
		p.errorf(line(kv.Key), "pack must be a mapping (pack: {default: false}), found %s", yamlnode.Kind(kv.Value))
		return
	}
	for _, f := range p.entries(m, "pack: ", packKeys, "the pack settings are "+strings.Join(packKeys, ", ")) {
		if _, ok := f.Value.(*ast.BoolNode); !ok {
			p.errorf(line(f.Key), "pack: default must be true or false, found %s", yamlnode.Kind(f.Value))
		}
	}
}

// packDefault reports whether a pack file runs when no pack is named: true
// unless it says `pack: {default: false}`. A file that does not parse
// counts as default, so that loading it reports the problem. Only the pack
// settings are parsed when the file outlines (see outline): a pack that
// has none is default without parsing anything.
func packDefault(data []byte) bool {
	if o, ok := outlineOf(data); ok {
		if o.find("pack") == nil {
			return true
		}
		if f, ok := o.parseOnly("pack"); ok {
			return packDefaultIn(f)
		}
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return true
	}
	return packDefaultIn(f)
}

// packDefaultIn is packDefault on a parsed file.
func packDefaultIn(f *ast.File) bool {
	for _, doc := range f.Docs {
		top, ok := doc.Body.(*ast.MappingNode)
		if !ok {
			continue
		}
		for _, kv := range top.Values {
			if k, _ := keyText(kv.Key); k != "pack" {
				continue
			}
			m, ok := kv.Value.(*ast.MappingNode)
			if !ok {
				return true
			}
			for _, f := range m.Values {
				if k, _ := keyText(f.Key); k == "default" {
					if b, ok := f.Value.(*ast.BoolNode); ok && !b.Value {
						return false
					}
				}
			}
		}
	}
	return true
}

// entries returns a mapping's key/value pairs, reporting unknown and
// repeated keys. who prefixes messages ("rule \"x\": ").
func (p *fileParser) entries(m *ast.MappingNode, who string, allowed []string, hint string) []*ast.MappingValueNode {
	var out []*ast.MappingValueNode
	seen := map[string]bool{}
	for _, kv := range m.Values {
		k, ok := keyText(kv.Key)
		if !ok {
			p.errorf(line(kv), "%skeys must be plain text", who)
			continue
		}
		if !slices.Contains(allowed, k) {
			p.errorf(line(kv.Key), "%sunknown key %q; %s", who, k, hint)
			continue
		}
		if seen[k] {
			p.errorf(line(kv.Key), "%skey %q appears twice", who, k)
			continue
		}
		seen[k] = true
		out = append(out, kv)
	}
	return out
}

// rule reads the i-th (zero-based) rule of the file; nil when it is invalid.
func (p *fileParser) rule(i int, node ast.Node) *Rule {
	n := len(p.errs)
	m, ok := node.(*ast.MappingNode)
	if !ok {
		p.errorf(line(node), "rule #%d: want a mapping, found %s", i+1, yamlnode.Kind(node))
		return nil
	}
	r := &Rule{Pack: p.pack, File: p.file, Line: line(m)}
	who := fmt.Sprintf("rule #%d: ", i+1)
	// Read the id first so that every other message can name the rule.
	for _, kv := range m.Values {
		if k, _ := keyText(kv.Key); k == "id" {
			id, ok := scalar(kv.Value)
			switch {
			case !ok || id == "":
				p.errorf(line(kv.Key), "%sid must be a non-empty text", who)
			case !idPattern.MatchString(id):
				p.errorf(line(kv.Key), "%sid %q is not lower-case kebab-case (like root-console-login)", who, id)
			default:
				r.ID = id
				who = fmt.Sprintf("rule %q: ", id)
			}
		}
	}
	if r.ID == "" && len(p.errs) == n {
		p.errorf(r.Line, "%smissing key \"id\"", who)
	}
	hint := "a rule has the keys " + strings.Join(ruleKeys, ", ")
	var (
		langs     []string
		langLine  int
		langValue ast.Node
		summary   string
		sumLine   int
		sevSeen   bool
	)
	for _, kv := range p.entries(m, who, ruleKeys, hint) {
		k, _ := keyText(kv.Key)
		kl := line(kv.Key)
		switch k {
		case "id":
		case "title":
			r.Title = p.text(kv, who)
		case "description":
			r.Description = strings.TrimSpace(p.text(kv, who))
		case "summary":
			summary, sumLine = p.text(kv, who), kl
		case "severity":
			sevSeen = true
			s := p.text(kv, who)
			sev, err := event.ParseSeverity(s)
			if err != nil {
				p.errorf(kl, "%sseverity %q is not one of info, low, medium, high, critical", who, s)
			}
			r.Severity = sev
		case "tags":
			r.Tags = p.texts(kv, who)
		case "refs":
			r.Refs = p.texts(kv, who)
		case "pattern", "filter", "jq", "sigma":
			langs = append(langs, k)
			langLine, langValue = kl, kv.Value
		case "tests":
			if _, ok := p.emptied[kl]; ok && isNull(kv.Value) {
				p.emptied[kl] = true
			}
			r.Tests = p.tests(kv, who)
		case "locales":
			r.Locales = p.locales(kv, r.ID, who)
		case "threshold":
			r.Threshold = p.threshold(kv, who)
		}
	}
	// A Sigma rule brings its own title and level.
	fromSigma := slices.Contains(langs, "sigma")
	if r.Title == "" && !fromSigma {
		p.errorf(r.Line, "%smissing key \"title\"", who)
	}
	if !sevSeen && !fromSigma {
		p.errorf(r.Line, "%smissing key \"severity\" (info, low, medium, high or critical)", who)
	}
	if summary != "" {
		st, err := compileSummaryTemplate(r.ID, summary)
		if err != nil {
			p.errorf(sumLine, "%ssummary: %v", who, err)
		} else {
			r.Summary, r.summary = st.tmpl, st
		}
	}
	exactly := "a rule has exactly one of " + strings.Join(languageNames(), ", ")
	switch len(langs) {
	case 0:
		p.errorf(r.Line, "%shas no match; %s", who, exactly)
	case 1:
		if fromSigma {
			p.sigma(r, langLine, langValue, who, sevSeen)
		} else {
			p.compile(r, langs[0], langLine, langValue, who)
		}
	case 2:
		p.errorf(r.Line, "%shas both %s and %s; %s", who, langs[0], langs[1], exactly)
	default:
		p.errorf(r.Line, "%shas %s and %s; %s", who, strings.Join(langs[:len(langs)-1], ", "), langs[len(langs)-1], exactly)
	}
	if len(p.errs) > n {
		return nil
	}
	return r
}

// compile turns the language key's value into the rule's matcher.
func (p *fileParser) compile(r *Rule, lang string, kl int, v ast.Node, who string) {
	var src string
	if lang == "pattern" {
		if _, ok := v.(*ast.MappingNode); ok {
			var x any
			if err := yaml.NodeToValue(v, &x); err != nil {
				l, msg := yamlnode.At(err)
				p.errorf(l, "%spattern: %s", who, msg)
				return
			}
			b, err := json.Marshal(x)
			if err != nil {
				p.errorf(kl, "%spattern cannot be written as JSON: %v", who, err)
				return
			}
			src = string(b)
		} else if s, ok := scalar(v); ok && s != "" {
			src = s
		} else {
			p.errorf(kl, "%spattern must be a mapping or a text holding JSON, found %s", who, yamlnode.Kind(v))
			return
		}
	} else {
		s, ok := scalar(v)
		if !ok || strings.TrimSpace(s) == "" {
			p.errorf(kl, "%s%s must be a non-empty text, found %s", who, lang, yamlnode.Kind(v))
			return
		}
		src = s
	}
	for _, l := range Languages() {
		if l.Name != lang {
			continue
		}
		m, err := l.Compile(src)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, lang+": ") {
				msg = lang + ": " + msg
			}
			p.errorf(kl, "%s%s", who, msg)
			return
		}
		r.Language, r.Source, r.matcher = lang, src, m
		return
	}
	p.errorf(kl, "%sunknown language %q", who, lang)
}

// locales reads a rule's text in other languages:
//
//	locales:
//	  ja: {title: ..., summary: ..., description: ...}
func (p *fileParser) locales(kv *ast.MappingValueNode, id, who string) map[string]*Local {
	if isNull(kv.Value) {
		return nil
	}
	m, ok := kv.Value.(*ast.MappingNode)
	if !ok {
		p.errorf(line(kv.Key), "%slocales must be a mapping of locale to text (ja: {title: ..., summary: ...}), found %s", who, yamlnode.Kind(kv.Value))
		return nil
	}
	hint := "the locales a rule may carry text in are " + quoteList(Locales) + " (the rule's own title and summary are English)"
	out := map[string]*Local{}
	for _, lkv := range p.entries(m, who+"locales: ", Locales, hint) {
		loc, _ := keyText(lkv.Key)
		lw := fmt.Sprintf("%slocales.%s: ", who, loc)
		lm, ok := lkv.Value.(*ast.MappingNode)
		if !ok {
			p.errorf(line(lkv.Key), "%swant a mapping with %s, found %s", lw, quoteList(localKeys), yamlnode.Kind(lkv.Value))
			continue
		}
		l := &Local{}
		for _, f := range p.entries(lm, lw, localKeys, "a locale has the keys "+strings.Join(localKeys, ", ")) {
			k, _ := keyText(f.Key)
			switch k {
			case "title":
				l.Title = p.text(f, lw)
			case "description":
				l.Description = strings.TrimSpace(p.text(f, lw))
			case "summary":
				src := p.text(f, lw)
				if src == "" {
					continue
				}
				st, err := compileSummaryTemplate(id, src)
				if err != nil {
					p.errorf(line(f.Key), "%ssummary: %v", lw, err)
					continue
				}
				l.Summary, l.summary = st.tmpl, st
			}
		}
		out[loc] = l
	}
	return out
}

// tests reads a rule's test list.
func (p *fileParser) tests(kv *ast.MappingValueNode, who string) []Test {
	if isNull(kv.Value) {
		return nil
	}
	seq, ok := kv.Value.(*ast.SequenceNode)
	if !ok {
		p.errorf(line(kv.Key), "%stests must be a list, found %s", who, yamlnode.Kind(kv.Value))
		return nil
	}
	var out []Test
	for i, item := range seq.Values {
		tw := fmt.Sprintf("%stest #%d: ", who, i+1)
		m, ok := item.(*ast.MappingNode)
		if !ok {
			p.errorf(line(item), "%swant a mapping, found %s", tw, yamlnode.Kind(item))
			continue
		}
		t := Test{Line: line(m)}
		var alertSeen, eventSeen, fileSeen bool
		for _, tkv := range p.entries(m, tw, testKeys, "a test has the keys "+strings.Join(testKeys, ", ")) {
			k, _ := keyText(tkv.Key)
			kl := line(tkv.Key)
			switch k {
			case "name":
				t.Name = p.text(tkv, tw)
				if t.Name != "" {
					tw = fmt.Sprintf("%stest %q: ", who, t.Name)
				}
			case "alert":
				b, ok := tkv.Value.(*ast.BoolNode)
				if !ok {
					p.errorf(kl, "%salert must be true or false", tw)
					continue
				}
				t.Alert, alertSeen = b.Value, true
			case "event":
				eventSeen = true
				t.Event = p.inlineEvent(tkv, tw)
			case "file":
				fileSeen = true
				t.File = p.text(tkv, tw)
				if t.File == "" {
					continue
				}
				name, open, err := p.resolve(t.File)
				if err != nil {
					p.errorf(kl, "%s%v", tw, err)
					continue
				}
				t.path, t.open = name, open
			}
		}
		if t.Name == "" {
			p.errorf(t.Line, "%smissing key \"name\"", tw)
		}
		if !alertSeen {
			p.errorf(t.Line, "%smissing key \"alert\" (true or false)", tw)
		}
		switch {
		case eventSeen && fileSeen:
			p.errorf(t.Line, "%shas both event and file; a test has exactly one of event, file", tw)
		case !eventSeen && !fileSeen:
			p.errorf(t.Line, "%shas neither event nor file; a test has exactly one of event, file", tw)
		}
		out = append(out, t)
	}
	return out
}

// inlineEvent converts a test's event (a mapping, or text holding JSON) to
// JSON and checks that it is one JSON object.
func (p *fileParser) inlineEvent(kv *ast.MappingValueNode, who string) []byte {
	kl := line(kv.Key)
	var b []byte
	switch v := kv.Value.(type) {
	case *ast.MappingNode:
		var x any
		if err := yaml.NodeToValue(v, &x); err != nil {
			l, msg := yamlnode.At(err)
			p.errorf(l, "%sevent: %s", who, msg)
			return nil
		}
		out, err := json.Marshal(x)
		if err != nil {
			p.errorf(kl, "%sevent cannot be written as JSON: %v", who, err)
			return nil
		}
		b = out
	default:
		s, ok := scalar(v)
		if !ok {
			p.errorf(kl, "%sevent must be a mapping or a text holding a JSON object, found %s", who, yamlnode.Kind(v))
			return nil
		}
		b = []byte(s)
	}
	if _, err := event.Parse(b, event.Origin{}); err != nil {
		p.errorf(kl, "%sevent is not a JSON object: %v", who, err)
		return nil
	}
	return b
}

// text reads a scalar value as text.
func (p *fileParser) text(kv *ast.MappingValueNode, who string) string {
	s, ok := scalar(kv.Value)
	if !ok {
		k, _ := keyText(kv.Key)
		p.errorf(line(kv.Key), "%s%s must be text, found %s", who, k, yamlnode.Kind(kv.Value))
	}
	return s
}

// texts reads a list of scalars (or one scalar) as texts.
func (p *fileParser) texts(kv *ast.MappingValueNode, who string) []string {
	if isNull(kv.Value) {
		return nil
	}
	if s, ok := scalar(kv.Value); ok {
		return []string{s}
	}
	k, _ := keyText(kv.Key)
	seq, ok := kv.Value.(*ast.SequenceNode)
	if !ok {
		p.errorf(line(kv.Key), "%s%s must be a list of texts, found %s", who, k, yamlnode.Kind(kv.Value))
		return nil
	}
	var out []string
	for _, v := range seq.Values {
		s, ok := scalar(v)
		if !ok {
			p.errorf(line(v), "%s%s must be a list of texts, found %s in it", who, k, yamlnode.Kind(v))
			continue
		}
		out = append(out, s)
	}
	return out
}

// compileSummary parses a summary template and tries it on an empty event,
// so that a misspelt field fails at load time rather than on an alert.
func compileSummary(id, src string) (*template.Template, error) {
	st, err := compileSummaryTemplate(id, src)
	if err != nil {
		return nil, err
	}
	return st.tmpl, nil
}

// compileSummaryTemplate is compileSummary with the summary's direct form.
// A template made only of text and the event's text helpers (direct) is
// not tried: each of its actions names a method or field that exists, so
// it cannot fail, and trying them was a tenth of what loading the built-in
// packs cost.
func compileSummaryTemplate(id, src string) (*summaryTemplate, error) {
	t, err := template.New(id).Option("missingkey=zero").Parse(src)
	if err != nil {
		return nil, err
	}
	st := &summaryTemplate{tmpl: t, parts: direct(t)}
	if st.parts == nil {
		var b strings.Builder
		if err := t.Execute(&b, event.MustParse(`{}`)); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// scalar returns the text of a scalar node. A null is "" and ok.
func scalar(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return v.GetToken().Value, true
	case *ast.NullNode:
		return "", true
	case *ast.TagNode:
		return scalar(v.Value)
	}
	return "", false
}

func keyText(k ast.MapKeyNode) (string, bool) {
	if k == nil {
		return "", false
	}
	return scalar(k)
}

func isNull(n ast.Node) bool {
	_, ok := n.(*ast.NullNode)
	return n == nil || ok
}

// quoteList writes names as "a", "b".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// line returns the line n starts on, 1 when it carries none.
func line(n ast.Node) int { return max(yamlnode.Line(n), 1) }
