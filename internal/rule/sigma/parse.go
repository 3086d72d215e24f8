package sigma

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/yamlnode"
)

// Rule is one compiled Sigma detection rule. The metadata fields hold the
// document's text as written; Match runs the detection.
//
// A Rule is safe for concurrent use.
type Rule struct {
	Title       string
	ID          string
	Name        string
	Status      string
	Description string
	License     string
	Author      string
	Date        string
	Modified    string
	// Level is the document's level ("informational" ... "critical"), or ""
	// when it has none.
	Level          string
	References     []string
	Tags           []string
	FalsePositives []string
	LogSource      LogSource
	// Line is where the document starts.
	Line int

	cond   *node
	names  []string // pinned event names as written, or nil
	folded [][]byte // names folded, for the pinned-name check
	pinned bool
}

// LogSource is a rule's logsource section.
type LogSource struct {
	Product, Service, Category, Definition string
}

// Error is one problem in a Sigma document: the line it is on and a
// sentence naming the construct and what to do.
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Errors is every problem found in one document, in order.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// levels maps Sigma levels to trailwatch severities.
var levels = map[string]event.Severity{
	"informational": event.SeverityInfo,
	"low":           event.SeverityLow,
	"medium":        event.SeverityMedium,
	"high":          event.SeverityHigh,
	"critical":      event.SeverityCritical,
}

// Severity returns the trailwatch severity for the rule's level:
// informational is info, the others keep their names. A rule without a
// level is medium.
func (r *Rule) Severity() event.Severity {
	if s, ok := levels[r.Level]; ok {
		return s
	}
	return event.SeverityMedium
}

// IsDocument reports whether a YAML mapping is a Sigma rule rather than a
// trailwatch rule file: it has a detection or a logsource key.
func IsDocument(m *ast.MappingNode) bool {
	for _, kv := range m.Values {
		if k, ok := scalarText(kv.Key); ok && (k == "detection" || k == "logsource") {
			return true
		}
	}
	return false
}

// maxSource bounds the size of a Sigma document.
const maxSource = 1 << 20

// Parse compiles a Sigma rule from one YAML document. Every problem is
// reported, as Errors.
func Parse(src []byte) (*Rule, error) {
	if len(src) > maxSource {
		return nil, Errors{{Line: 1, Msg: fmt.Sprintf("the document is %d bytes; a Sigma rule may be at most %d", len(src), maxSource)}}
	}
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		l, msg := yamlnode.At(err)
		return nil, Errors{{Line: l, Msg: "invalid YAML: " + msg}}
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc.Body == nil {
			continue
		}
		if body != nil {
			return nil, Errors{{Line: nodeLine(doc.Body), Msg: "a second YAML document: rule collections (several documents in one file) are not supported; put each rule in its own file"}}
		}
		body = doc.Body
	}
	if body == nil {
		return nil, Errors{{Line: 1, Msg: "empty document; a Sigma rule is a mapping with title, logsource and detection"}}
	}
	return ParseNode(body)
}

// ParseNode compiles a Sigma rule from a parsed YAML mapping, such as one
// embedded in a trailwatch rule file; lines are those of the node.
func ParseNode(n ast.Node) (*Rule, error) {
	p := &docParser{}
	r := p.rule(n)
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return r, nil
}

type docParser struct {
	errs Errors
}

func (p *docParser) errorf(line int, format string, args ...any) {
	p.errs = append(p.errs, &Error{Line: line, Msg: fmt.Sprintf(format, args...)})
}

// refusedTop names top-level keys that make a document something other than
// a detection rule.
var refusedTop = map[string]string{
	"correlation": "a Sigma correlation rule; correlation rules (counts and sequences over many events) are not supported",
	"filter":      "a Sigma filter; filters (exclusions applied to other rules) are not supported; write the exclusion in the rule's condition",
	"action":      "a rule collection entry (action: global, reset or repeat); rule collections are not supported",
}

func (p *docParser) rule(n ast.Node) *Rule {
	n = yamlnode.Unwrap(n)
	m, ok := n.(*ast.MappingNode)
	if !ok {
		p.errorf(nodeLine(n), "a Sigma rule is a mapping with title, logsource and detection, found %s", yamlnode.Kind(n))
		return nil
	}
	r := &Rule{Line: nodeLine(m)}
	var detection *ast.MappingValueNode
	seen := map[string]bool{}
	for _, kv := range m.Values {
		k, ok := scalarText(kv.Key)
		if !ok {
			p.errorf(nodeLine(kv), "keys must be plain text")
			continue
		}
		kl := nodeLine(kv.Key)
		if seen[k] {
			p.errorf(kl, "key %q appears twice", k)
			continue
		}
		seen[k] = true
		if why, bad := refusedTop[k]; bad {
			p.errorf(kl, "key %q: this is %s", k, why)
			return nil
		}
		switch k {
		case "title":
			r.Title = p.text(kv)
		case "id":
			r.ID = p.text(kv)
		case "name":
			r.Name = p.text(kv)
		case "status":
			r.Status = p.text(kv)
		case "description":
			r.Description = strings.TrimSpace(p.text(kv))
		case "license":
			r.License = p.text(kv)
		case "author":
			r.Author = p.text(kv)
		case "date":
			r.Date = p.text(kv)
		case "modified":
			r.Modified = p.text(kv)
		case "level":
			r.Level = p.text(kv)
			if _, ok := levels[r.Level]; !ok {
				p.errorf(kl, "level %q is not one of informational, low, medium, high, critical", r.Level)
			}
		case "references":
			r.References = p.texts(kv)
		case "tags":
			r.Tags = p.texts(kv)
		case "falsepositives":
			r.FalsePositives = p.texts(kv)
		case "taxonomy":
			if t := p.text(kv); t != "" && t != "sigma" {
				p.errorf(kl, "taxonomy %q: only the default taxonomy (sigma) is supported; CloudTrail field names are used as they appear in the record", t)
			}
		case "logsource":
			p.logsource(r, kv)
		case "detection":
			detection = kv
		default:
			// related, fields, scope and custom fields: kept by the author,
			// not needed to match.
		}
	}
	if !seen["title"] || r.Title == "" {
		p.errorf(r.Line, `missing key "title"`)
	}
	if !seen["logsource"] {
		p.errorf(r.Line, `missing key "logsource"; trailwatch reads logsource product: aws, service: cloudtrail`)
	}
	if detection == nil {
		p.errorf(r.Line, `missing key "detection"`)
		return r
	}
	p.detection(r, detection)
	return r
}

// logsource reads the logsource section: trailwatch reads CloudTrail.
func (p *docParser) logsource(r *Rule, kv *ast.MappingValueNode) {
	m, ok := yamlnode.Unwrap(kv.Value).(*ast.MappingNode)
	if !ok {
		p.errorf(nodeLine(kv.Key), "logsource must be a mapping (product: aws, service: cloudtrail), found %s", yamlnode.Kind(kv.Value))
		return
	}
	for _, e := range m.Values {
		k, _ := scalarText(e.Key)
		switch k {
		case "product":
			r.LogSource.Product = p.text(e)
		case "service":
			r.LogSource.Service = p.text(e)
		case "category":
			r.LogSource.Category = p.text(e)
		case "definition":
			r.LogSource.Definition = p.text(e)
		}
	}
	l := nodeLine(kv.Key)
	switch {
	case !strings.EqualFold(r.LogSource.Product, "aws"):
		p.errorf(l, "logsource product %q is not read: trailwatch reads AWS CloudTrail (product: aws, service: cloudtrail)", r.LogSource.Product)
	case !strings.EqualFold(r.LogSource.Service, "cloudtrail"):
		p.errorf(l, "logsource service %q is not read: trailwatch reads AWS CloudTrail (product: aws, service: cloudtrail)", r.LogSource.Service)
	case r.LogSource.Category != "":
		p.errorf(l, "logsource category %q is not read: trailwatch reads AWS CloudTrail (product: aws, service: cloudtrail) with no category", r.LogSource.Category)
	}
}

// maxSelections bounds the search identifiers of one rule.
const maxSelections = 1000

// detection reads the search identifiers and compiles the condition.
func (p *docParser) detection(r *Rule, kv *ast.MappingValueNode) {
	m, ok := yamlnode.Unwrap(kv.Value).(*ast.MappingNode)
	if !ok {
		p.errorf(nodeLine(kv.Key), "detection must be a mapping of search identifiers and a condition, found %s", yamlnode.Kind(kv.Value))
		return
	}
	sels := map[string]*selection{}
	var (
		names []string
		cond  ast.Node
		line  = nodeLine(kv.Key)
	)
	for _, e := range m.Values {
		k, ok := scalarText(e.Key)
		kl := nodeLine(e.Key)
		if !ok || k == "" {
			p.errorf(kl, "search identifiers must be plain, non-empty text")
			continue
		}
		switch k {
		case "condition":
			cond = e.Value
			continue
		case "timeframe":
			p.errorf(kl, "timeframe: aggregations over time are not supported; Sigma correlation rules replaced them")
			continue
		}
		if len(sels) == maxSelections {
			p.errorf(kl, "more than %d search identifiers", maxSelections)
			return
		}
		s := p.selection(k, e.Value, kl)
		if s == nil {
			// Refused, and reported; the condition may still name it.
			s = &selection{name: k, line: kl}
		}
		sels[k] = s
		names = append(names, k)
	}
	if cond == nil {
		p.errorf(line, `detection has no condition`)
		return
	}
	r.cond = p.condition(cond, sels, names)
	if r.cond != nil && len(p.errs) == 0 {
		r.names, r.pinned = r.cond.pins()
		for _, n := range r.names {
			r.folded = append(r.folded, foldString(n))
		}
	}
}

// selection reads one search identifier.
func (p *docParser) selection(name string, n ast.Node, line int) *selection {
	s := &selection{name: name, line: line}
	n = yamlnode.Unwrap(n)
	switch v := n.(type) {
	case *ast.MappingNode:
		alt := p.fieldMap(name, v)
		if alt == nil {
			return nil
		}
		s.alts = [][]*fieldCond{alt}
	case *ast.SequenceNode:
		if len(v.Values) == 0 {
			p.errorf(line, "search identifier %q is an empty list", name)
			return nil
		}
		for _, item := range v.Values {
			m, ok := yamlnode.Unwrap(item).(*ast.MappingNode)
			if !ok {
				p.errorf(nodeLine(item), "search identifier %q is a keyword list (%s in a list): keyword search over the whole event is not supported; name the field to search, for example userAgent|contains: ...", name, yamlnode.Kind(item))
				return nil
			}
			alt := p.fieldMap(name, m)
			if alt == nil {
				return nil
			}
			s.alts = append(s.alts, alt)
		}
	default:
		p.errorf(line, "search identifier %q must be a map of fields to values or a list of such maps, found %s", name, yamlnode.Kind(n))
		return nil
	}
	return s
}

// fieldMap reads one map of field conditions (joined with AND).
func (p *docParser) fieldMap(sel string, m *ast.MappingNode) []*fieldCond {
	if len(m.Values) == 0 {
		p.errorf(nodeLine(m), "search identifier %q has an empty map", sel)
		return nil
	}
	n := len(p.errs)
	var out []*fieldCond
	for _, kv := range m.Values {
		k, ok := scalarText(kv.Key)
		kl := nodeLine(kv.Key)
		if !ok {
			p.errorf(kl, "search identifier %q: field names must be plain text", sel)
			continue
		}
		parts := strings.Split(k, "|")
		if parts[0] == "" {
			p.errorf(kl, "search identifier %q: %q has no field name: keyword search over the whole event is not supported; name the field to search", sel, k)
			continue
		}
		if fc := p.fieldCond(sel, parts[0], parts[1:], kv.Value, kl); fc != nil {
			out = append(out, fc)
		}
	}
	if len(p.errs) > n {
		return nil
	}
	return out
}

// refusedModifiers are Sigma modifiers trailwatch does not implement, with
// the reason.
var refusedModifiers = map[string]string{
	"expand":       "placeholders (%name%) need values from the environment that trailwatch does not have; write the values in the rule",
	"windash":      "it expands Windows command-line flags, which CloudTrail does not record",
	"base64":       "encoded values belong to Windows command lines, which CloudTrail does not record",
	"base64offset": "encoded values belong to Windows command lines, which CloudTrail does not record",
	"utf16":        "UTF-16 values belong to Windows logs; CloudTrail is UTF-8 JSON",
	"utf16le":      "UTF-16 values belong to Windows logs; CloudTrail is UTF-8 JSON",
	"utf16be":      "UTF-16 values belong to Windows logs; CloudTrail is UTF-8 JSON",
	"wide":         "UTF-16 values belong to Windows logs; CloudTrail is UTF-8 JSON",
	"neq":          "write the value in a selection of its own and exclude it with not in the condition",
	"minute":       "time modifiers are not supported",
	"hour":         "time modifiers are not supported",
	"day":          "time modifiers are not supported",
	"week":         "time modifiers are not supported",
	"month":        "time modifiers are not supported",
	"year":         "time modifiers are not supported",
}

// fieldCond reads "field|modifiers: values".
func (p *docParser) fieldCond(sel, field string, mods []string, vn ast.Node, line int) *fieldCond {
	who := fmt.Sprintf("search identifier %q, field %q", sel, field)
	var (
		strMode  string // contains, startswith, endswith
		typeMod  string // re, cidr, exists, fieldref, gt, gte, lt, lte
		all      bool
		cased    bool
		reFlags  string
		seenMods = map[string]bool{}
	)
	for _, mod := range mods {
		if seenMods[mod] {
			p.errorf(line, "%s: modifier %q appears twice", who, mod)
			return nil
		}
		seenMods[mod] = true
		switch mod {
		case "contains", "startswith", "endswith":
			if strMode != "" {
				p.errorf(line, "%s: modifiers %q and %q cannot be combined", who, strMode, mod)
				return nil
			}
			strMode = mod
		case "all":
			all = true
		case "cased":
			cased = true
		case "re", "cidr", "exists", "fieldref", "gt", "gte", "lt", "lte":
			if typeMod != "" {
				p.errorf(line, "%s: modifiers %q and %q cannot be combined", who, typeMod, mod)
				return nil
			}
			typeMod = mod
		case "i", "m", "s":
			if typeMod != "re" {
				p.errorf(line, "%s: modifier %q is a sub-modifier of re and must follow it (|re|%s)", who, mod, mod)
				return nil
			}
			reFlags += mod
		default:
			if why, ok := refusedModifiers[mod]; ok {
				p.errorf(line, "%s: modifier %q is not supported: %s", who, mod, why)
			} else {
				p.errorf(line, "%s: unknown modifier %q; trailwatch supports contains, startswith, endswith, all, cased, re (with i, m, s), cidr, exists, fieldref, gt, gte, lt, lte", who, mod)
			}
			return nil
		}
	}
	if strMode != "" && typeMod != "" && typeMod != "fieldref" {
		p.errorf(line, "%s: modifiers %q and %q cannot be combined", who, strMode, typeMod)
		return nil
	}
	if cased && typeMod != "" && typeMod != "fieldref" {
		p.errorf(line, "%s: modifier cased applies to text comparisons, not to %q (a regular expression is case-sensitive unless it has |i)", who, typeMod)
		return nil
	}
	if all && typeMod == "exists" {
		p.errorf(line, "%s: modifiers all and exists cannot be combined", who)
		return nil
	}
	// The values: one scalar, or a list of them.
	var items []ast.Node
	switch v := yamlnode.Unwrap(vn).(type) {
	case *ast.SequenceNode:
		if len(v.Values) == 0 {
			p.errorf(line, "%s: the list of values is empty", who)
			return nil
		}
		items = v.Values
	case *ast.MappingNode:
		p.errorf(line, "%s: a value must be text, a number, a boolean, null or a list of them, found a mapping", who)
		return nil
	default:
		items = []ast.Node{vn}
	}
	if all && len(items) < 2 {
		p.errorf(line, "%s: modifier all needs a list of two or more values (the specification does not allow it on a single value)", who)
		return nil
	}
	fc := &fieldCond{path: newPath(field), all: all}
	for _, item := range items {
		v, ok := p.value(who, item, strMode, typeMod, reFlags, cased)
		if !ok {
			return nil
		}
		fc.values = append(fc.values, v)
		if !v.cased && needsFold(v.kind) {
			fc.fold = true
			if v.foldAlways() {
				fc.foldAlways = true
			}
		}
	}
	return fc
}

// value compiles one value of a field condition.
func (p *docParser) value(who string, n ast.Node, strMode, typeMod, reFlags string, cased bool) (value, bool) {
	n = yamlnode.Unwrap(n)
	line := nodeLine(n)
	if _, isNull := n.(*ast.NullNode); isNull {
		if strMode != "" || typeMod != "" {
			p.errorf(line, "%s: null cannot be combined with modifiers; write field: null", who)
			return value{}, false
		}
		return value{kind: vNull}, true
	}
	text, ok := scalarText(n)
	if !ok {
		p.errorf(line, "%s: a value must be text, a number, a boolean or null, found %s", who, yamlnode.Kind(n))
		return value{}, false
	}
	switch typeMod {
	case "exists":
		b, ok := n.(*ast.BoolNode)
		if !ok {
			p.errorf(line, "%s: exists takes true or false, found %q", who, text)
			return value{}, false
		}
		return value{kind: vExists, exists: b.Value}, true
	case "re":
		re, err := compileRegexp(text, reFlags)
		if err != nil {
			p.errorf(line, "%s: %v", who, err)
			return value{}, false
		}
		return value{kind: vRegex, re: re}, true
	case "cidr":
		pre, err := netip.ParsePrefix(text)
		if err != nil {
			a, aerr := netip.ParseAddr(text)
			if aerr != nil {
				p.errorf(line, "%s: cidr %q is not an IPv4 or IPv6 network (like 10.0.0.0/8)", who, text)
				return value{}, false
			}
			pre = netip.PrefixFrom(a, a.BitLen())
		}
		return value{kind: vCIDR, prefix: netip.PrefixFrom(pre.Addr().Unmap(), bitsUnmapped(pre)).Masked()}, true
	case "gt", "gte", "lt", "lte":
		f, ok := number(n)
		if !ok {
			f, ok = parseNumber([]byte(text))
		}
		if !ok {
			p.errorf(line, "%s: %s compares numbers, found %q", who, typeMod, text)
			return value{}, false
		}
		op := map[string]cmpOp{"gt": opGT, "gte": opGTE, "lt": opLT, "lte": opLTE}[typeMod]
		return value{kind: vCompare, op: op, num: f}, true
	case "fieldref":
		if text == "" {
			p.errorf(line, "%s: fieldref names a field, found empty text", who)
			return value{}, false
		}
		mode := map[string]refMode{"": refEqual, "contains": refContains, "startswith": refPrefix, "endswith": refSuffix}[strMode]
		return value{kind: vRef, ref: newPath(text), mode: mode, cased: cased}, true
	}
	if _, isBool := n.(*ast.BoolNode); isBool {
		text = strconv.FormatBool(n.(*ast.BoolNode).Value)
	}
	if f, isNum := number(n); isNum && strMode == "" {
		return value{kind: vNumber, num: f, glob: parseGlob(escapeWildcards(text), cased), cased: cased}, true
	}
	switch strMode {
	case "contains":
		text = "*" + text + "*"
	case "startswith":
		text += "*"
	case "endswith":
		text = "*" + text
	}
	return value{kind: vGlob, glob: parseGlob(text, cased), cased: cased}, true
}

// bitsUnmapped is a prefix's length for its address without an IPv4-in-IPv6
// mapping (::ffff:10.0.0.0/104 is 10.0.0.0/8).
func bitsUnmapped(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		if b := p.Bits() - 96; b >= 0 {
			return b
		}
		return 0
	}
	return p.Bits()
}

// escapeWildcards makes a number's text a literal glob.
func escapeWildcards(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`).Replace(s)
}

// number returns a YAML number node's value.
func number(n ast.Node) (float64, bool) {
	switch v := n.(type) {
	case *ast.IntegerNode:
		switch x := v.Value.(type) {
		case int64:
			return float64(x), true
		case uint64:
			return float64(x), true
		}
	case *ast.FloatNode:
		return v.Value, true
	}
	return 0, false
}

// compileRegexp compiles a Sigma regular expression with Go's RE2, naming
// the construct when the expression uses one RE2 does not have.
func compileRegexp(src, flags string) (*regexp.Regexp, error) {
	expr := src
	if flags != "" {
		expr = "(?" + flags + ")" + src
	}
	re, err := regexp.Compile(expr)
	if err == nil {
		return re, nil
	}
	var se *syntax.Error
	why := err.Error()
	if errors.As(err, &se) {
		why = se.Code.String() + ": `" + se.Expr + "`"
		switch {
		case se.Code == syntax.ErrInvalidPerlOp && (strings.HasPrefix(se.Expr, "(?=") || strings.HasPrefix(se.Expr, "(?!")):
			why = "lookahead assertions ((?=...), (?!...)) are not supported"
		case se.Code == syntax.ErrInvalidNamedCapture && (strings.HasPrefix(se.Expr, "(?<=") || strings.HasPrefix(se.Expr, "(?<!")):
			why = "lookbehind assertions ((?<=...), (?<!...)) are not supported"
		case se.Code == syntax.ErrInvalidEscape && len(se.Expr) == 2 && se.Expr[1] >= '1' && se.Expr[1] <= '9':
			why = "backreferences (" + se.Expr + ") are not supported"
		case se.Code == syntax.ErrInvalidEscape && se.Expr == `\k`, se.Code == syntax.ErrInvalidPerlOp && strings.HasPrefix(se.Expr, "(?P="):
			why = "named backreferences are not supported"
		case se.Code == syntax.ErrInvalidPerlOp && strings.HasPrefix(se.Expr, "(?>"):
			why = "atomic groups ((?>...)) are not supported"
		case se.Code == syntax.ErrInvalidRepeatOp && strings.HasSuffix(se.Expr, "+"):
			why = "possessive quantifiers (" + se.Expr + ") are not supported"
		}
	}
	return nil, fmt.Errorf("regular expression %q: %s; trailwatch matches with Go's RE2 syntax, which keeps matching time linear in the input", src, why)
}

// text reads a scalar value.
func (p *docParser) text(kv *ast.MappingValueNode) string {
	s, ok := scalarText(yamlnode.Unwrap(kv.Value))
	if !ok {
		k, _ := scalarText(kv.Key)
		p.errorf(nodeLine(kv.Key), "%s must be text, found %s", k, yamlnode.Kind(kv.Value))
	}
	return s
}

// texts reads a list of scalars, or one scalar.
func (p *docParser) texts(kv *ast.MappingValueNode) []string {
	v := yamlnode.Unwrap(kv.Value)
	if _, ok := v.(*ast.NullNode); ok || v == nil {
		return nil
	}
	if s, ok := scalarText(v); ok {
		return []string{s}
	}
	k, _ := scalarText(kv.Key)
	seq, ok := v.(*ast.SequenceNode)
	if !ok {
		p.errorf(nodeLine(kv.Key), "%s must be a list of texts, found %s", k, yamlnode.Kind(v))
		return nil
	}
	var out []string
	for _, item := range seq.Values {
		s, ok := scalarText(yamlnode.Unwrap(item))
		if !ok {
			p.errorf(nodeLine(item), "%s must be a list of texts, found %s in it", k, yamlnode.Kind(item))
			continue
		}
		out = append(out, s)
	}
	return slices.Clip(out)
}

// scalarText returns the text of a scalar node; null is "".
func scalarText(n ast.Node) (string, bool) {
	switch v := yamlnode.Unwrap(n).(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value, true
	case *ast.NullNode:
		return "", true
	}
	return "", false
}

// nodeLine returns the line n starts on, 1 when it carries none.
func nodeLine(n ast.Node) int { return max(yamlnode.Line(n), 1) }
