// Package render turns a group of alerts into the exact payload each kind of
// receiver sends: Slack (incoming webhook and chat.postMessage), Microsoft
// Teams (Workflows webhook with an Adaptive Card), a generic JSON webhook,
// Amazon SNS, email (text and HTML) and stdout.
//
// Rendering happens in two steps. First a Group becomes one neutral Message:
// the facts a reader needs (who, what, where, when, from which address, with
// or without MFA), localised to English or Japanese and with times in the
// configured zone. Then the Message is written out for one receiver kind.
//
// Everything read from a CloudTrail event was chosen by whoever made the API
// call: user agents, user names, session names, error messages, request
// parameters, and the rule summaries and annotations that embed them. Each
// kind escapes that text for its target: Slack mrkdwn (&, < and >, so that
// "<!channel>" or "<http://evil|click>" is shown and never acted on),
// Adaptive Card Markdown, HTML (html/template), and JSON built only by
// encoders. Control characters, bidirectional overrides and invisible
// characters (zero-width spaces, the byte-order mark) in what a person reads
// are shown as visible escapes (\n, \u202e, \u200b) so that a value cannot
// forge a second line, reorder the text around it or pass for another name.
// User templates cannot skip this: every value they print is escaped as it
// is printed, unless they ask for raw.
//
// Slack's plain "@channel", "@here" and "@everyone" words are left as they
// are: Slack only turns them into mentions when a message asks for it with
// link_names or parse=full, and no payload made here does. Mentions that
// should notify people come only from the Renderer's configuration.
//
// Size limits are met by truncation, never by a message the receiver would
// reject: text is cut on a rune boundary, never inside an escape sequence,
// and marked with "…(truncated)" (TruncMarker; "…(省略)" in Japanese
// messages). The limits are the Slack*,
// TeamsMaxBytes, SNS*, EmailMaxSubject and WebhookMaxBytes constants;
// TEMPLATES.md lists them with the template data model.
//
// A Renderer is built once (templates parse at construction, so a bad
// template fails at load time, naming the template and position) and is safe
// for concurrent use.
package render
