package render

// renderStdout returns Body as one line of JSON (the webhook document,
// ending in "\n", at most WebhookMaxBytes before it) and Text as the
// readable form.
func (r *Renderer) renderStdout(receiver string, g *Group) (*Payload, error) {
	_, b, err := r.fitDoc(KindStdout, receiver, g, WebhookMaxBytes)
	if err != nil {
		return nil, err
	}
	m, err := r.prepare(KindStdout, receiver, g, r.maxAlerts)
	if err != nil {
		return nil, err
	}
	m.limitValues(emailValueRunes)
	text, _, err := r.exec(KindStdout, FieldBody, true, m)
	if err != nil {
		return nil, err
	}
	return &Payload{Body: append(b, '\n'), ContentType: "application/x-ndjson", Text: text}, nil
}
