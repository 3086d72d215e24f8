package render

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"reflect"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

//go:embed templates/*.tmpl
var defaultTemplateFS embed.FS

// Template fields and where each applies. Every value a template prints is
// escaped for where the output goes, whatever the template does to get it (a
// field, a field read through .Alert, the result of printf): a "title", a
// "subject" or a "body" is plain text, and each value in it is shown on one
// line with invisible characters made visible; a "text" is markup for Slack
// or Teams, and each value in it is also escaped for that target (Slack
// mrkdwn, or Markdown with URLs defanged for Teams); an "html" is parsed with
// html/template, which escapes by context after the values are made visible.
// The raw function prints a value exactly as it is.
const (
	FieldTitle   = "title"
	FieldText    = "text"
	FieldSubject = "subject"
	FieldBody    = "body"
	FieldHTML    = "html"
)

// fieldKinds says which kinds use a template field; ok is false for an
// unknown field.
func fieldKinds(field string) (kinds []string, ok bool) {
	switch field {
	case FieldTitle:
		return Kinds(), true
	case FieldText:
		return []string{KindSlack, KindSlackBot, KindTeams}, true
	case FieldSubject:
		return []string{KindSNS, KindEmail}, true
	case FieldBody:
		return []string{KindSNS, KindEmail, KindStdout}, true
	case FieldHTML:
		return []string{KindEmail}, true
	}
	return nil, false
}

// executor is what text/template and html/template have in common.
type executor interface {
	Execute(w io.Writer, data any) error
}

// named is a parsed template and the name errors give it ("slack.title",
// "default body").
type named struct {
	name string
	x    executor
}

// templates holds the parsed templates, one per kind that uses each: the
// same source is parsed once for each kind, because the escaping of its
// values depends on the kind. Keys are "user:KEY@KIND" and
// "default:FIELD@KIND".
type templates struct {
	byKey map[string]named
}

// parseTemplates parses the defaults and the user's templates. Each user
// template is parsed under its own key, so errors read
// `template: slack.title:1:12: ...`.
func parseTemplates(user map[string]string, r *Renderer) (*templates, error) {
	ts := &templates{byKey: map[string]named{}}
	var errs []error

	for _, d := range []struct{ field, file string }{
		{FieldSubject, "templates/subject.tmpl"},
		{FieldBody, "templates/body.tmpl"},
		{FieldHTML, "templates/email.html.tmpl"},
	} {
		src, err := defaultTemplateFS.ReadFile(d.file)
		if err != nil {
			return nil, fmt.Errorf("default template %s: %w", d.file, err)
		}
		kinds, _ := fieldKinds(d.field)
		for _, kind := range kinds {
			x, err := parseFor("default."+d.field, d.field, kind, string(src), r)
			if err != nil {
				return nil, fmt.Errorf("default template %s: %w", d.file, err)
			}
			ts.byKey["default:"+d.field+"@"+kind] = named{"default " + d.field, x}
		}
	}

	keys := make([]string, 0, len(user))
	for k := range user {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if err := checkKey(key); err != nil {
			errs = append(errs, err)
			continue
		}
		kind, field, prefixed := strings.Cut(key, ".")
		kinds := []string{kind}
		if !prefixed {
			field = key
			kinds, _ = fieldKinds(field)
		}
		for _, k := range kinds {
			x, err := parseFor(key, field, k, user[key], r)
			if err != nil {
				errs = append(errs, fmt.Errorf("template %q does not parse: %w", key, err))
				break
			}
			ts.byKey["user:"+key+"@"+k] = named{key, x}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ts, nil
}

// parseFor parses src as the template named key, for field as kind shows it,
// and makes every action that prints end in that kind's escaper.
func parseFor(key, field, kind, src string, r *Renderer) (executor, error) {
	funcs := r.funcs()
	for name, f := range escapers(kind, field) {
		funcs[name] = f
	}
	if field == FieldHTML {
		t, err := htmltemplate.New(key).Option("missingkey=error").Funcs(funcs).Parse(src)
		if err != nil {
			return nil, err
		}
		for _, x := range t.Templates() {
			if x.Tree != nil {
				escapeActions(x.Tree.Root)
			}
		}
		return t, nil
	}
	t, err := template.New(key).Option("missingkey=error").Funcs(funcs).Parse(src)
	if err != nil {
		return nil, err
	}
	for _, x := range t.Templates() {
		if x.Tree != nil {
			escapeActions(x.Tree.Root)
		}
	}
	return t, nil
}

// checkKey accepts "field" and "kind.field" for a field the kind uses.
func checkKey(key string) error {
	kind, field, prefixed := strings.Cut(key, ".")
	if !prefixed {
		kind, field = "", key
	}
	kinds, ok := fieldKinds(field)
	if !ok {
		return fmt.Errorf("template %q: unknown field %q (want title, text, subject, body or html, optionally prefixed by a kind such as slack.title)", key, field)
	}
	if kind == "" {
		return nil
	}
	for _, k := range kinds {
		if k == kind {
			return nil
		}
	}
	if !isKind(kind) {
		return fmt.Errorf("template %q: unknown receiver kind %q (want one of %s)", key, kind, strings.Join(Kinds(), ", "))
	}
	return fmt.Errorf("template %q: a %s receiver has no %s field (%s is used by %s)", key, kind, field, field, strings.Join(kinds, ", "))
}

func isKind(k string) bool {
	for _, x := range Kinds() {
		if x == k {
			return true
		}
	}
	return false
}

// lookup returns the template for kind's field: the user's kind-specific
// one, the user's general one, then the default (if withDefault), or a zero
// named.
func (ts *templates) lookup(kind, field string, withDefault bool) named {
	if n, ok := ts.byKey["user:"+kind+"."+field+"@"+kind]; ok {
		return n
	}
	if n, ok := ts.byKey["user:"+field+"@"+kind]; ok {
		return n
	}
	if withDefault {
		return ts.byKey["default:"+field+"@"+kind]
	}
	return named{}
}

// exec runs kind's template for field on data. ok is false when there is no
// template (and no default when withDefault is false).
func (r *Renderer) exec(kind, field string, withDefault bool, data *Message) (out string, ok bool, err error) {
	n := r.tmpl.lookup(kind, field, withDefault)
	if n.x == nil {
		return "", false, nil
	}
	var b bytes.Buffer
	if err := n.x.Execute(&b, data); err != nil {
		return "", false, fmt.Errorf("template %s failed: %w", n.name, err)
	}
	return b.String(), true, nil
}

// execMarkup runs kind's "text" template, if the user gave one. The values
// it prints are escaped as they are printed; .Raw is kept for templates
// written when the dot held escaped values and .Raw the originals: now both
// are the same message.
func (r *Renderer) execMarkup(kind string, m *Message) (string, bool, error) {
	if r.tmpl.lookup(kind, FieldText, false).x == nil {
		return "", false, nil
	}
	view := *m
	view.Raw = m
	return r.exec(kind, FieldText, false, &view)
}

// funcs returns the template functions. They take their main argument last
// so that they chain in pipelines: {{ .Time | tz "Asia/Tokyo" | date "15:04" }}.
func (r *Renderer) funcs() map[string]any {
	return map[string]any{
		// tz converts t to the named zone ("Asia/Tokyo", "UTC", "Local").
		"tz": func(name string, t time.Time) (time.Time, error) {
			l, err := r.zone(name)
			if err != nil {
				return time.Time{}, err
			}
			return t.In(l), nil
		},
		// date formats t with a Go layout ("2006-01-02 15:04:05 MST").
		"date": func(layout string, t time.Time) string { return t.Format(layout) },
		// json encodes v as compact JSON (with <, > and & escaped).
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			if err != nil {
				return "", err
			}
			return string(b), nil
		},
		// truncate shortens s to n runes, marking the cut.
		"truncate": func(n int, s string) string { return Truncate(s, n) },
		// The escapers escape for one target and make invisible
		// characters visible, keeping line breaks; what they return is
		// printed as it is.
		"escapeSlack":    func(s string) safe { return safe(EscapeSlack(visibleLines(s))) },
		"escapeHTML":     func(s string) safe { return safe(EscapeHTML(visibleLines(s))) },
		"escapeMarkdown": func(s string) safe { return safe(EscapeMarkdown(visibleLines(s))) },
		// raw prints its argument exactly as it is: no escaping, control
		// and invisible characters kept. Only for text you trust.
		"raw": func(v any) safe { return safe(fmt.Sprint(v)) },
		// join joins a list of strings: {{ .Tags | join ", " }}.
		"join":  func(sep string, xs []string) string { return strings.Join(xs, sep) },
		"upper": strings.ToUpper,
		"lower": strings.ToLower,
		// default returns def when v is empty (zero, "", nil, empty list).
		"default": func(def, v any) any {
			if v == nil {
				return def
			}
			rv := reflect.ValueOf(v)
			switch rv.Kind() {
			case reflect.Slice, reflect.Map, reflect.String, reflect.Array:
				if rv.Len() == 0 {
					return def
				}
			default:
				if rv.IsZero() {
					return def
				}
			}
			return v
		},
		// line makes control characters visible so that s stays on one line.
		"line": oneLine,
	}
}

// safe is text already escaped for its target (by raw or an escape
// function): the escaper at the end of an action prints it as it is.
type safe string

// The functions escapeActions puts at the end of every printing action.
const (
	escapeFunc        = "_escape"
	escapeLinesFunc   = "_escapeLines"
	escapeMentionFunc = "_escapeMention"
)

// escapers returns the functions that escape a printed value for field as
// kind shows it: one line with invisible characters visible, then Slack or
// Markdown escaping in a "text" field. A rule description keeps its line
// breaks (it is the operator's text, written on several lines); the Slack
// mention is the operator's own mrkdwn and is printed as it is in Slack text.
func escapers(kind, field string) map[string]any {
	esc, lines, mention := oneLine, visibleLines, oneLine
	if field == FieldText {
		switch kind {
		case KindSlack, KindSlackBot:
			esc = func(s string) string { return EscapeSlack(oneLine(s)) }
			lines = func(s string) string { return EscapeSlack(visibleLines(s)) }
			mention = func(s string) string { return s }
		case KindTeams:
			esc = func(s string) string { return EscapeMarkdown(oneLine(s)) }
			lines = func(s string) string { return EscapeMarkdown(visibleLines(s)) }
			mention = esc
		}
	}
	wrap := func(f func(string) string) func(any) string {
		return func(v any) string {
			if s, ok := v.(safe); ok {
				return string(s)
			}
			return f(fmt.Sprint(v))
		}
	}
	return map[string]any{escapeFunc: wrap(esc), escapeLinesFunc: wrap(lines), escapeMentionFunc: wrap(mention)}
}

// escapeActions makes every action under n that prints a value end in an
// escaper, as html/template does for HTML: {{.X | f}} becomes
// {{.X | f | _escape}}. Actions that only set a variable print nothing and
// are left alone, as are the conditions of if, range and with.
func escapeActions(n parse.Node) {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return
		}
		for _, c := range x.Nodes {
			escapeActions(c)
		}
	case *parse.ActionNode:
		if x.Pipe == nil || len(x.Pipe.Decl) > 0 || len(x.Pipe.Cmds) == 0 {
			return
		}
		name := escapeFunc
		switch lastField(x.Pipe.Cmds[len(x.Pipe.Cmds)-1]) {
		case "RuleDescription":
			name = escapeLinesFunc
		case "Mention":
			name = escapeMentionFunc
		}
		x.Pipe.Cmds = append(x.Pipe.Cmds, &parse.CommandNode{
			NodeType: parse.NodeCommand,
			Pos:      x.Pos,
			Args:     []parse.Node{parse.NewIdentifier(name).SetPos(x.Pos)},
		})
	case *parse.IfNode:
		escapeActions(x.List)
		escapeActions(x.ElseList)
	case *parse.RangeNode:
		escapeActions(x.List)
		escapeActions(x.ElseList)
	case *parse.WithNode:
		escapeActions(x.List)
		escapeActions(x.ElseList)
	}
}

// lastField returns the name of the field a command ends in, when the
// command is only a field reference (.Alerts, $.Mention, (index .A 0).Line),
// or "".
func lastField(c *parse.CommandNode) string {
	if len(c.Args) != 1 {
		return ""
	}
	var ident []string
	switch a := c.Args[0].(type) {
	case *parse.FieldNode:
		ident = a.Ident
	case *parse.VariableNode:
		ident = a.Ident[1:]
	case *parse.ChainNode:
		ident = a.Field
	}
	if len(ident) == 0 {
		return ""
	}
	return ident[len(ident)-1]
}
