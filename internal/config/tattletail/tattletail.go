// Package tattletail reads a cloudtrail-tattletail configuration
// (tattletail.toml) as it is and converts it, at the edge, into trailwatch's
// one configuration model: each [[rule]] becomes a jq rule, each
// [[destination]] a receiver, and each rule's destinations a route.
// Nothing downstream knows the rules came from TOML.
//
// The format, as tattletail reads it:
//
//	[[rule]]
//	name = "Create AccessKey"
//	jq_match = 'select(.eventName == "CreateAccessKey")'
//	description = "A new Access Key has been created"
//	destinations = ["Slack Audit"]
//
//	[[destination]]
//	id = "Slack Audit"
//	type = "slack_webhook"      # or "sns", or "ses"
//	webhook_url = "https://hooks.slack.com/services/..."
//	# sns:   sns_arn = "arn:aws:sns:us-east-1:111122223333:alerts"
//	# ses:   to_emails = ["a@example.com"], from_email = "alerts@example.com"
//
// Unlike tattletail, reading is strict: an unknown key, a destination a
// rule names but nobody defined, a jq_match that does not compile, are
// errors naming the line. jq results are decided as tattletail decides
// them (internal/rule/jq). Translate writes the equivalent trailwatch.yaml
// and rule file, for `trailwatch convert`.
package tattletail

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/mail"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/BurntSushi/toml"
	"github.com/goccy/go-yaml"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/rule/jq"
)

// file is tattletail.toml as tattletail's own config package declares it.
type file struct {
	Rules        []tomlRule    `toml:"rule"`
	Destinations []destination `toml:"destination"`
}

type tomlRule struct {
	Name         string   `toml:"name"`
	JQMatch      string   `toml:"jq_match"`
	Description  string   `toml:"description"`
	Destinations []string `toml:"destinations"`
}

type destination struct {
	ID         string   `toml:"id"`
	Type       string   `toml:"type"`
	SNSARN     string   `toml:"sns_arn"`
	WebhookURL string   `toml:"webhook_url"`
	ToEmails   []string `toml:"to_emails"`
	// ToEmail is the single address older tattletail versions read.
	ToEmail   string `toml:"to_email"`
	FromEmail string `toml:"from_email"`
}

// The keys each table may have.
var (
	ruleKeys        = []string{"name", "jq_match", "description", "destinations"}
	destinationKeys = []string{"id", "type", "sns_arn", "webhook_url", "to_emails", "to_email", "from_email"}
	destinationKind = []string{"slack_webhook", "sns", "ses"}
)

// Severity is the severity a tattletail rule gets: tattletail has none.
const Severity = "medium"

// Is reports whether a configuration is a tattletail one: its name ends in
// .toml, or its first line that says anything is a TOML table header
// ([[rule]], [[destination]]), which no trailwatch.yaml starts with.
func Is(name string, data []byte) bool {
	if strings.EqualFold(path.Ext(name), ".toml") {
		return true
	}
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		return strings.HasPrefix(l, "[[")
	}
	return false
}

// Result is a tattletail configuration translated into trailwatch's files.
type Result struct {
	// Config is the equivalent trailwatch.yaml; Rules the rule file it
	// names as RulesFile.
	Config, Rules []byte
	RulesFile     string
	// Notes tell what a user should know: a webhook URL the TOML held
	// itself, and so on.
	Notes []string

	// urls are the webhook URLs written in the file, by receiver name.
	urls        map[string]string
	translation *translation
}

// problem is one error in the file.
type problem struct {
	line int
	msg  string
}

type problems struct {
	name string
	list []problem
}

func (p *problems) add(line int, format string, args ...any) {
	p.list = append(p.list, problem{line, fmt.Sprintf(format, args...)})
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	slices.SortStableFunc(p.list, func(a, b problem) int { return a.line - b.line })
	errs := make([]error, len(p.list))
	for i, e := range p.list {
		if e.line > 0 {
			errs[i] = &config.Error{File: p.name, Line: e.line, Msg: e.msg}
		} else {
			errs[i] = &config.Error{File: p.name, Msg: e.msg}
		}
	}
	return errors.Join(errs...)
}

// Translate reads tattletail.toml (name is the file's name for messages
// and for the rule file's name) and writes the equivalent trailwatch.yaml
// and rule file. Every problem is reported, each with its line.
func Translate(name string, data []byte) (*Result, error) {
	if len(data) > config.MaxFileSize {
		return nil, &config.Error{File: name, Msg: fmt.Sprintf("the file is larger than %d bytes", config.MaxFileSize)}
	}
	p := &problems{name: name}
	var f file
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			p.add(pe.Position.Line, "invalid TOML: %s", pe.Message)
		} else {
			p.add(0, "invalid TOML: %v", err)
		}
		return nil, p.err()
	}
	lines := scanKeys(string(data))
	strict(p, lines, md, &f)
	at := func(table string, index int, key string) int {
		for _, l := range lines {
			if l.table == table && l.index == index && l.key == key {
				return l.line
			}
		}
		for _, l := range lines {
			if l.table == table && l.index == index && l.key == "" {
				return l.line
			}
		}
		return 0
	}
	t := &translation{p: p, at: at, urls: map[string]string{}}
	t.readDestinations(f.Destinations)
	t.readRules(f.Rules)
	if err := p.err(); err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(path.Base(strings.ReplaceAll(name, "\\", "/")), path.Ext(name))
	if base == "" || strings.ContainsAny(base, ":") {
		base = "tattletail"
	}
	res := &Result{RulesFile: base + "-rules.yaml", urls: t.urls, translation: t}
	for _, r := range t.receivers {
		if r.kind == config.KindSlack {
			res.Notes = append(res.Notes, fmt.Sprintf("destination %q: %s holds its webhook URL, which is a secret; trailwatch.yaml refers to it as %s: set that variable, or store the URL in SSM (ssm:/trailwatch/...) and refer to it there", r.id, path.Base(name), placeholderRef(r.name)))
		}
	}
	res.Config = t.configYAML(name, res.RulesFile)
	res.Rules = t.rulesYAML(name)
	return res, nil
}

// strict reports every table and key tattletail does not know, where it is
// written; what the line scanner cannot place, the decoder's own list of
// undecoded keys still reports.
func strict(p *problems, lines []keyLine, md toml.MetaData, f *file) {
	placed := false
	for _, l := range lines {
		switch {
		case l.key == "" && (l.table == "rule" || l.table == "destination") && l.array:
		case l.key == "":
			p.add(l.line, "unknown table [%s] (tattletail.toml has [[rule]] and [[destination]] tables)", l.table)
			placed = true
		case l.table == "rule" && l.index >= 0:
			if !slices.Contains(ruleKeys, l.key) {
				p.add(l.line, "%s: unknown key %q (a rule has %s)", f.ruleName(l.index), l.key, strings.Join(ruleKeys, ", "))
				placed = true
			}
		case l.table == "destination" && l.index >= 0:
			if !slices.Contains(destinationKeys, l.key) {
				p.add(l.line, "%s: unknown key %q (a destination has %s)", f.destinationName(l.index), l.key, strings.Join(destinationKeys, ", "))
				placed = true
			}
		case l.table == "":
			p.add(l.line, "unknown key %q (tattletail.toml has [[rule]] and [[destination]] tables)", l.key)
			placed = true
		}
	}
	if !placed {
		for _, k := range md.Undecoded() {
			p.add(0, "unknown key %q", k.String())
		}
	}
}

// ruleName names the i-th rule in messages.
func (f *file) ruleName(i int) string {
	if i < len(f.Rules) && f.Rules[i].Name != "" {
		return fmt.Sprintf("rule %q (rule[%d])", f.Rules[i].Name, i)
	}
	return fmt.Sprintf("rule[%d]", i)
}

// destinationName names the i-th destination in messages.
func (f *file) destinationName(i int) string {
	if i < len(f.Destinations) && f.Destinations[i].ID != "" {
		return fmt.Sprintf("destination %q", f.Destinations[i].ID)
	}
	return fmt.Sprintf("destination[%d]", i)
}

// translation builds the trailwatch files.
type translation struct {
	p  *problems
	at func(table string, index int, key string) int

	receivers []receiver
	byID      map[string]*receiver
	rules     []translatedRule
	urls      map[string]string
}

type receiver struct {
	id, name, kind string
	dest           destination
	used           bool
	line           int // of its [[destination]]
}

type translatedRule struct {
	id, title, description, jq string
	receivers                  []string
	line                       int // of its [[rule]]
}

// Compiled on first use, as a conversion is rare: topicARN's bounded
// repetition makes it costly to compile at every start.
var (
	topicARN = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^arn:aws[a-z\-]*:sns:[a-z0-9\-]+:\d{12}:[A-Za-z0-9_\-]{1,256}(\.fifo)?$`)
	})
	notName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^A-Za-z0-9_.\-]+`) })
	notID   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-z0-9]+`) })
)

func (t *translation) readDestinations(ds []destination) {
	t.byID = map[string]*receiver{}
	taken := map[string]bool{}
	for i, d := range ds {
		line := t.at("destination", i, "")
		who := fmt.Sprintf("destination[%d]", i)
		if d.ID == "" {
			t.p.add(line, "%s: id is required", who)
			continue
		}
		who = fmt.Sprintf("destination %q", d.ID)
		if _, dup := t.byID[d.ID]; dup {
			t.p.add(t.at("destination", i, "id"), "%s: the id is already used by another destination", who)
			continue
		}
		r := receiver{id: d.ID, dest: d, line: line}
		switch d.Type {
		case "slack_webhook":
			r.kind = config.KindSlack
			if d.WebhookURL == "" {
				t.p.add(line, "%s: webhook_url is required for type slack_webhook", who)
			}
		case "sns":
			r.kind = config.KindSNS
			switch {
			case d.SNSARN == "":
				t.p.add(line, "%s: sns_arn is required for type sns", who)
			case !topicARN().MatchString(d.SNSARN):
				t.p.add(t.at("destination", i, "sns_arn"), "%s: sns_arn %q is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", who, d.SNSARN)
			}
		case "ses":
			r.kind = config.KindEmail
			if d.ToEmail != "" {
				r.dest.ToEmails = append(r.dest.ToEmails, d.ToEmail)
			}
			if len(r.dest.ToEmails) == 0 {
				t.p.add(line, "%s: to_emails is required for type ses", who)
			}
			for _, a := range r.dest.ToEmails {
				if _, err := mail.ParseAddress(a); err != nil {
					t.p.add(t.at("destination", i, "to_emails"), "%s: %q is not an email address", who, a)
				}
			}
			if d.FromEmail == "" {
				t.p.add(line, "%s: from_email is required for type ses", who)
			} else if _, err := mail.ParseAddress(d.FromEmail); err != nil {
				t.p.add(t.at("destination", i, "from_email"), "%s: from_email %q is not an email address", who, d.FromEmail)
			}
		case "":
			t.p.add(line, "%s: type is required (%s)", who, strings.Join(destinationKind, ", "))
			continue
		default:
			t.p.add(t.at("destination", i, "type"), "%s: unknown type %q (want %s)", who, d.Type, strings.Join(destinationKind, ", "))
			continue
		}
		for _, k := range fieldsSet(d) {
			if !applies(d.Type, k) {
				t.p.add(t.at("destination", i, k), "%s: %s does not apply to type %s", who, k, d.Type)
			}
		}
		// A receiver name is letters, digits, _ . -; tattletail ids are
		// free text ("Slack Audit").
		r.name = strings.Trim(notName().ReplaceAllString(d.ID, "-"), "-._")
		if r.name == "" {
			r.name = "destination-" + strconv.Itoa(i+1)
		}
		if len(r.name) > 60 {
			r.name = r.name[:60]
		}
		for n, base := 2, r.name; taken[r.name]; n++ {
			r.name = base + "-" + strconv.Itoa(n)
		}
		taken[r.name] = true
		if r.kind == config.KindSlack {
			t.urls[r.name] = d.WebhookURL
		}
		t.receivers = append(t.receivers, r)
		t.byID[d.ID] = &t.receivers[len(t.receivers)-1]
	}
	// t.byID points into t.receivers, which no longer grows.
	for i := range t.receivers {
		t.byID[t.receivers[i].id] = &t.receivers[i]
	}
}

func fieldsSet(d destination) []string {
	var out []string
	for k, set := range map[string]bool{
		"sns_arn": d.SNSARN != "", "webhook_url": d.WebhookURL != "",
		"to_emails": len(d.ToEmails) > 0, "to_email": d.ToEmail != "", "from_email": d.FromEmail != "",
	} {
		if set {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func applies(kind, key string) bool {
	switch kind {
	case "slack_webhook":
		return key == "webhook_url"
	case "sns":
		return key == "sns_arn"
	case "ses":
		return key == "to_emails" || key == "to_email" || key == "from_email"
	}
	return false
}

func (t *translation) readRules(rs []tomlRule) {
	ids := map[string]bool{}
	for i, r := range rs {
		line := t.at("rule", i, "")
		who := fmt.Sprintf("rule[%d]", i)
		if r.Name != "" {
			who = fmt.Sprintf("rule %q (rule[%d])", r.Name, i)
		} else {
			t.p.add(line, "%s: name is required", who)
		}
		if strings.TrimSpace(r.JQMatch) == "" {
			t.p.add(line, "%s: jq_match is required", who)
		} else if _, err := jq.Compile(r.JQMatch); err != nil {
			t.p.add(t.at("rule", i, "jq_match"), "%s: jq_match: %v", who, strings.TrimPrefix(err.Error(), "jq: "))
		}
		tr := translatedRule{title: r.Name, description: r.Description, jq: r.JQMatch, line: line}
		if tr.title == "" {
			tr.title = "rule " + strconv.Itoa(i+1)
		}
		seen := map[string]bool{}
		for _, d := range r.Destinations {
			rc, ok := t.byID[d]
			if !ok {
				t.p.add(t.at("rule", i, "destinations"), "%s: destination %q is not defined", who, d)
				continue
			}
			if seen[rc.name] {
				continue
			}
			seen[rc.name] = true
			rc.used = true
			tr.receivers = append(tr.receivers, rc.name)
		}
		tr.id = strings.Trim(notID().ReplaceAllString(strings.ToLower(r.Name), "-"), "-")
		if tr.id == "" {
			tr.id = "rule-" + strconv.Itoa(i+1)
		}
		if len(tr.id) > 60 {
			tr.id = strings.Trim(tr.id[:60], "-")
		}
		for n, base := 2, tr.id; ids[tr.id]; n++ {
			tr.id = base + "-" + strconv.Itoa(n)
		}
		ids[tr.id] = true
		t.rules = append(t.rules, tr)
	}
}

// configYAML writes trailwatch.yaml. rulesFile is the rule file it names;
// "" leaves rules.files out (Convert supplies the rules itself).
func (t *translation) configYAML(name, rulesFile string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Converted from %s by trailwatch convert.\n", path.Base(name))
	b.WriteString("# Only the converted rules run, as in tattletail: no built-in packs, no detectors.\n")
	b.WriteString("rules:\n  packs: none\n")
	if rulesFile != "" {
		fmt.Fprintf(&b, "  files: [%s]\n", yamlString(rulesFile))
	}
	if len(t.receivers) > 0 {
		b.WriteString("receivers:\n")
		for _, r := range t.receivers {
			fmt.Fprintf(&b, "  - name: %s\n", yamlString(r.name))
			switch r.kind {
			case config.KindSlack:
				fmt.Fprintf(&b, "    slack:\n      webhook_url: %s\n", placeholderRef(r.name))
			case config.KindSNS:
				fmt.Fprintf(&b, "    sns:\n      topic_arn: %s\n      format: json\n", yamlString(r.dest.SNSARN))
			case config.KindEmail:
				fmt.Fprintf(&b, "    email:\n      from: %s\n      to: [", yamlString(r.dest.FromEmail))
				for j, a := range r.dest.ToEmails {
					if j > 0 {
						b.WriteString(", ")
					}
					b.WriteString(yamlString(a))
				}
				b.WriteString("]\n      ses: {}\n")
			}
		}
	}
	// The root route needs a receiver; every alert goes to a child route
	// (one per destination) or is ignored, so the root sends nothing.
	if len(t.receivers) > 0 {
		fmt.Fprintf(&b, "route:\n  receiver: %s\n", yamlString(t.receivers[0].name))
		// One message per rule and event's labels, every batch: tattletail
		// sends each match as it comes.
		b.WriteString("  group_by: [\"...\"]\n")
		var routes []string
		for _, r := range t.receivers {
			var ids []string
			for _, tr := range t.rules {
				if slices.Contains(tr.receivers, r.name) {
					ids = append(ids, regexp.QuoteMeta(tr.id))
				}
			}
			if len(ids) == 0 {
				continue
			}
			m := "rule =~ " + strconv.Quote("^("+strings.Join(ids, "|")+")$")
			routes = append(routes, fmt.Sprintf("    - receiver: %s\n      matchers: [%s]\n      continue: true\n", yamlString(r.name), yamlString(m)))
		}
		if len(routes) > 0 {
			b.WriteString("  routes:\n")
			for _, r := range routes {
				b.WriteString(r)
			}
		}
	}
	var ignore []string
	for _, tr := range t.rules {
		if len(tr.receivers) == 0 || len(t.receivers) == 0 {
			ignore = append(ignore, tr.id)
		}
	}
	if len(ignore) > 0 {
		b.WriteString("# Rules without destinations match and send nothing, as in tattletail.\nignore:\n")
		for _, id := range ignore {
			fmt.Fprintf(&b, "  - rule: %s\n    comment: %s\n", yamlString(id), yamlString("no destinations in "+path.Base(name)))
		}
	}
	return b.Bytes()
}

// placeholderRef is the reference trailwatch.yaml gives a Slack webhook
// URL that tattletail.toml held itself: a secret belongs outside the file.
func placeholderRef(receiver string) string {
	return "env:" + strings.ToUpper(notID().ReplaceAllString(strings.ToLower(receiver), "_")) + "_WEBHOOK_URL"
}

// rulesYAML writes the rule file.
func (t *translation) rulesYAML(name string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# The [[rule]] tables of %s, as trailwatch jq rules.\n", path.Base(name))
	b.WriteString("# The first output of a query decides, as in tattletail: null, false and errors\n")
	b.WriteString("# do not match; the record itself (select) matches without an annotation; any\n")
	b.WriteString("# other value matches and becomes the alert's annotation.\n")
	if len(t.rules) == 0 {
		b.WriteString("rules: []\n")
		return b.Bytes()
	}
	b.WriteString("rules:\n")
	for _, r := range t.rules {
		fmt.Fprintf(&b, "  - id: %s\n    title: %s\n    severity: %s\n", r.id, yamlString(r.title), Severity)
		if r.description != "" {
			fmt.Fprintf(&b, "    description: %s\n", yamlString(r.description))
		}
		b.WriteString("    tags: [tattletail]\n")
		fmt.Fprintf(&b, "    jq: %s\n", yamlString(r.jq))
	}
	return b.Bytes()
}

// yamlString writes s as a YAML scalar that reads back as exactly s.
func yamlString(s string) string {
	b, err := yaml.Marshal(s)
	if err != nil {
		return strconv.Quote(s)
	}
	out := strings.TrimSuffix(string(b), "\n")
	switch {
	case !strings.HasPrefix(out, `"`) && !strings.Contains(out, "\n"):
		return out // plain, or already single-quoted
	case s != "" && !strings.ContainsAny(s, "'\n\r\t") && strings.TrimSpace(s) == s && isPrintable(s):
		// A jq query reads best single-quoted: no escapes.
		return "'" + s + "'"
	}
	// A double-quoted string (JSON escapes) is YAML too, and fits on one
	// line of a flow list.
	return strconv.Quote(s)
}

func isPrintable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// Convert reads tattletail.toml as it is, for running: the configuration
// of Translate, with the converted rules held in memory and each Slack
// webhook URL as tattletail.toml wrote it. Every problem is reported, each
// with its line. o is the configuration parser's options.
func Convert(name string, data []byte, o config.Options) (*config.Config, error) {
	res, err := Translate(name, data)
	if err != nil {
		return nil, err
	}
	c, err := config.Inspect(name, res.configFor(name), o)
	if err != nil {
		// Translate checked everything the configuration checks; a problem
		// left is in the translation, and is reported as such.
		return nil, fmt.Errorf("%s: the converted configuration does not load (please report this): %w", name, err)
	}
	// Problems found later (a receiver that cannot be built) name the
	// TOML's lines, not the converted file's; so do notes.
	c.SetLines(res.translation.lines(c))
	c.Notes = nil
	for _, r := range res.translation.receivers {
		if !r.used {
			c.Notes = append(c.Notes, fmt.Sprintf("%s:%d: destination %q is named by no rule", name, r.line, r.id))
		}
	}
	for _, r := range c.Receivers {
		if u, ok := res.urls[r.Name]; ok && r.Slack != nil {
			r.Slack.WebhookURL = config.LiteralURL(u)
			if !strings.HasPrefix(u, "https://") {
				// The URL itself is not repeated: it may be a real one
				// missing its scheme.
				c.Notes = append(c.Notes, fmt.Sprintf("%s: destination for receiver %q: webhook_url is not an https:// URL; sending to it will fail", name, r.Name))
			}
		}
	}
	rulesName := res.RulesFile
	c.RuleSources = append(c.RuleSources, config.RuleFile{
		FS:      rulesFS{rulesName: res.Rules},
		Name:    rulesName,
		Display: name + " [[rule]]",
	})
	return c, nil
}

// lines maps the converted configuration's settings to the lines of the
// tables they come from.
func (t *translation) lines(c *config.Config) map[string]int {
	out := map[string]int{}
	byName := map[string]int{}
	for i, r := range t.receivers {
		out[fmt.Sprintf("receivers[%d]", i)] = r.line
		byName[r.name] = r.line
	}
	if c.Route != nil {
		for i, r := range c.Route.Routes {
			out[fmt.Sprintf("route.routes[%d]", i)] = byName[r.Receiver]
		}
	}
	rules := map[string]int{}
	for _, r := range t.rules {
		rules[r.id] = r.line
	}
	for i, ig := range c.Ignore {
		out[fmt.Sprintf("ignore[%d]", i)] = rules[ig.Rule]
	}
	return out
}

// configFor is the configuration Convert runs: Translate's, without the
// rule file (Convert holds the rules itself).
func (r *Result) configFor(name string) []byte {
	t := r.translation
	if t == nil {
		return r.Config
	}
	return t.configYAML(name, "")
}

// rulesFS holds the converted rule file.
type rulesFS map[string][]byte

// Open implements fs.FS.
func (m rulesFS) Open(name string) (fs.File, error) {
	b, ok := m[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &ruleFile{Reader: bytes.NewReader(b), name: name, size: int64(len(b))}, nil
}

type ruleFile struct {
	*bytes.Reader
	name string
	size int64
}

func (f *ruleFile) Stat() (fs.FileInfo, error) { return f, nil }
func (f *ruleFile) Close() error               { return nil }
func (f *ruleFile) Name() string               { return path.Base(f.name) }
func (f *ruleFile) Size() int64                { return f.size }
func (f *ruleFile) Mode() fs.FileMode          { return 0o444 }
func (f *ruleFile) ModTime() time.Time         { return time.Time{} }
func (f *ruleFile) IsDir() bool                { return false }
func (f *ruleFile) Sys() any                   { return nil }
