package rule

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/trailwatch/trailwatch/internal/rule/sigma"
	"github.com/trailwatch/trailwatch/internal/yamlnode"
)

// sigmaMatcher runs a compiled Sigma rule.
type sigmaMatcher struct{ r *sigma.Rule }

// compileSigma compiles a Sigma document given as text.
func compileSigma(src string) (Matcher, error) {
	r, err := sigma.Parse([]byte(src))
	if err != nil {
		return nil, err
	}
	return sigmaMatcher{r}, nil
}

func (m sigmaMatcher) Match(_ context.Context, in *Input) (bool, string, error) {
	return m.r.Match(in.Event), "", nil
}

func (m sigmaMatcher) EventNames() ([]string, bool) { return m.r.EventNames() }

// sigmaErrors reports a Sigma document's problems, one error each: at maps
// a line of the document to the line to report and the message's prefix
// (the rule, and the Sigma file's name and line when it is another file).
func (p *fileParser) sigmaErrors(err error, at func(line int) (int, string)) {
	var es sigma.Errors
	if !errors.As(err, &es) {
		line, prefix := at(1)
		p.errorf(line, "%s%v", prefix, err)
		return
	}
	for _, e := range es {
		line, prefix := at(e.Line)
		p.errorf(line, "%s%s", prefix, e.Msg)
	}
}

// sigma reads a rule's sigma key: the path of a Sigma file, relative to the
// rule file, or a Sigma document written in place. The Sigma rule supplies
// whatever the trailwatch rule leaves out (title, severity, description,
// summary) and adds its tags, references, id and author.
func (p *fileParser) sigma(r *Rule, kl int, v ast.Node, who string, sevSeen bool) {
	var (
		sr  *sigma.Rule
		err error
	)
	switch n := v.(type) {
	case *ast.MappingNode:
		sr, err = sigma.ParseNode(n)
		if err != nil {
			p.sigmaErrors(err, func(line int) (int, string) { return line, who + "sigma: " })
			return
		}
		r.Source = n.String()
	default:
		rel, ok := scalar(v)
		if !ok || strings.TrimSpace(rel) == "" {
			p.errorf(kl, "%ssigma must be the path of a Sigma rule file or a Sigma rule written as a mapping, found %s", who, yamlnode.Kind(v))
			return
		}
		name, open, rerr := p.resolve(rel)
		if rerr != nil {
			p.errorf(kl, "%ssigma: %v", who, rerr)
			return
		}
		data, rerr := open()
		if rerr != nil {
			p.errorf(kl, "%ssigma: cannot read the Sigma rule: %v", who, rerr)
			return
		}
		sr, err = sigma.Parse(data)
		if err != nil {
			p.sigmaErrors(err, func(line int) (int, string) { return kl, fmt.Sprintf("%ssigma: %s:%d: ", who, name, line) })
			return
		}
		r.Source = string(data)
	}
	r.Language, r.matcher = "sigma", sigmaMatcher{sr}
	if !sevSeen {
		r.Severity = sr.Severity()
	}
	p.sigmaMeta(r, sr)
}

// sigmaMeta fills a rule's text from its Sigma rule. The author, id and
// references stay with every alert (in the description, summary and refs):
// SigmaHQ's Detection Rule License asks that matches name the rule's author
// and source.
func (p *fileParser) sigmaMeta(r *Rule, sr *sigma.Rule) {
	if r.Title == "" {
		r.Title = sr.Title
	}
	if r.Description == "" {
		r.Description = sr.Description
	}
	if credit := sigmaCredit(sr); credit != "" {
		r.Description = strings.TrimSpace(r.Description + "\n\n" + credit)
	}
	r.Tags = appendNew(r.Tags, "sigma")
	for _, t := range sr.Tags {
		r.Tags = appendNew(r.Tags, t)
		if m := attackTechnique.FindStringSubmatch(t); m != nil {
			r.Tags = appendNew(r.Tags, "mitre-"+strings.ToUpper(m[1]))
		}
	}
	r.Refs = appendNew(r.Refs, sr.References...)
	if sr.ID != "" {
		r.Refs = appendNew(r.Refs, "sigma:"+sr.ID)
	}
	by := templateText(sr.Author)
	if by == "" {
		by = templateText(sr.ID)
	}
	if r.Summary == nil {
		src := `{{.Name}} by {{.Principal}}{{if .SourceIP}} from {{.SourceIP}}{{end}}`
		if by != "" {
			src += " (Sigma rule by " + by + ")"
		}
		p.setSummary(r, nil, src)
	}
	ja := r.Locales["ja"]
	if ja == nil || ja.Summary == nil {
		src := `{{.Principal}} が {{.Name}} を実行しました{{if .SourceIP}}(送信元 {{.SourceIP}}){{end}}`
		if by != "" {
			src += "(Sigma ルール、作成者: " + by + ")"
		}
		if r.Locales == nil {
			r.Locales = map[string]*Local{}
		}
		if ja == nil {
			ja = &Local{}
			r.Locales["ja"] = ja
		}
		p.setSummary(r, ja, src)
	}
}

// setSummary compiles a generated summary into the rule (l nil) or one of
// its locales.
func (p *fileParser) setSummary(r *Rule, l *Local, src string) {
	st, err := compileSummaryTemplate(r.ID, src)
	if err != nil {
		p.errorf(r.Line, "rule %q: the summary made from the Sigma rule does not compile: %v", r.ID, err)
		return
	}
	if l == nil {
		r.Summary, r.summary = st.tmpl, st
		return
	}
	l.Summary, l.summary = st.tmpl, st
}

// appendNew appends the texts list does not hold yet.
func appendNew(list []string, texts ...string) []string {
	for _, t := range texts {
		if !slices.Contains(list, t) {
			list = append(list, t)
		}
	}
	return list
}

// sigmaCredit is the paragraph that credits a Sigma rule.
func sigmaCredit(sr *sigma.Rule) string {
	var b strings.Builder
	b.WriteString("Sigma rule")
	if sr.ID != "" {
		b.WriteString(" " + sr.ID)
	}
	if sr.Author != "" {
		b.WriteString(" by " + sr.Author)
	}
	if sr.License != "" {
		b.WriteString(", licence " + sr.License)
	}
	b.WriteString(".")
	if len(sr.FalsePositives) > 0 {
		b.WriteString(" Known false positives: " + strings.Join(sr.FalsePositives, "; "))
		if !strings.HasSuffix(b.String(), ".") {
			b.WriteString(".")
		}
	}
	return b.String()
}

// attackTechnique reads a Sigma ATT&CK technique tag (attack.t1078.004).
var attackTechnique = regexp.MustCompile(`^attack\.(t\d{4}(?:\.\d{3})?)$`)

// templateText makes text safe to put in a template's source.
func templateText(s string) string {
	return strings.ReplaceAll(s, "{{", `{{"{{"}}`)
}

// isSigmaDocument reports whether a file's top-level mapping is a Sigma
// rule: it has detection or logsource, and none of a rule file's keys.
func isSigmaDocument(top *ast.MappingNode) bool {
	if !sigma.IsDocument(top) {
		return false
	}
	for _, kv := range top.Values {
		if k, _ := keyText(kv.Key); slices.Contains(fileKeys, k) {
			return false
		}
	}
	return true
}

// sigmaDocument loads a file that is itself a Sigma rule: one rule whose id
// is the file name in kebab-case (aws_cloudtrail_disable_logging.yml is
// aws-cloudtrail-disable-logging).
func (p *fileParser) sigmaDocument(top *ast.MappingNode, data []byte) []*Rule {
	r := &Rule{Pack: p.pack, File: p.file, Line: line(top)}
	r.ID = sigmaRuleID(p.file)
	if r.ID == "" {
		p.errorf(r.Line, "sigma: no rule id can be made from the file name; name the file with letters or digits (aws_bucket_deleted.yml), or load it from a rule file with sigma: and an id")
		return nil
	}
	sr, err := sigma.ParseNode(top)
	if err != nil {
		p.sigmaErrors(err, func(line int) (int, string) { return line, "sigma: " })
		return nil
	}
	r.Language, r.Source, r.matcher = "sigma", string(data), sigmaMatcher{sr}
	r.Severity = sr.Severity()
	p.sigmaMeta(r, sr)
	if len(p.errs) > 0 {
		return nil
	}
	return []*Rule{r}
}

var nonID = regexp.MustCompile(`[^a-z0-9]+`)

// sigmaRuleID turns a file name into a rule id.
func sigmaRuleID(file string) string {
	base := path.Base(filepath.ToSlash(file))
	base = strings.TrimSuffix(base, path.Ext(base))
	return strings.Trim(nonID.ReplaceAllString(strings.ToLower(base), "-"), "-")
}
