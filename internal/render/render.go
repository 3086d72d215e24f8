package render

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
)

// Group is what one message is about: some alerts that routing put together.
type Group struct {
	// Key is the group key (receiver plus the group_by label values).
	Key string
	// Receiver names the receiver the group is for.
	Receiver string
	// Alerts holds the first few alerts of the group. The Renderer shows at
	// most Options.MaxAlerts of them.
	Alerts []*event.Alert
	// Count is the total number of alerts in the group (>= len(Alerts)).
	Count int
	// Labels holds the group_by labels.
	Labels map[string]string
	// Repeat is set when the group was already notified once (Slack bot
	// messages then go into the first message's thread).
	Repeat bool
}

// Payload is a message ready to send, in the shape one receiver kind wants.
type Payload struct {
	// Receiver is the receiver's name and Kind its kind (see Kinds).
	Receiver, Kind string
	// Body is the request body for slack, slackbot, teams and webhook; for
	// sns the message to publish with MessageStructure=json, an object whose
	// "default" is the webhook document (JSON text) and "email" the readable
	// text; and for stdout one JSON line ending in "\n". Email has no Body.
	Body []byte
	// ContentType is Body's media type.
	ContentType string
	// Subject is the email or SNS subject.
	Subject string
	// Text is the email text part, the readable SNS form (also inside Body
	// under "email") and the readable stdout form; for slack and slackbot it
	// is the plain fallback line, for webhook the title. HTML is the email
	// HTML part.
	Text, HTML string
	// Attributes are SNS message attributes (all of type String) for
	// subscription filter policies.
	Attributes map[string]string
	// ListAttributes are SNS message attributes of type String.Array: a
	// filter policy on one matches when any element does.
	ListAttributes map[string][]string
}

// Receiver kinds.
const (
	KindSlack    = "slack"
	KindSlackBot = "slackbot"
	KindTeams    = "teams"
	KindWebhook  = "webhook"
	KindSNS      = "sns"
	KindEmail    = "email"
	KindStdout   = "stdout"
)

// Kinds returns every receiver kind Render understands, in a fixed order.
func Kinds() []string {
	return []string{KindSlack, KindSlackBot, KindTeams, KindWebhook, KindSNS, KindEmail, KindStdout}
}

// Mentions says whom a Slack message notifies. Values are Slack mrkdwn
// written by the operator ("<!here>", "<!channel>", "<@U024BE7LH>",
// "<!subteam^S0123|oncall>") and are inserted unescaped into Slack text. Other
// kinds ignore mentions.
type Mentions struct {
	// BySeverity maps a severity to its mention; a missing severity
	// mentions no one.
	BySeverity map[event.Severity]string
	// FailedLogin is used when a group holds a failed console sign-in and
	// its severity mentions no one.
	FailedLogin string
}

// DefaultMentions returns the mentions used when Options.Mentions is nil:
// nobody for info, low and medium; "<!here>" (active members of the channel)
// for high; "<!channel>" (every member) for critical; and "<!here>" for a
// failed console sign-in whatever its severity.
func DefaultMentions() Mentions {
	return Mentions{
		BySeverity: map[event.Severity]string{
			event.SeverityHigh:     "<!here>",
			event.SeverityCritical: "<!channel>",
		},
		FailedLogin: "<!here>",
	}
}

// DefaultMaxAlerts is how many alerts of a group a message shows when
// Options.MaxAlerts is zero.
const DefaultMaxAlerts = 5

// Options configure a Renderer. The zero value renders English messages
// with times in UTC, the default mentions and the default templates.
type Options struct {
	// Locale is "en" (the default) or "ja".
	Locale string
	// Location is the time zone times are shown in; nil means UTC.
	Location *time.Location
	// AccountNames maps an AWS account id to a readable alias
	// ("111122223333" -> "prod").
	AccountNames map[string]string
	// Mentions replaces DefaultMentions when not nil; &Mentions{} mentions
	// no one.
	Mentions *Mentions
	// Templates holds user templates (Go text/template) keyed by
	// "[kind.]field": "title", "text", "subject", "body", "html", or a kind
	// prefix such as "slack.text" or "email.subject" that wins over the
	// unprefixed key for that kind. See the package's TEMPLATES.md.
	Templates map[string]string
	// MaxAlerts is how many alerts of a group a message shows; 0 means
	// DefaultMaxAlerts.
	MaxAlerts int
	// SlackChannels maps a slackbot receiver's name to its channel id or
	// name, written into the chat.postMessage body.
	SlackChannels map[string]string
	// Now is the clock used for the webhook document's rendered_at; nil
	// means time.Now.
	Now func() time.Time
}

// Renderer renders groups into payloads. It is built once by New and is safe
// for concurrent use.
type Renderer struct {
	words     *Words
	loc       *time.Location
	accounts  map[string]string
	mentions  Mentions
	maxAlerts int
	channels  map[string]string
	now       func() time.Time
	tmpl      *templates

	zonesMu sync.Mutex
	zones   map[string]*time.Location
}

// New checks o, parses its templates and returns a Renderer. Every problem
// is reported, joined with errors.Join.
func New(o Options) (*Renderer, error) {
	r := &Renderer{
		loc:       o.Location,
		accounts:  copyMap(o.AccountNames),
		maxAlerts: o.MaxAlerts,
		channels:  copyMap(o.SlackChannels),
		now:       o.Now,
		zones:     map[string]*time.Location{},
	}
	var errs []error
	switch o.Locale {
	case "", "en":
		w := english()
		r.words = &w
	case "ja":
		w := japanese()
		r.words = &w
	default:
		errs = append(errs, fmt.Errorf("unknown locale %q (want en or ja)", o.Locale))
	}
	if r.loc == nil {
		r.loc = time.UTC
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.maxAlerts == 0 {
		r.maxAlerts = DefaultMaxAlerts
	}
	if r.maxAlerts < 0 {
		errs = append(errs, fmt.Errorf("max alerts is %d; want a positive number (or 0 for %d)", o.MaxAlerts, DefaultMaxAlerts))
	}
	if o.Mentions != nil {
		r.mentions = Mentions{BySeverity: map[event.Severity]string{}, FailedLogin: o.Mentions.FailedLogin}
		for s, m := range o.Mentions.BySeverity {
			r.mentions.BySeverity[s] = m
		}
	} else {
		r.mentions = DefaultMentions()
	}
	t, err := parseTemplates(o.Templates, r)
	if err != nil {
		errs = append(errs, err)
	}
	r.tmpl = t
	if len(errs) > 0 {
		return nil, fmt.Errorf("render: %w", errors.Join(errs...))
	}
	return r, nil
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ErrUnknownKind is returned by Render for a kind not in Kinds.
var ErrUnknownKind = errors.New("unknown receiver kind")

// ErrEmptyGroup is returned by Render for a group with no alerts.
var ErrEmptyGroup = errors.New("group has no alerts")

// Render builds the payload receiver receiverName of kind kind sends for g.
// Errors name the receiver and, for user templates, the template.
func (r *Renderer) Render(kind, receiverName string, g *Group) (*Payload, error) {
	if g == nil || len(g.Alerts) == 0 {
		return nil, fmt.Errorf("render for receiver %q: %w", receiverName, ErrEmptyGroup)
	}
	for i, a := range g.Alerts {
		if a == nil || a.Event == nil {
			return nil, fmt.Errorf("render for receiver %q: alert %d of group %q has no event", receiverName, i, g.Key)
		}
	}
	var (
		p   *Payload
		err error
	)
	switch kind {
	case KindSlack, KindSlackBot:
		p, err = r.renderSlack(kind, receiverName, g)
	case KindTeams:
		p, err = r.renderTeams(receiverName, g)
	case KindWebhook:
		p, err = r.renderWebhook(receiverName, g)
	case KindSNS:
		p, err = r.renderSNS(receiverName, g)
	case KindEmail:
		p, err = r.renderEmail(receiverName, g)
	case KindStdout:
		p, err = r.renderStdout(receiverName, g)
	default:
		return nil, fmt.Errorf("render for receiver %q: %w %q (want one of %s)", receiverName, ErrUnknownKind, kind, strings.Join(Kinds(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("render %s for receiver %q: %w", kind, receiverName, err)
	}
	p.Receiver, p.Kind = receiverName, kind
	if m := r.words.Truncated; m != TruncMarker {
		localiseMarker(p, m)
	}
	return p, nil
}

// localiseMarker writes the locale's marker for cut values in place of
// TruncMarker. The locale's marker is no longer than TruncMarker, so every
// size limit the payload met still holds.
func localiseMarker(p *Payload, marker string) {
	p.Body = bytes.ReplaceAll(p.Body, []byte(TruncMarker), []byte(marker))
	p.Text = strings.ReplaceAll(p.Text, TruncMarker, marker)
	p.HTML = strings.ReplaceAll(p.HTML, TruncMarker, marker)
	p.Subject = strings.ReplaceAll(p.Subject, TruncMarker, marker)
}

// zone loads a time zone by name for the tz template function, caching it
// because time.LoadLocation reads the zone database on every call.
func (r *Renderer) zone(name string) (*time.Location, error) {
	r.zonesMu.Lock()
	defer r.zonesMu.Unlock()
	if l, ok := r.zones[name]; ok {
		return l, nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: %w", name, err)
	}
	r.zones[name] = l
	return l, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
