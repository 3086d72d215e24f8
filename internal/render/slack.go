package render

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Slack limits (Block Kit reference). Lengths are in characters.
const (
	SlackMaxBlocks        = 50
	SlackMaxHeader        = 150
	SlackMaxSectionText   = 3000
	SlackMaxFields        = 10
	SlackMaxFieldText     = 2000
	SlackMaxContextItems  = 10
	SlackMaxMessageText   = 40000
	SlackMaxButtonText    = 75
	SlackMaxURL           = 3000
	slackLongFactRunes    = 1400 // two long facts share one section
	slackAlertLineRunes   = 600
	slackContextItemRunes = 300
)

// slackText is a Block Kit text object.
type slackText struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Verbatim bool   `json:"verbatim,omitempty"`
}

// slackBlock is the subset of Block Kit blocks used here: header, section,
// context, divider and actions.
type slackBlock struct {
	Type     string       `json:"type"`
	BlockID  string       `json:"block_id,omitempty"`
	Text     *slackText   `json:"text,omitempty"`
	Fields   []*slackText `json:"fields,omitempty"`
	Elements []any        `json:"elements,omitempty"`
}

type slackButton struct {
	Type     string     `json:"type"`
	Text     *slackText `json:"text"`
	URL      string     `json:"url"`
	ActionID string     `json:"action_id"`
}

type slackAttachment struct {
	Color    string       `json:"color"`
	Fallback string       `json:"fallback"`
	Blocks   []slackBlock `json:"blocks"`
}

// slackMessage is the body of an incoming webhook post and, with Channel
// (and ThreadTS, set by the notifier), of chat.postMessage.
type slackMessage struct {
	Channel  string `json:"channel,omitempty"`
	ThreadTS string `json:"thread_ts,omitempty"`
	Text     string `json:"text"`
	// Mrkdwn is always false: the top-level text is the notification line
	// and holds a user name and an account; with formatting off, *, _ and
	// ~ in them show as typed. Mentions (<!here>) and entities still work.
	Mrkdwn      bool              `json:"mrkdwn"`
	Blocks      []slackBlock      `json:"blocks"`
	Attachments []slackAttachment `json:"attachments,omitempty"`
	// Link previews are off: an attacker's URL in a user agent must not
	// be fetched or shown as a card.
	UnfurlLinks bool `json:"unfurl_links"`
	UnfurlMedia bool `json:"unfurl_media"`
}

// mrkdwn returns a mrkdwn text object. verbatim stops Slack from turning bare
// URLs and channel names in untrusted text into links.
func mrkdwn(s string, max int) *slackText {
	return &slackText{Type: "mrkdwn", Text: Truncate(s, max), Verbatim: true}
}

func plain(s string, max int) *slackText {
	return &slackText{Type: "plain_text", Text: Truncate(EscapeSlack(s), max)}
}

// slackLinkMaxURL keeps an inline link short enough that cutting a line
// never splits it.
const slackLinkMaxURL = 400

// slackLink writes a mrkdwn link to a URL we built (the console link), or
// just the label when the URL is not https or too long to inline.
func slackLink(url, label string) string {
	if !strings.HasPrefix(url, "https://") || len(url) > slackLinkMaxURL {
		return EscapeSlack(label)
	}
	return "<" + EscapeSlack(url) + "|" + EscapeSlack(label) + ">"
}

func (r *Renderer) renderSlack(kind, receiver string, g *Group) (*Payload, error) {
	m, err := r.prepare(kind, receiver, g, r.maxAlerts)
	if err != nil {
		return nil, err
	}
	w := m.Words
	first := &m.Alerts[0]
	esc := EscapeSlack

	// Top-level blocks: the headline and what happened, with the mention.
	var top []slackBlock
	top = append(top, slackBlock{Type: "header", Text: plain(m.Title, SlackMaxHeader)})
	text, custom, err := r.execMarkup(kind, m)
	if err != nil {
		return nil, err
	}
	if !custom {
		text = slackSummary(m)
	}
	if m.Mention != "" {
		text = strings.TrimSpace(m.Mention + " " + text)
	}
	if strings.TrimSpace(text) != "" {
		top = append(top, slackBlock{Type: "section", Text: mrkdwn(text, SlackMaxSectionText)})
	}

	// The coloured attachment: facts of the first alert, the list of shown
	// alerts of a group, detector context and the console button.
	var body []slackBlock
	var fields []*slackText
	var long []string
	for _, f := range first.Facts {
		item := "*" + esc(f.Label) + "*\n" + esc(f.Value)
		if f.Long || len(fields) == SlackMaxFields {
			long = append(long, Truncate(item, slackLongFactRunes))
			continue
		}
		fields = append(fields, mrkdwn(item, SlackMaxFieldText))
	}
	if len(fields) > 0 {
		body = append(body, slackBlock{Type: "section", Fields: fields})
	}
	if len(long) > 0 {
		body = append(body, slackBlock{Type: "section", Text: mrkdwn(strings.Join(long, "\n"), SlackMaxSectionText)})
	}
	if len(first.Context) > 0 {
		var els []any
		for i, c := range first.Context {
			if i == SlackMaxContextItems {
				break
			}
			els = append(els, mrkdwn("*"+esc(c.Label)+"*: "+esc(c.Value), slackContextItemRunes))
		}
		body = append(body, slackBlock{Type: "context", Elements: els})
	}

	// Blocks left for the alert list: keep room for the closing context
	// and actions blocks.
	more := m.More
	if m.Shown > 1 {
		room := SlackMaxBlocks - len(top) - len(body) - 3
		body = append(body, slackBlock{Type: "section", Text: mrkdwn("*"+esc(w.OtherAlerts)+"*", SlackMaxSectionText)})
		for i := range m.Alerts {
			if i >= room {
				more += m.Shown - i
				break
			}
			body = append(body, slackBlock{Type: "section", Text: mrkdwn(slackAlertLine(&m.Alerts[i], first.Summary), slackAlertLineRunes)})
		}
	}

	var footer []string
	if more > 0 {
		footer = append(footer, esc(w.more(more)))
	}
	if first.RuleID != "" {
		footer = append(footer, esc(w.Rule)+": "+esc(first.RuleID))
	}
	footer = append(footer, esc(m.SeverityName))
	body = append(body, slackBlock{Type: "context", Elements: []any{mrkdwn(strings.Join(footer, " · "), SlackMaxSectionText)}})
	if u := first.ConsoleURL; strings.HasPrefix(u, "https://") && len(u) <= SlackMaxURL {
		body = append(body, slackBlock{Type: "actions", Elements: []any{slackButton{
			Type:     "button",
			Text:     plain(first.ConsoleText, SlackMaxButtonText),
			URL:      u,
			ActionID: "open_console",
		}}})
	}

	fallback := esc(m.Title)
	if first.Principal != "" {
		fallback += " - " + esc(oneLine(first.Principal))
	}
	if first.AccountText != "" {
		fallback += " - " + esc(oneLine(first.AccountText))
	}
	msg := slackMessage{
		Text:        Truncate(strings.TrimSpace(m.Mention+" "+fallback), SlackMaxMessageText),
		Blocks:      top,
		Attachments: []slackAttachment{{Color: m.Colour, Fallback: Truncate(fallback, SlackMaxMessageText), Blocks: body}},
	}
	if kind == KindSlackBot {
		msg.Channel = r.channels[receiver]
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode Slack message: %w", err)
	}
	return &Payload{Body: b, ContentType: "application/json; charset=utf-8", Text: UnescapeSlack(fallback)}, nil
}

// slackSummary is the default Slack text: the first alert's summary and
// annotation, or for a group its count.
func slackSummary(m *Message) string {
	a := &m.Alerts[0]
	var lines []string
	if a.Summary != "" {
		lines = append(lines, EscapeSlack(a.Summary))
	}
	if a.Annotation != "" {
		lines = append(lines, "*"+EscapeSlack(m.Words.Annotation)+"*: "+EscapeSlack(a.Annotation))
	}
	return strings.Join(lines, "\n")
}

// slackAlertLine is one alert of a group on one line: time (linked to the
// console), event, principal, source IP, error code, then the summary when
// it differs from the first alert's.
func slackAlertLine(a *AlertView, firstSummary string) string {
	esc := EscapeSlack
	parts := []string{slackLink(a.ConsoleURL, a.TimeText)}
	for _, s := range []string{a.EventName, a.Principal, a.SourceIP, a.ErrorCode} {
		if s != "" {
			parts = append(parts, esc(oneLine(s)))
		}
	}
	line := "• " + strings.Join(parts, " · ")
	if a.Summary != "" && a.Summary != firstSummary {
		line += "\n" + esc(a.Summary)
	}
	return line
}

// SetSlackThread returns a slackbot body with its channel and thread_ts set,
// for the notifier to post a repeat into the first message's thread. An
// empty channel or threadTS leaves that field as it was.
func SetSlackThread(body []byte, channel, threadTS string) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, fmt.Errorf("slack body is not a JSON object: %w", err)
	}
	for k, v := range map[string]string{"channel": channel, "thread_ts": threadTS} {
		if v == "" {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		fields[k] = b
	}
	return json.Marshal(fields)
}

// prepare builds the message for kind and applies the user's title
// template, if any.
func (r *Renderer) prepare(kind, receiver string, g *Group, maxAlerts int) (*Message, error) {
	m := r.message(receiver, g, maxAlerts)
	t, ok, err := r.exec(kind, FieldTitle, false, m)
	if err != nil {
		return nil, err
	}
	if ok {
		m.Title = oneLine(strings.TrimSpace(t))
	}
	return m, nil
}
