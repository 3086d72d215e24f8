package render

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

// TeamsMaxBytes is the largest Teams message accepted: 28 KB of JSON.
const TeamsMaxBytes = 28 * 1024

// shrink is one step of making a message smaller: the most runes shown per
// value and the most alerts listed.
type shrink struct{ value, alerts int }

// shrinkSteps returns the steps tried in order until a payload fits its
// size limit; alerts 0 means as many as the Renderer shows.
func shrinkSteps() [5]shrink {
	return [...]shrink{{2000, 0}, {500, 0}, {200, 0}, {200, 1}, {60, 1}}
}

type teamsMessage struct {
	Type        string            `json:"type"`
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string    `json:"contentType"`
	ContentURL  *string   `json:"contentUrl"`
	Content     teamsCard `json:"content"`
}

type teamsCard struct {
	Schema  string         `json:"$schema"`
	Type    string         `json:"type"`
	Version string         `json:"version"`
	MSTeams map[string]any `json:"msteams,omitempty"`
	Body    []any          `json:"body"`
	Actions []any          `json:"actions,omitempty"`
}

type teamsContainer struct {
	Type  string `json:"type"`
	Style string `json:"style,omitempty"`
	Bleed bool   `json:"bleed,omitempty"`
	Items []any  `json:"items"`
}

type teamsTextBlock struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Wrap     bool   `json:"wrap"`
	Size     string `json:"size,omitempty"`
	Weight   string `json:"weight,omitempty"`
	Color    string `json:"color,omitempty"`
	IsSubtle bool   `json:"isSubtle,omitempty"`
	Spacing  string `json:"spacing,omitempty"`
}

type teamsFactSet struct {
	Type  string      `json:"type"`
	Facts []teamsFact `json:"facts"`
}

type teamsFact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

type teamsOpenURL struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// teamsStyle maps a severity to a container style and a text colour.
func teamsStyle(s event.Severity) (style, color string) {
	switch {
	case s >= event.SeverityHigh:
		return "attention", "Attention"
	case s == event.SeverityMedium:
		return "warning", "Warning"
	case s == event.SeverityLow:
		return "good", "Good"
	}
	return "accent", "Accent"
}

func (r *Renderer) renderTeams(receiver string, g *Group) (*Payload, error) {
	var last int
	for _, step := range shrinkSteps() {
		alerts := r.maxAlerts
		if step.alerts > 0 && step.alerts < alerts {
			alerts = step.alerts
		}
		b, err := r.teamsCard(receiver, g, alerts, step.value)
		if err != nil {
			return nil, err
		}
		if len(b) <= TeamsMaxBytes {
			return &Payload{Body: b, ContentType: "application/json; charset=utf-8"}, nil
		}
		last = len(b)
	}
	return nil, fmt.Errorf("the Teams card is %d bytes even when shortened, over the %d byte limit; shorten the title or text template", last, TeamsMaxBytes)
}

func (r *Renderer) teamsCard(receiver string, g *Group, maxAlerts, valueRunes int) ([]byte, error) {
	m, err := r.prepare(KindTeams, receiver, g, maxAlerts)
	if err != nil {
		return nil, err
	}
	w := m.Words
	first := &m.Alerts[0]
	md := func(s string) string { return Truncate(EscapeMarkdown(s), valueRunes) }
	style, color := teamsStyle(m.Severity)

	head := []any{teamsTextBlock{Type: "TextBlock", Text: md(m.Title), Wrap: true, Size: "Large", Weight: "Bolder", Color: color}}
	text, custom, err := r.execMarkup(KindTeams, m)
	if err != nil {
		return nil, err
	}
	if custom {
		text = Truncate(text, valueRunes*2)
	} else {
		var lines []string
		if first.Summary != "" {
			lines = append(lines, md(first.Summary))
		}
		if first.Annotation != "" {
			lines = append(lines, "**"+EscapeMarkdown(w.Annotation)+"**: "+md(first.Annotation))
		}
		text = strings.Join(lines, "\n\n")
	}
	if strings.TrimSpace(text) != "" {
		head = append(head, teamsTextBlock{Type: "TextBlock", Text: text, Wrap: true})
	}
	body := []any{teamsContainer{Type: "Container", Style: style, Bleed: true, Items: head}}

	var facts []teamsFact
	for _, f := range first.Facts {
		facts = append(facts, teamsFact{Title: EscapeMarkdown(f.Label), Value: md(f.Value)})
	}
	for _, c := range first.Context {
		facts = append(facts, teamsFact{Title: md(c.Label), Value: md(c.Value)})
	}
	if len(facts) > 0 {
		body = append(body, teamsFactSet{Type: "FactSet", Facts: facts})
	}
	if m.Shown > 1 {
		body = append(body, teamsTextBlock{Type: "TextBlock", Text: EscapeMarkdown(w.OtherAlerts), Wrap: true, Weight: "Bolder", Spacing: "Medium"})
		for i := range m.Alerts {
			a := &m.Alerts[i]
			parts := []string{EscapeMarkdown(a.TimeText)}
			for _, s := range []string{a.EventName, a.Principal, a.SourceIP, a.ErrorCode} {
				if s != "" {
					parts = append(parts, md(oneLine(s)))
				}
			}
			line := "- " + strings.Join(parts, " · ")
			if a.Summary != "" && a.Summary != first.Summary {
				line += "\n\n  " + md(a.Summary)
			}
			body = append(body, teamsTextBlock{Type: "TextBlock", Text: line, Wrap: true, Spacing: "Small"})
		}
	}
	var footer []string
	if m.More > 0 {
		footer = append(footer, EscapeMarkdown(m.MoreText))
	}
	if first.RuleID != "" {
		footer = append(footer, EscapeMarkdown(w.Rule+": "+first.RuleID))
	}
	footer = append(footer, EscapeMarkdown(m.SeverityName))
	body = append(body, teamsTextBlock{Type: "TextBlock", Text: strings.Join(footer, " · "), Wrap: true, IsSubtle: true, Spacing: "Medium"})

	card := teamsCard{
		Schema:  "http://adaptivecards.io/schemas/adaptive-card.json",
		Type:    "AdaptiveCard",
		Version: "1.4",
		MSTeams: map[string]any{"width": "Full"},
		Body:    body,
	}
	if u := first.ConsoleURL; strings.HasPrefix(u, "https://") {
		card.Actions = []any{teamsOpenURL{Type: "Action.OpenUrl", Title: first.ConsoleText, URL: u}}
	}
	msg := teamsMessage{Type: "message", Attachments: []teamsAttachment{{
		ContentType: "application/vnd.microsoft.card.adaptive",
		Content:     card,
	}}}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode Teams card: %w", err)
	}
	return b, nil
}
