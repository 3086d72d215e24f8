package rule

import (
	"strings"
	"text/template"
	tparse "text/template/parse"

	"github.com/trailwatch/trailwatch/internal/event"
)

// summaryTemplate is a compiled summary template. Templates made only of text and
// the event's text helpers ({{.Name}}, {{.Principal.Name}},
// {{.Field "requestParameters.userName"}}) are rendered by direct calls,
// which is several times faster than text/template's reflection and matters
// when a busy rule fires on thousands of events; any other template runs in
// text/template. Both give the same text.
type summaryTemplate struct {
	tmpl  *template.Template
	parts []summaryPart // nil: use tmpl
}

// summaryPart is literal text, one helper call, or {{if helper}} with its
// branches.
type summaryPart struct {
	text      string
	event     func(*event.Event) string
	principal func(event.Principal) string
	field     string
	isField   bool
	cond      *summaryPart // set for {{if}}: then and els are the branches
	then, els []summaryPart
}

var eventText = map[string]func(*event.Event) string{
	"ID": (*event.Event).ID, "Name": (*event.Event).Name, "Source": (*event.Event).Source,
	"Type": (*event.Event).Type, "Version": (*event.Event).Version, "Account": (*event.Event).Account,
	"Region": (*event.Event).Region, "ErrorCode": (*event.Event).ErrorCode,
	"ErrorMessage": (*event.Event).ErrorMessage, "SourceIP": (*event.Event).SourceIP,
	"UserAgent": (*event.Event).UserAgent, "LoginResult": (*event.Event).LoginResult,
	"ConsoleURL": (*event.Event).ConsoleURL, "ServiceName": (*event.Event).ServiceName,
	"EnvelopeSource": (*event.Event).EnvelopeSource, "DetailType": (*event.Event).DetailType,
}

var principalText = map[string]func(event.Principal) string{
	"Type": func(p event.Principal) string { return p.Type }, "Name": func(p event.Principal) string { return p.Name },
	"ARN": func(p event.Principal) string { return p.ARN }, "AccountID": func(p event.Principal) string { return p.AccountID },
	"UserName": func(p event.Principal) string { return p.UserName }, "RoleName": func(p event.Principal) string { return p.RoleName },
	"SessionName": func(p event.Principal) string { return p.SessionName }, "InvokedBy": func(p event.Principal) string { return p.InvokedBy },
	"SwitchFrom": func(p event.Principal) string { return p.SwitchFrom }, "SwitchTo": func(p event.Principal) string { return p.SwitchTo },
	"": event.Principal.String, // {{.Principal}} prints its String form
}

// direct returns the direct form of t, or nil when t uses anything else.
func direct(t *template.Template) []summaryPart {
	if t.Tree == nil || t.Root == nil || len(t.Templates()) > 1 {
		return nil
	}
	parts, ok := directList(t.Root)
	if !ok || parts == nil {
		return nil
	}
	return parts
}

func directList(list *tparse.ListNode) ([]summaryPart, bool) {
	parts := []summaryPart{}
	if list == nil {
		return parts, true
	}
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *tparse.TextNode:
			parts = append(parts, summaryPart{text: string(n.Text)})
		case *tparse.ActionNode:
			p, ok := directPipe(n.Pipe)
			if !ok {
				return nil, false
			}
			parts = append(parts, p)
		case *tparse.IfNode:
			cond, ok := directPipe(n.Pipe)
			if !ok {
				return nil, false
			}
			then, ok := directList(n.List)
			if !ok {
				return nil, false
			}
			els, ok := directList(n.ElseList)
			if !ok {
				return nil, false
			}
			parts = append(parts, summaryPart{cond: &cond, then: then, els: els})
		default:
			return nil, false
		}
	}
	return parts, true
}

func directPipe(pipe *tparse.PipeNode) (summaryPart, bool) {
	if pipe == nil || len(pipe.Decl) > 0 || len(pipe.Cmds) != 1 {
		return summaryPart{}, false
	}
	args := pipe.Cmds[0].Args
	f, ok := args[0].(*tparse.FieldNode)
	if !ok {
		return summaryPart{}, false
	}
	switch {
	case len(args) == 1 && len(f.Ident) == 1 && eventText[f.Ident[0]] != nil:
		return summaryPart{event: eventText[f.Ident[0]]}, true
	case len(args) == 1 && len(f.Ident) == 1 && f.Ident[0] == "Principal":
		return summaryPart{principal: principalText[""]}, true
	case len(args) == 1 && len(f.Ident) == 2 && f.Ident[0] == "Principal" && f.Ident[1] != "" && principalText[f.Ident[1]] != nil:
		return summaryPart{principal: principalText[f.Ident[1]]}, true
	case len(args) == 2 && len(f.Ident) == 1 && f.Ident[0] == "Field":
		if s, ok := args[1].(*tparse.StringNode); ok {
			return summaryPart{field: s.Text, isField: true}, true
		}
	}
	return summaryPart{}, false
}

// render executes the summary on ev.
func (s *summaryTemplate) render(ev *event.Event) (string, error) {
	return s.renderIn(&renderCtx{ev: ev})
}

// renderIn executes the summary on et's event, sharing what et has read of
// it with the other summaries rendered on the same event.
func (s *summaryTemplate) renderIn(et *renderCtx) (string, error) {
	if s.parts == nil {
		var b strings.Builder
		err := s.tmpl.Execute(&b, et.ev)
		return b.String(), err
	}
	r := directRender{renderCtx: et}
	r.b.Grow(128) // most summaries fit: one allocation, not one per doubling
	r.list(s.parts)
	return r.b.String(), nil
}

// renderCtx is an event with the parts summaries read of it more than
// once: the principal, read at most once for every summary of every alert
// the event raises.
type renderCtx struct {
	ev   *event.Event
	p    event.Principal
	have bool
}

func (et *renderCtx) principal() event.Principal {
	if !et.have {
		et.p, et.have = et.ev.Principal(), true
	}
	return et.p
}

// directRender renders direct parts.
type directRender struct {
	b strings.Builder
	*renderCtx
}

func (r *directRender) list(parts []summaryPart) {
	for i := range parts {
		part := &parts[i]
		if part.cond != nil {
			// text/template's truth for a string is "not empty".
			if r.value(part.cond) != "" {
				r.list(part.then)
			} else {
				r.list(part.els)
			}
			continue
		}
		r.b.WriteString(r.value(part))
	}
}

func (r *directRender) value(part *summaryPart) string {
	switch {
	case part.event != nil:
		return part.event(r.ev)
	case part.principal != nil:
		return part.principal(r.principal())
	case part.isField:
		return r.ev.Field(part.field)
	}
	return part.text
}
