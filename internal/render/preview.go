package render

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/trailwatch/trailwatch/internal/textwidth"
)

// Preview returns p as the person it is for will read it, in plain text: a
// Slack message laid out as Slack shows it (notification line, header,
// text with the mention, the coloured attachment's fields in two columns,
// context, button), a Teams card as Teams lays it out, an email's subject
// and text part, an SNS message's subject, attributes and readable text, a
// webhook document's headline and alerts, stdout's text. It reads the
// payload itself, so what it shows is what is sent.
//
// The text comes from the event and may hold anything a terminal would act
// on; a caller printing it to a terminal must make control characters
// visible first.
func Preview(p *Payload) (string, error) {
	var b strings.Builder
	var err error
	switch p.Kind {
	case KindSlack, KindSlackBot:
		err = previewSlack(&b, p)
	case KindTeams:
		err = previewTeams(&b, p)
	case KindEmail:
		previewEmail(&b, p)
	case KindSNS:
		err = previewSNS(&b, p)
	case KindWebhook:
		err = previewWebhook(&b, p)
	case KindStdout:
		b.WriteString(strings.TrimRight(p.Text, "\n"))
		b.WriteByte('\n')
	default:
		return "", fmt.Errorf("preview: %w %q", ErrUnknownKind, p.Kind)
	}
	if err != nil {
		return "", fmt.Errorf("preview of the %s message for receiver %q: %w", p.Kind, p.Receiver, err)
	}
	return b.String(), nil
}

// colourNames names the severity colours of Slack attachments.
var colourNames = map[string]string{
	"#439FE0": "blue", "#2EB886": "green", "#DAA038": "amber", "#E8590C": "orange", "#D00000": "red",
}

func colourName(hex string) string {
	if n, ok := colourNames[strings.ToUpper(hex)]; ok {
		return n + " (" + hex + ")"
	}
	return hex
}

// The subset of Slack's Block Kit a preview reads back.
type previewSlackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type previewSlackBlock struct {
	Type   string              `json:"type"`
	Text   *previewSlackText   `json:"text"`
	Fields []*previewSlackText `json:"fields"`
	// Elements are text objects (context) or buttons (actions), whose
	// text is a string or a text object.
	Elements []struct {
		Type string          `json:"type"`
		Text json.RawMessage `json:"text"`
		URL  string          `json:"url"`
	} `json:"elements"`
}

type previewSlackMessage struct {
	Channel     string              `json:"channel"`
	Text        string              `json:"text"`
	Blocks      []previewSlackBlock `json:"blocks"`
	Attachments []struct {
		Color  string              `json:"color"`
		Blocks []previewSlackBlock `json:"blocks"`
	} `json:"attachments"`
}

// slackTokens finds Slack's angle-bracket tokens: mentions and links.
var slackTokens = regexp.MustCompile(`<([^<>]*)>`)

// slackBold finds *bold* the way Slack reads it: asterisks hugging a run of
// text, at word boundaries.
var slackBold = regexp.MustCompile(`(^|[\s(])\*([^\s*](?:[^*\n]*[^\s*])?)\*($|[\s).,:;!?])`)

// slackDisplay turns Slack mrkdwn into the text Slack shows: mentions as
// @here or @U024BE7LH, links as their label, bold without its asterisks,
// entities decoded.
func slackDisplay(s string) string {
	s = slackTokens.ReplaceAllStringFunc(s, func(tok string) string {
		in := tok[1 : len(tok)-1]
		target, label, hasLabel := strings.Cut(in, "|")
		switch {
		case strings.HasPrefix(target, "!subteam^"):
			if hasLabel {
				return "@" + strings.TrimPrefix(label, "@")
			}
			return "@" + strings.TrimPrefix(target, "!subteam^")
		case strings.HasPrefix(target, "!"):
			return "@" + strings.TrimPrefix(target, "!")
		case strings.HasPrefix(target, "@"), strings.HasPrefix(target, "#"):
			if hasLabel {
				return target[:1] + label
			}
			return target
		case hasLabel:
			return label
		}
		return target
	})
	for range 2 { // adjacent bold runs share a boundary character
		s = slackBold.ReplaceAllString(s, "$1$2$3")
	}
	return UnescapeSlack(s)
}

// slackMentions lists the mentions in Slack text as Slack shows them.
func slackMentions(s string) []string {
	var out []string
	for _, m := range slackTokens.FindAllStringSubmatch(s, -1) {
		if t := m[1]; strings.HasPrefix(t, "!") || strings.HasPrefix(t, "@") {
			if d := slackDisplay(m[0]); !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	return out
}

func previewSlack(b *strings.Builder, p *Payload) error {
	var m previewSlackMessage
	if err := json.Unmarshal(p.Body, &m); err != nil {
		return fmt.Errorf("the body is not a Slack message: %w", err)
	}
	what := "Slack message"
	if m.Channel != "" {
		what += " to " + m.Channel
	}
	if len(m.Attachments) > 0 {
		what += ", colour " + colourName(m.Attachments[0].Color)
	}
	if ms := slackMentions(m.Text); len(ms) > 0 {
		what += ", mentions " + strings.Join(ms, " ")
	} else {
		what += ", mentions nobody"
	}
	fmt.Fprintf(b, "%s\nnotification: %s\n\n", what, slackDisplay(m.Text))
	slackBlocks(b, m.Blocks, "")
	for _, a := range m.Attachments {
		slackBlocks(b, a.Blocks, "┃ ")
	}
	return nil
}

// previewColumn is the widest a field may be to share its line with
// another, as Slack's two columns do on a laptop screen.
const previewColumn = 38

func slackBlocks(b *strings.Builder, blocks []previewSlackBlock, bar string) {
	line := func(s string) {
		for _, l := range strings.Split(s, "\n") {
			b.WriteString(strings.TrimRight(bar+l, " "))
			b.WriteByte('\n')
		}
	}
	for _, bl := range blocks {
		switch bl.Type {
		case "header":
			if bl.Text != nil {
				t := slackDisplay(bl.Text.Text)
				line(t)
				line(strings.Repeat("=", min(textwidth.Width(t), 72)))
			}
		case "section":
			if bl.Text != nil {
				line(slackDisplay(bl.Text.Text))
			}
			slackFields(bl.Fields, line)
		case "context":
			var parts []string
			for _, e := range bl.Elements {
				if t := elementText(e.Text); t != "" {
					parts = append(parts, slackDisplay(t))
				}
			}
			line(strings.Join(parts, "  "))
		case "divider":
			line(strings.Repeat("─", 40))
		case "actions":
			for _, e := range bl.Elements {
				line("[ " + slackDisplay(elementText(e.Text)) + " ] " + e.URL)
			}
		}
	}
}

// elementText reads an element's text, a string or a text object.
func elementText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var t previewSlackText
	if json.Unmarshal(raw, &t) == nil {
		return t.Text
	}
	return ""
}

// slackFields lays fields out two to a row, label above value, as Slack
// does; a field too wide for a column gets a row of its own.
func slackFields(fields []*previewSlackText, line func(string)) {
	fields = slices.DeleteFunc(slices.Clone(fields), func(f *previewSlackText) bool { return f == nil })
	split := func(f *previewSlackText) (string, string) {
		label, value, _ := strings.Cut(slackDisplay(f.Text), "\n")
		return label, value
	}
	fits := func(f *previewSlackText) bool {
		l, v := split(f)
		return textwidth.Width(l) < previewColumn && textwidth.Width(v) < previewColumn
	}
	for i := 0; i < len(fields); {
		if i > 0 {
			line("")
		}
		if i+1 < len(fields) && fits(fields[i]) && fits(fields[i+1]) {
			l1, v1 := split(fields[i])
			l2, v2 := split(fields[i+1])
			line(textwidth.Pad(l1, previewColumn) + l2)
			line(textwidth.Pad(v1, previewColumn) + v2)
			i += 2
			continue
		}
		l, v := split(fields[i])
		line(l)
		line(v)
		i++
	}
}

// teamsStyles names the Teams container styles by the colour they show.
var teamsStyles = map[string]string{
	"attention": "red (attention)", "warning": "amber (warning)", "good": "green (good)", "accent": "blue (accent)",
}

// markdownEscape finds the backslash escapes EscapeMarkdown writes.
var markdownEscape = regexp.MustCompile(`\\([!-/:-@\[-` + "`" + `{-~])`)

// markdownDisplay turns Adaptive Card Markdown into the text Teams shows.
func markdownDisplay(s string) string {
	s = strings.ReplaceAll(s, "**", "")
	return markdownEscape.ReplaceAllString(s, "$1")
}

func previewTeams(b *strings.Builder, p *Payload) error {
	var m struct {
		Attachments []struct {
			Content struct {
				Body    []json.RawMessage `json:"body"`
				Actions []struct {
					Title string `json:"title"`
					URL   string `json:"url"`
				} `json:"actions"`
			} `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(p.Body, &m); err != nil {
		return fmt.Errorf("the body is not a Teams message: %w", err)
	}
	if len(m.Attachments) == 0 {
		return fmt.Errorf("the Teams message has no card")
	}
	card := m.Attachments[0].Content
	type element struct {
		Type     string            `json:"type"`
		Style    string            `json:"style"`
		Text     string            `json:"text"`
		Size     string            `json:"size"`
		IsSubtle bool              `json:"isSubtle"`
		Items    []json.RawMessage `json:"items"`
		Facts    []struct {
			Title string `json:"title"`
			Value string `json:"value"`
		} `json:"facts"`
	}
	var out []string
	style := ""
	var walk func(raw []json.RawMessage, depth int)
	walk = func(raw []json.RawMessage, depth int) {
		for _, r := range raw {
			var e element
			if json.Unmarshal(r, &e) != nil || depth > 8 {
				continue
			}
			switch e.Type {
			case "Container":
				if style == "" {
					style = e.Style
				}
				walk(e.Items, depth+1)
			case "TextBlock":
				t := markdownDisplay(e.Text)
				out = append(out, t)
				if e.Size == "Large" {
					out = append(out, strings.Repeat("=", min(textwidth.Width(t), 72)))
				}
			case "FactSet":
				w := 0
				for _, f := range e.Facts {
					w = max(w, textwidth.Width(markdownDisplay(f.Title)))
				}
				w = min(w, previewColumn)
				for _, f := range e.Facts {
					out = append(out, textwidth.Pad(markdownDisplay(f.Title), w)+"  "+markdownDisplay(f.Value))
				}
			}
		}
	}
	walk(card.Body, 0)
	name := teamsStyles[style]
	if name == "" {
		name = "default"
	}
	fmt.Fprintf(b, "Teams card, style %s\n\n", name)
	for _, l := range out {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	for _, a := range card.Actions {
		fmt.Fprintf(b, "[ %s ] %s\n", a.Title, a.URL)
	}
	return nil
}

func previewEmail(b *strings.Builder, p *Payload) {
	fmt.Fprintf(b, "Subject: %s\n\n%s\n", p.Subject, strings.TrimRight(p.Text, "\n"))
	if p.HTML != "" {
		fmt.Fprintf(b, "\n(and an HTML part of %d bytes with the same content)\n", len(p.HTML))
	}
}

func previewSNS(b *strings.Builder, p *Payload) error {
	var m snsMessage
	if err := json.Unmarshal(p.Body, &m); err != nil {
		return fmt.Errorf("the body is not an SNS message: %w", err)
	}
	fmt.Fprintf(b, "Subject: %s\n", p.Subject)
	if len(p.Attributes) > 0 {
		var attrs []string
		for _, k := range sortedKeys(p.Attributes) {
			attrs = append(attrs, k+"="+p.Attributes[k])
		}
		for _, k := range slices.Sorted(maps.Keys(p.ListAttributes)) {
			attrs = append(attrs, k+"=["+strings.Join(p.ListAttributes[k], ", ")+"]")
		}
		fmt.Fprintf(b, "Attributes: %s\n", strings.Join(attrs, ", "))
	}
	fmt.Fprintf(b, "\n%s\n\n(email subscribers read the text above; other subscribers get the webhook document, %d bytes)\n",
		strings.TrimRight(m.Email, "\n"), len(m.Default))
	return nil
}

func previewWebhook(b *strings.Builder, p *Payload) error {
	var d WebhookDoc
	if err := json.Unmarshal(p.Body, &d); err != nil {
		return fmt.Errorf("the body is not a webhook document: %w", err)
	}
	fmt.Fprintf(b, "Webhook document version %s, %d bytes, %s\n\n%s\n", d.Version, len(p.Body), p.ContentType, d.Title)
	for _, a := range d.Alerts {
		e := a.Event
		fmt.Fprintf(b, "- [%s] %s: %s\n", a.Severity, a.Rule.ID, oneLine(a.Rule.Title))
		if a.Summary != "" {
			fmt.Fprintf(b, "  %s\n", oneLine(a.Summary))
		}
		facts := []string{e.Time, e.Name, e.Principal.Name, e.SourceIP, e.Account, e.Region}
		facts = slices.DeleteFunc(facts, func(s string) bool { return s == "" })
		fmt.Fprintf(b, "  %s\n", oneLine(strings.Join(facts, " · ")))
		for _, o := range a.Also {
			fmt.Fprintf(b, "  + [%s] %s: %s\n", o.Severity, o.Rule.ID, oneLine(o.Rule.Title))
		}
	}
	if more := d.Count - len(d.Alerts); more > 0 {
		fmt.Fprintf(b, "… %d more in the group\n", more)
	}
	return nil
}
