// Package matcher is the label-matcher language: configuration vocabulary
// that internal/config parses (routes, silences) and internal/route
// evaluates, kept below both so that neither imports the other for it. One
// matcher per string, such as
//
//	severity >= high
//	account = 123456789012
//	event_name =~ "Create.*|Delete.*"
//	principal !~ "terraform-ci/.*"
//	tag:cis-1.7
//	tag =~ "cis-.*"
//
// Regular expressions are RE2 and anchored at both ends. A label that an
// alert does not carry has the empty value, as in Alertmanager.
//
// Errors quote every piece of the user's text they echo (Go syntax, so a
// newline reads as \n): an error is always one line, and text written into
// a matcher cannot forge further lines of `trailwatch validate` output.
package matcher

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

// Op is a matcher's comparison.
type Op int

// The comparisons. The ordering comparisons apply to severity only.
const (
	Equal Op = iota
	NotEqual
	Regexp
	NotRegexp
	GreaterOrEqual
	Greater
	LessOrEqual
	Less
)

var opText = [...]string{"=", "!=", "=~", "!~", ">=", ">", "<=", "<"}

// String returns the operator as written: "=", "!=", "=~", "!~", ">=", ...
func (o Op) String() string {
	if o < 0 || int(o) >= len(opText) {
		return "op(" + strconv.Itoa(int(o)) + ")"
	}
	return opText[o]
}

// TagLabel is the pseudo-label that matches against every tag of the alert's
// rule: "tag = cis-1.7" holds when one tag is cis-1.7, "tag !~ cis-.*" when
// none starts with cis-.
const TagLabel = "tag"

// TagPrefix starts the per-tag labels of event.Alert.Labels: the alert of a
// rule tagged cis-1.7 carries the label "tag:cis-1.7" with the value "true".
const TagPrefix = "tag:"

// knownLabels are the labels an alert carries (see event.Alert.Labels) plus
// account_name and role, which routing adds (route.Tree.Labels).
var knownLabels = [...]string{
	"rule", "severity", "account", "account_name", "region",
	"principal", "principal_type", "principal_arn", "principal_account", "role",
	"event_name", "event_source", "source_ip",
}

// findingLabels are the labels only an alert about a GuardDuty or
// Security Hub finding carries (see event.Finding and docs/findings.md).
var findingLabels = [...]string{
	"source", "finding_type", "finding_id", "product", "resource_type", "resource_id",
	"generator", "control", "compliance", "sample",
}

// KnownLabels returns the label names a matcher may use besides tag and
// tag:<name>, in a fixed order.
func KnownLabels() []string { return slices.Clone(knownLabels[:]) }

// IsKnownLabel reports whether name is a label matchers may use.
func IsKnownLabel(name string) bool {
	if name == TagLabel {
		return true
	}
	if t, ok := strings.CutPrefix(name, TagPrefix); ok {
		return validTag(t)
	}
	return slices.Contains(knownLabels[:], name) || slices.Contains(findingLabels[:], name)
}

// Matcher is one compiled label condition. It is immutable and safe for
// concurrent use.
type Matcher struct {
	Name  string
	Op    Op
	Value string

	re  *regexp.Regexp // Regexp, NotRegexp
	sev event.Severity // ordering ops, and = / != on severity
}

// Parse compiles one matcher. Errors read as one sentence naming the part
// that is wrong; the caller adds where the text came from.
func Parse(s string) (*Matcher, error) {
	text := strings.TrimSpace(s)
	if text == "" {
		return nil, errors.New("empty matcher (want label op value, such as severity >= high)")
	}
	i := 0
	for i < len(text) && isNameByte(text[i]) {
		i++
	}
	name := text[:i]
	if name == "" {
		return nil, fmt.Errorf("matcher %q does not start with a label name", text)
	}
	rest := strings.TrimLeft(text[i:], " \t")
	if rest == "" {
		// A bare tag label tests that the rule carries the tag.
		if t, ok := strings.CutPrefix(name, TagPrefix); ok && validTag(t) {
			return &Matcher{Name: name, Op: Equal, Value: "true"}, nil
		}
		return nil, fmt.Errorf("matcher %q has no operator (want =, !=, =~, !~, or >=, >, <=, < for severity)", text)
	}
	op, n, ok := parseOp(rest)
	if !ok {
		return nil, fmt.Errorf("matcher %q has no operator after %q (want =, !=, =~, !~, or >=, >, <=, < for severity)", text, name)
	}
	if !IsKnownLabel(name) {
		if strings.HasPrefix(name, TagPrefix) {
			return nil, fmt.Errorf("matcher %q: tag label %q has an empty or invalid tag name", text, name)
		}
		return nil, fmt.Errorf("matcher %q: unknown label %q (want one of %s, tag, tag:<name>)", text, name, strings.Join(knownLabels[:], ", "))
	}
	raw := strings.TrimSpace(rest[n:])
	value, err := parseValue(raw)
	if err != nil {
		return nil, fmt.Errorf("matcher %q: %w", text, err)
	}
	return build(name, op, value, text)
}

// New compiles a matcher from its parts, as Parse does for "name op value".
func New(name string, op Op, value string) (*Matcher, error) {
	if !IsKnownLabel(name) {
		return nil, fmt.Errorf("unknown label %q (want one of %s, tag, tag:<name>)", name, strings.Join(knownLabels[:], ", "))
	}
	if op < Equal || op > Less {
		return nil, fmt.Errorf("unknown operator %d", int(op))
	}
	return build(name, op, value, name+" "+op.String()+" "+quote(value))
}

func build(name string, op Op, value, text string) (*Matcher, error) {
	m := &Matcher{Name: name, Op: op, Value: value}
	switch op {
	case Regexp, NotRegexp:
		// Compiled unanchored first so an error quotes the user's text.
		if _, err := regexp.Compile(value); err != nil {
			return nil, fmt.Errorf("matcher %q: bad regular expression %q (%s)", text, value, regexpReason(err, value))
		}
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			return nil, fmt.Errorf("matcher %q: bad regular expression %q (%s)", text, value, regexpReason(err, value))
		}
		m.re = re
	case GreaterOrEqual, Greater, LessOrEqual, Less:
		if name != "severity" {
			return nil, fmt.Errorf("matcher %q: ordering operator %s applies to severity only", text, op)
		}
		sev, err := event.ParseSeverity(value)
		if err != nil {
			return nil, fmt.Errorf("matcher %q: %w", text, err)
		}
		m.sev = sev
	case Equal, NotEqual:
		if name == "severity" && value != "" {
			sev, err := event.ParseSeverity(value)
			if err != nil {
				return nil, fmt.Errorf("matcher %q: %w", text, err)
			}
			m.sev = sev
			m.Value = sev.String()
		}
	}
	return m, nil
}

// regexpReason names what is wrong, and the fragment when it is only part
// of the expression.
func regexpReason(err error, expr string) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		if se.Expr == expr || se.Expr == "" {
			return string(se.Code)
		}
		return string(se.Code) + " in " + strconv.Quote(se.Expr)
	}
	return err.Error()
}

func parseOp(s string) (Op, int, bool) {
	switch {
	case strings.HasPrefix(s, "=~"):
		return Regexp, 2, true
	case strings.HasPrefix(s, "!~"):
		return NotRegexp, 2, true
	case strings.HasPrefix(s, "!="):
		return NotEqual, 2, true
	case strings.HasPrefix(s, ">="):
		return GreaterOrEqual, 2, true
	case strings.HasPrefix(s, "<="):
		return LessOrEqual, 2, true
	case strings.HasPrefix(s, "=="):
		return Equal, 2, true
	case strings.HasPrefix(s, "="):
		return Equal, 1, true
	case strings.HasPrefix(s, ">"):
		return Greater, 1, true
	case strings.HasPrefix(s, "<"):
		return Less, 1, true
	}
	return 0, 0, false
}

func parseValue(raw string) (string, error) {
	if raw == "" {
		return "", errors.New(`missing value (write "" to match an empty or absent label)`)
	}
	if raw[0] == '"' || raw[0] == '\'' {
		if raw[0] == '\'' {
			if len(raw) < 2 || raw[len(raw)-1] != '\'' || strings.Contains(raw[1:len(raw)-1], "'") {
				return "", fmt.Errorf("value %q is not a complete single-quoted string", raw)
			}
			return raw[1 : len(raw)-1], nil
		}
		v, err := strconv.Unquote(raw)
		if err != nil {
			return "", fmt.Errorf("value %q is not a complete double-quoted string", raw)
		}
		return v, nil
	}
	return raw, nil
}

func isNameByte(c byte) bool {
	return c == '_' || c == ':' || c == '-' || c == '.' || c == '/' ||
		'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func validTag(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !isNameByte(t[i]) {
			return false
		}
	}
	return true
}

// Matches reports whether labels satisfy m.
func (m *Matcher) Matches(labels map[string]string) bool {
	if m.Name == TagLabel {
		return m.matchTags(labels)
	}
	return m.matchValue(labels[m.Name])
}

func (m *Matcher) matchValue(v string) bool {
	switch m.Op {
	case Equal:
		return v == m.Value
	case NotEqual:
		return v != m.Value
	case Regexp:
		return m.re.MatchString(v)
	case NotRegexp:
		return !m.re.MatchString(v)
	}
	sev, err := event.ParseSeverity(v)
	if err != nil {
		return false
	}
	switch m.Op {
	case GreaterOrEqual:
		return sev >= m.sev
	case Greater:
		return sev > m.sev
	case LessOrEqual:
		return sev <= m.sev
	case Less:
		return sev < m.sev
	}
	return false
}

// matchTags applies a positive operator to "some tag" and a negative one to
// "no tag": tag != x holds when no tag is x.
func (m *Matcher) matchTags(labels map[string]string) bool {
	positive := m.Op == Equal || m.Op == Regexp
	for k, v := range labels {
		t, ok := strings.CutPrefix(k, TagPrefix)
		if !ok || v != "true" {
			continue
		}
		var hit bool
		if m.re != nil {
			hit = m.re.MatchString(t)
		} else {
			hit = t == m.Value
		}
		if hit {
			return positive
		}
	}
	return !positive
}

// String returns the matcher in the form Parse reads.
func (m *Matcher) String() string {
	return m.Name + " " + m.Op.String() + " " + quote(m.Value)
}

// MarshalText implements encoding.TextMarshaler, for config dumps.
func (m *Matcher) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

func quote(v string) string {
	if v == "" || strings.ContainsAny(v, " \t\"'\\,") || strings.TrimSpace(v) != v || !strconv.CanBackquote(v) {
		return strconv.Quote(v)
	}
	return v
}

// Matchers is a conjunction: all must hold. An empty list matches anything.
type Matchers []*Matcher

// Matches reports whether every matcher holds.
func (ms Matchers) Matches(labels map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(labels) {
			return false
		}
	}
	return true
}

// String returns the matchers as "{a = b, c =~ d}".
func (ms Matchers) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.String())
	}
	b.WriteByte('}')
	return b.String()
}

// ParseLabels reads a label set written as "k=v,k2=v2" (values may be
// double-quoted to hold commas), as route test --labels takes it. A bare
// tag:<name> means the rule carries that tag.
func ParseLabels(s string) (map[string]string, error) {
	out := make(map[string]string)
	rest := strings.TrimSpace(s)
	for rest != "" {
		var item string
		item, rest = splitItem(rest)
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, value, hasEq := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		if !hasEq {
			if t, ok := strings.CutPrefix(name, TagPrefix); ok && validTag(t) {
				out[name] = "true"
				continue
			}
			return nil, fmt.Errorf("label %q has no value (want name=value)", item)
		}
		if !IsKnownLabel(name) || name == TagLabel {
			return nil, fmt.Errorf("unknown label %q (want one of %s, tag:<name>)", name, strings.Join(knownLabels[:], ", "))
		}
		v := strings.TrimSpace(value)
		if strings.HasPrefix(v, `"`) {
			u, err := strconv.Unquote(v)
			if err != nil {
				return nil, fmt.Errorf("label %q: value %q is not a complete double-quoted string", name, v)
			}
			v = u
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("label %q is given twice", name)
		}
		if name == "severity" {
			sev, err := event.ParseSeverity(v)
			if err != nil {
				return nil, fmt.Errorf("label severity: %w", err)
			}
			v = sev.String()
		}
		out[name] = v
	}
	return out, nil
}

// splitItem returns the text up to the first comma outside double quotes.
func splitItem(s string) (item, rest string) {
	inQuote, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			esc = false
		case inQuote && c == '\\':
			esc = true
		case c == '"':
			inQuote = !inQuote
		case c == ',' && !inQuote:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}
