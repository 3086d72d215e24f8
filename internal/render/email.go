package render

import "strings"

// Email limits: the subject is one line of at most EmailMaxSubject runes;
// shown values are cut at emailValueRunes.
const (
	EmailMaxSubject = 200
	emailValueRunes = 2000
)

// renderEmail returns Subject, Text and HTML. The notifier builds the MIME
// message (and encodes the subject for non-ASCII text).
func (r *Renderer) renderEmail(receiver string, g *Group) (*Payload, error) {
	m, err := r.prepare(KindEmail, receiver, g, r.maxAlerts)
	if err != nil {
		return nil, err
	}
	m.limitValues(emailValueRunes)
	subject, _, err := r.exec(KindEmail, FieldSubject, true, m)
	if err != nil {
		return nil, err
	}
	text, _, err := r.exec(KindEmail, FieldBody, true, m)
	if err != nil {
		return nil, err
	}
	html, _, err := r.exec(KindEmail, FieldHTML, true, m)
	if err != nil {
		return nil, err
	}
	return &Payload{
		Subject: Truncate(strings.TrimSpace(oneLine(subject)), EmailMaxSubject),
		Text:    text,
		HTML:    html,
	}, nil
}
