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
	"time"
)

//go:embed templates/*.tmpl
var defaultTemplateFS embed.FS

// Template fields and where each applies. A "title" and a "subject" or
// "body" are plain text: the template's output is escaped for its target. A
// "text" is markup for Slack or Teams: the template sees values already
// escaped for that target (originals under .Raw) and its output is used as
// is. An "html" is parsed with html/template, which escapes by context.
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

// templates holds the parsed user and default templates, keyed by
// "kind.field" (user, kind-specific), "field" (user, any kind) and
// "default.field".
type templates struct {
	byKey map[string]executor
}

// parseTemplates parses the defaults and the user's templates. Each user
// template is parsed under its own key, so errors read
// `template: slack.title:1:12: ...`.
func parseTemplates(user map[string]string, r *Renderer) (*templates, error) {
	funcs := r.funcs()
	ts := &templates{byKey: map[string]executor{}}
	var errs []error

	for _, d := range []struct{ key, file string }{
		{"default." + FieldSubject, "templates/subject.tmpl"},
		{"default." + FieldBody, "templates/body.tmpl"},
		{"default." + FieldHTML, "templates/email.html.tmpl"},
	} {
		src, err := defaultTemplateFS.ReadFile(d.file)
		if err != nil {
			return nil, fmt.Errorf("default template %s: %w", d.file, err)
		}
		x, err := parse(d.key, string(src), funcs)
		if err != nil {
			return nil, fmt.Errorf("default template %s: %w", d.file, err)
		}
		ts.byKey[d.key] = x
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
		x, err := parse(key, user[key], funcs)
		if err != nil {
			errs = append(errs, fmt.Errorf("template %q does not parse: %w", key, err))
			continue
		}
		ts.byKey[key] = x
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ts, nil
}

func parse(key, src string, funcs map[string]any) (executor, error) {
	if key == FieldHTML || strings.HasSuffix(key, "."+FieldHTML) {
		t, err := htmltemplate.New(key).Option("missingkey=error").Funcs(funcs).Parse(src)
		if err != nil {
			return nil, err
		}
		return t, nil
	}
	t, err := template.New(key).Option("missingkey=error").Funcs(funcs).Parse(src)
	if err != nil {
		return nil, err
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
// one, the user's general one, then the default (if withDefault), or nil.
func (ts *templates) lookup(kind, field string, withDefault bool) (string, executor) {
	if x, ok := ts.byKey[kind+"."+field]; ok {
		return kind + "." + field, x
	}
	if x, ok := ts.byKey[field]; ok {
		return field, x
	}
	if withDefault {
		if x, ok := ts.byKey["default."+field]; ok {
			return "default " + field, x
		}
	}
	return "", nil
}

// exec runs kind's template for field on data. ok is false when there is no
// template (and no default when withDefault is false).
func (r *Renderer) exec(kind, field string, withDefault bool, data *Message) (out string, ok bool, err error) {
	name, x := r.tmpl.lookup(kind, field, withDefault)
	if x == nil {
		return "", false, nil
	}
	var b bytes.Buffer
	if err := x.Execute(&b, data); err != nil {
		return "", false, fmt.Errorf("template %s failed: %w", name, err)
	}
	return b.String(), true, nil
}

// execMarkup runs kind's "text" template, if the user gave one, on a copy
// of m with every value escaped by esc.
func (r *Renderer) execMarkup(kind string, m *Message, esc func(string) string) (string, bool, error) {
	if _, x := r.tmpl.lookup(kind, FieldText, false); x == nil {
		return "", false, nil
	}
	return r.exec(kind, FieldText, false, m.mapText(esc))
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
		"truncate":       func(n int, s string) string { return Truncate(s, n) },
		"escapeSlack":    EscapeSlack,
		"escapeHTML":     EscapeHTML,
		"escapeMarkdown": EscapeMarkdown,
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
