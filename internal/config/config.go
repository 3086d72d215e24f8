package config

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/matcher"
)

// Config is a loaded, validated and cross-checked trailwatch.yaml. It is
// read-only once Load or Parse returns it.
type Config struct {
	// File is the configuration file's name as given to Load or Parse;
	// Dir is its directory, against which relative paths resolve.
	File string `yaml:"-"`
	Dir  string `yaml:"-"`

	Rules Rules `yaml:"rules"`
	// Timezone is the IANA zone messages show times in; Location is it
	// loaded. Default UTC.
	Timezone string         `yaml:"timezone"`
	Location *time.Location `yaml:"-"`
	// Locale is the message language: en or ja. Default en.
	Locale string `yaml:"locale"`
	// Accounts maps 12-digit account ids to the names messages and the
	// account_name label use.
	Accounts  map[string]string `yaml:"accounts,omitempty"`
	Receivers []*Receiver       `yaml:"receivers"`
	Route     *Route            `yaml:"route"`
	Silences  []*Silence        `yaml:"silences,omitempty"`
	Ignore    []*Ignore         `yaml:"ignore,omitempty"`
	State     State             `yaml:"state"`
	// GeoIP lists MaxMind-format databases (City or Country, and ASN) by
	// path, relative to the configuration file, or as s3://bucket/key. The
	// detectors that need a place run only when one is given.
	GeoIP []string `yaml:"geoip,omitempty"`

	// Notes are things worth telling a user that are not errors, such as an
	// expired silence; validate prints them.
	Notes []string `yaml:"-"`

	// RuleSources are rule files already read from where the configuration
	// lives (an S3 prefix, SSM parameters) or made from it (the rules of a
	// tattletail configuration), loaded besides the local files RuleFiles
	// lists. internal/config/source fills it.
	RuleSources []RuleFile `yaml:"-"`
	// Digest identifies the configuration and every file it names, as
	// read; the same bytes give the same digest, so a reload can tell that
	// nothing changed. Empty when no loader computed it.
	Digest string `yaml:"-"`

	// filesRead is set when rules.files was read by a loader: its local
	// files are then localFiles, and the others are in RuleSources.
	filesRead  bool
	localFiles []string

	// lines maps each setting's path (receivers[0].slack.channel) to the
	// line it was read from.
	lines map[string]int
}

// RuleFile is a rule file read through a file system: FS holds it under
// Name, and messages call it Display ("s3://bucket/rules/iam.yaml",
// "ssm:/trailwatch/rules/iam.yaml").
type RuleFile struct {
	FS      fs.FS
	Name    string
	Display string
}

// UseRuleSources records what rules.files names, as a loader expanded it:
// files read from S3 or SSM, and local paths (files or folders) for the
// rule loader to read. RuleFiles then returns local as it is.
func (c *Config) UseRuleSources(files []RuleFile, local []string) {
	c.RuleSources = append(c.RuleSources, files...)
	c.localFiles = local
	c.filesRead = true
}

// SetLines replaces the lines settings are said to be read from, by
// setting path ("receivers[0]"): for a configuration converted from another
// format, whose lines are those of the original file. Settings not named
// are reported without a line, or with their nearest named parent's.
func (c *Config) SetLines(lines map[string]int) { c.lines = lines }

// Line returns the line a setting was read from, such as
// Line("rules.disable[2]"), or the line of the nearest enclosing setting;
// 0 if none is known.
func (c *Config) Line(path string) int { return lineFor(c.lines, path) }

// Errorf returns an *Error about the setting at path, for checks made
// outside this package (rule ids, pack names, templates).
func (c *Config) Errorf(path, format string, args ...any) error {
	return &Error{File: c.File, Line: c.Line(path), Path: path, Msg: fmt.Sprintf(format, args...)}
}

func lineFor(lines map[string]int, path string) int {
	for p := path; p != ""; {
		if l, ok := lines[p]; ok && l > 0 {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

// Rules chooses the rules to run.
type Rules struct {
	// Packs names built-in packs. Default "default": the packs that run
	// unless named (every pack but the opt-in ones, such as cis); "all"
	// is every pack, "none" turns them all off, and "default" combines
	// with names ([default, cis]).
	Packs []string `yaml:"packs"`
	// Files are rule files or globs, relative to the config file.
	Files []string `yaml:"files,omitempty"`
	// Disable lists rule ids not to run.
	Disable []string `yaml:"disable,omitempty"`
	// Severity overrides the severity of rules by id.
	Severity map[string]event.Severity `yaml:"severity,omitempty"`
}

// AllPacks reports whether every built-in pack is selected.
func (r Rules) AllPacks() bool { return slices.Equal(r.Packs, []string{PacksAll}) }

// NoPacks reports whether built-in packs are turned off.
func (r Rules) NoPacks() bool { return slices.Equal(r.Packs, []string{PacksNone}) }

// The special pack names.
const (
	PacksAll     = "all"
	PacksNone    = "none"
	PacksDefault = "default"
)

// Receiver kinds, as Receiver.Kind returns them and render.Payload.Kind
// names them.
const (
	KindSlack    = "slack"
	KindSlackBot = "slackbot"
	KindTeams    = "teams"
	KindWebhook  = "webhook"
	KindSNS      = "sns"
	KindEmail    = "email"
	KindStdout   = "stdout"
)

// Kinds lists the receiver kinds in documentation order.
func Kinds() []string {
	return []string{KindSlack, KindSlackBot, KindTeams, KindWebhook, KindSNS, KindEmail, KindStdout}
}

// Receiver is a named destination. Exactly one kind field is set.
type Receiver struct {
	Name     string    `yaml:"name"`
	Slack    *Slack    `yaml:"slack,omitempty"`
	SlackBot *SlackBot `yaml:"slackbot,omitempty"`
	Teams    *Teams    `yaml:"teams,omitempty"`
	Webhook  *Webhook  `yaml:"webhook,omitempty"`
	SNS      *SNS      `yaml:"sns,omitempty"`
	Email    *Email    `yaml:"email,omitempty"`
	Stdout   *Stdout   `yaml:"stdout,omitempty"`
	// Templates override the receiver's message templates by name; the
	// names a kind understands are listed in docs/configuration.md.
	Templates map[string]string `yaml:"templates,omitempty"`
	// Rate paces the receiver; nil means its kind's default.
	Rate *Rate `yaml:"rate,omitempty"`
	// TemplateFiles are templates written as {file: PATH}: the reference
	// as written, by template name. ReadTemplateFiles reads them into
	// Templates.
	TemplateFiles map[string]string `yaml:"-"`
	// Line is where the receiver starts in the file.
	Line int `yaml:"-"`
}

// Kind returns the receiver's kind (KindSlack ...), or "" if none is set.
func (r *Receiver) Kind() string {
	switch {
	case r.Slack != nil:
		return KindSlack
	case r.SlackBot != nil:
		return KindSlackBot
	case r.Teams != nil:
		return KindTeams
	case r.Webhook != nil:
		return KindWebhook
	case r.SNS != nil:
		return KindSNS
	case r.Email != nil:
		return KindEmail
	case r.Stdout != nil:
		return KindStdout
	}
	return ""
}

// Mentions says whom a Slack message notifies, in Slack mrkdwn ("<!here>",
// "<!channel>", "<@U024BE7LH>", "<!subteam^S0123ABC>"). BySeverity is
// looked up with the group's highest severity; FailedLogin applies to a
// group holding a failed console sign-in when its severity mentions no one.
// A receiver without mentions gets render.DefaultMentions.
type Mentions struct {
	BySeverity  map[event.Severity]string
	FailedLogin string
}

// MarshalYAML writes the mentions as the file spells them, a list where
// there are several.
func (m *Mentions) MarshalYAML() (any, error) {
	out := make(map[string]any, len(m.BySeverity)+1)
	put := func(k, v string) {
		if f := strings.Fields(v); len(f) > 1 {
			out[k] = f
		} else {
			out[k] = v
		}
	}
	for k, v := range m.BySeverity {
		put(k.String(), v)
	}
	if m.FailedLogin != "" {
		put("failed_login", m.FailedLogin)
	}
	return out, nil
}

// Slack posts to a Slack incoming webhook. The webhook decides the
// channel; use slackbot to choose it per receiver.
type Slack struct {
	WebhookURL Secret    `yaml:"webhook_url"`
	Mentions   *Mentions `yaml:"mentions,omitempty"`
}

// SlackBot posts with a bot token (chat.postMessage); repeats of a group go
// to the first message's thread.
type SlackBot struct {
	Token    Secret    `yaml:"token"`
	Channel  string    `yaml:"channel"`
	Mentions *Mentions `yaml:"mentions,omitempty"`
}

// Teams posts to a Microsoft Teams incoming webhook (Workflows).
type Teams struct {
	WebhookURL Secret `yaml:"webhook_url"`
}

// Webhook posts the alert group as JSON to any HTTP endpoint.
type Webhook struct {
	// URL is an http(s) URL or a secret reference to one (a URL often
	// carries a token); either way it prints as <secret>.
	URL Secret `yaml:"url"`
	// Method is POST (the default) or PUT.
	Method string `yaml:"method"`
	// Headers are sent as given; SecretHeaders are secret references
	// resolved at start-up (for Authorization and API keys).
	Headers       map[string]string `yaml:"headers,omitempty"`
	SecretHeaders map[string]Secret `yaml:"secret_headers,omitempty"`
	// HMACSecret, when set, signs every request: X-Trailwatch-Timestamp
	// holds the Unix time and X-Trailwatch-Signature "sha256=" and the hex
	// HMAC-SHA256 of the timestamp, ".", and the body.
	HMACSecret Secret `yaml:"hmac_secret,omitempty"`
}

// SNS formats.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// SNS publishes to an SNS topic.
type SNS struct {
	TopicARN string `yaml:"topic_arn"`
	// Format is text (a readable message, for email and SMS subscribers)
	// or json (the alert group as JSON, for programs). Default text.
	Format string `yaml:"format"`
}

// Email sends mail through SES or SMTP. Exactly one of SES and SMTP is set.
type Email struct {
	From string   `yaml:"from"`
	To   []string `yaml:"to"`
	CC   []string `yaml:"cc,omitempty"`
	SES  *SES     `yaml:"ses,omitempty"`
	SMTP *SMTP    `yaml:"smtp,omitempty"`
}

// SES sends with the SES v2 API, using the function's AWS credentials.
type SES struct {
	ConfigurationSet string `yaml:"configuration_set,omitempty"`
	// Region is the SES region; default the function's region.
	Region string `yaml:"region,omitempty"`
}

// SMTP sends through an SMTP server.
type SMTP struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	Username string `yaml:"username,omitempty"`
	Password Secret `yaml:"password,omitempty"`
	// TLS is starttls (upgrade a plain connection; the default), tls (TLS
	// from the first byte; the default on port 465) or none (loopback
	// servers only).
	TLS string `yaml:"tls"`
}

// SMTP TLS modes, as notify/email names them.
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
	TLSNone     = "none"
)

// Stdout writes each message to standard output.
type Stdout struct {
	// Format is text or json. Default text.
	Format string `yaml:"format"`
}

// GroupByAll is the group_by entry that groups by every label.
const GroupByAll = "..."

// Values of Route.Messages.
const (
	// MessagesPerEvent folds the alerts of one event bound for one
	// receiver into one message (the default).
	MessagesPerEvent = "per_event"
	// MessagesPerRule sends each rule's alert in a message of its own.
	MessagesPerRule = "per_rule"
)

// Route is one node of the routing tree. Fields left out inherit from the
// parent: Receiver when empty, GroupBy when nil, RepeatInterval when nil.
type Route struct {
	Receiver string           `yaml:"receiver,omitempty"`
	Matchers matcher.Matchers `yaml:"matchers,omitempty"`
	Continue bool             `yaml:"continue,omitempty"`
	// GroupBy lists the labels whose values make a group; ["..."] groups by
	// all labels; an empty list puts all of the route's alerts in one group.
	GroupBy []string `yaml:"group_by,omitempty"`
	// RepeatInterval is how long after a group was notified it is held
	// back (and counted) instead of sent again. Zero sends every batch.
	RepeatInterval *Duration `yaml:"repeat_interval,omitempty"`
	// Messages is MessagesPerEvent or MessagesPerRule; empty inherits
	// (per_event at the root).
	Messages string   `yaml:"messages,omitempty"`
	Routes   []*Route `yaml:"routes,omitempty"`
	// Line is where the route starts in the file; Path names it in errors
	// and in route test output ("route", "route.routes[1]").
	Line int    `yaml:"-"`
	Path string `yaml:"-"`
}

// Silence mutes the alerts its matchers select until it expires.
type Silence struct {
	Matchers  matcher.Matchers `yaml:"matchers"`
	Expires   time.Time        `yaml:"expires"`
	Comment   string           `yaml:"comment"`
	CreatedBy string           `yaml:"created_by,omitempty"`
	Line      int              `yaml:"-"`
}

// Active reports whether the silence applies at now.
func (s *Silence) Active(now time.Time) bool { return now.Before(s.Expires) }

// Ignore drops alerts about expected activity: any of Principal, EventName,
// Account and Rule that is set must match. Principal and EventName may use
// * as a wildcard; a Principal starting with "arn:" is matched against the
// principal's ARN, otherwise against its name ("user", "Role/Session").
type Ignore struct {
	Principal string    `yaml:"principal,omitempty"`
	EventName string    `yaml:"event_name,omitempty"`
	Account   string    `yaml:"account,omitempty"`
	Rule      string    `yaml:"rule,omitempty"`
	Expires   time.Time `yaml:"expires,omitzero"`
	Comment   string    `yaml:"comment"`
	Line      int       `yaml:"-"`
}

// Active reports whether the ignore rule applies at now; one without an
// expiry always applies.
func (i *Ignore) Active(now time.Time) bool { return i.Expires.IsZero() || now.Before(i.Expires) }

// String names the ignore rule by its fields, for logs and route test.
func (i *Ignore) String() string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+quoteIfNeeded(v))
		}
	}
	add("principal", i.Principal)
	add("event_name", i.EventName)
	add("account", i.Account)
	add("rule", i.Rule)
	return "{" + strings.Join(parts, ", ") + "}"
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " ,{}\"'\t\n") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// State backends.
const (
	BackendMemory   = "memory"
	BackendFile     = "file"
	BackendDynamoDB = "dynamodb"
)

// State says where trailwatch remembers delivered alerts, groups and
// detector state.
type State struct {
	// Backend is memory, file or dynamodb. Default file.
	Backend string `yaml:"backend"`
	// Path is the file store; default state.db in the user's cache
	// directory (see FilePath).
	Path string `yaml:"path,omitempty"`
	// Table is the DynamoDB table (backend dynamodb).
	Table string `yaml:"table,omitempty"`
	// TTL is how long idempotency and group records are kept. Default 7d.
	TTL Duration `yaml:"ttl"`
}

// Duration is a time.Duration written as Go durations with a d (day) unit
// allowed: 90s, 15m, 4h, 7d, 1d12h.
type Duration time.Duration

// String writes the duration in the form ParseDuration reads.
func (d Duration) String() string {
	t := time.Duration(d)
	if t == 0 {
		return "0s"
	}
	var out string
	if days := t / (24 * time.Hour); days > 0 {
		out = fmt.Sprintf("%dd", days)
		t -= days * 24 * time.Hour
		if t == 0 {
			return out
		}
	}
	rest := t.String()
	if strings.HasSuffix(rest, "m0s") {
		rest = strings.TrimSuffix(rest, "0s")
	}
	if strings.HasSuffix(rest, "h0m") {
		rest = strings.TrimSuffix(rest, "0m")
	}
	return out + rest
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
