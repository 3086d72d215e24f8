package config

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	// Embedded zone data: the Lambda runtime image has no /usr/share/zoneinfo,
	// and timezone must load there exactly as it does on a laptop.
	_ "time/tzdata"

	"github.com/trailwatch/trailwatch/internal/matcher"
	"github.com/trailwatch/trailwatch/internal/state"
)

// MaxFileSize bounds a configuration file.
const MaxFileSize = 4 << 20

// Defaults not expressed as zero values.
const (
	DefaultTimezone = "UTC"
	DefaultLocale   = "en"
	DefaultTTL      = Duration(7 * 24 * time.Hour)
	// DefaultReceiver is the receiver a file without receivers and route
	// gets: every alert printed as text on standard output.
	DefaultReceiver = "stdout"
	// DefaultSMTPPort is the submission port.
	DefaultSMTPPort = 587
)

// DefaultGroupBy is the root route's group_by when the file sets none: one
// message per rule, account and principal.
func DefaultGroupBy() []string { return []string{"rule", "account", "principal"} }

// Locales trailwatch writes messages in.
func Locales() []string { return []string{"en", "ja"} }

// Error is one problem in a configuration file. Error() reads
// "file:line: path: message", such as
// `trailwatch.yaml:14: route: receiver "oncall" is not defined`.
type Error struct {
	File string
	Line int    // 0 when the problem has no single place
	Path string // the setting, such as receivers[0].slack; "" at top level
	Msg  string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

type errorList []*Error

func (l *errorList) add(e *Error) { *l = append(*l, e) }

// err returns the problems in file order as one error (errors.Join: one
// per line), or nil.
func (l errorList) err() error {
	if len(l) == 0 {
		return nil
	}
	slices.SortStableFunc(l, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// Options adjust loading.
type Options struct {
	// Now is the clock that decides which silences have expired; nil means
	// time.Now.
	Now func() time.Time
}

func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// Load reads and checks the configuration file at path.
func Load(path string, o Options) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	c, err := Parse(path, data, o)
	if err != nil {
		return nil, err
	}
	if err := c.ReadTemplateFiles(func(ref string) ([]byte, error) {
		return readLimited(c.resolve(ref))
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// readLimited reads a local file of at most MaxFileSize bytes (one more
// byte tells that it is larger).
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxFileSize+1))
}

// ReadTemplateFiles reads the receivers' templates written as {file:
// PATH} with read, which takes the path as written and returns the file's
// text. Every file that cannot be read is reported, naming the setting.
func (c *Config) ReadTemplateFiles(read func(ref string) ([]byte, error)) error {
	var errs errorList
	for i, r := range c.Receivers {
		for _, name := range sortedKeys(r.TemplateFiles) {
			ref := r.TemplateFiles[name]
			p := joinPath(joinPath(index("receivers", i), "templates"), name)
			b, err := read(ref)
			if err != nil {
				errs.add(&Error{File: c.File, Line: c.Line(p), Path: p, Msg: fmt.Sprintf("cannot read template file %q: %v", ref, err)})
				continue
			}
			if len(b) > MaxFileSize {
				errs.add(&Error{File: c.File, Line: c.Line(p), Path: p, Msg: fmt.Sprintf("template file %q is larger than %d bytes", ref, MaxFileSize)})
				continue
			}
			if strings.TrimSpace(string(b)) == "" {
				errs.add(&Error{File: c.File, Line: c.Line(p), Path: p, Msg: fmt.Sprintf("template file %q is empty", ref)})
				continue
			}
			r.Templates[name] = string(b)
		}
	}
	return errs.err()
}

// Default returns the configuration used when there is no file: the
// default built-in packs, UTC, English, alerts printed on standard output, the file
// state store.
func Default() *Config {
	return &Config{
		File:     "(default)",
		Dir:      ".",
		Rules:    Rules{Packs: []string{PacksDefault}},
		Timezone: DefaultTimezone,
		Location: time.UTC,
		Locale:   DefaultLocale,
		Receivers: []*Receiver{{
			Name:   DefaultReceiver,
			Stdout: &Stdout{Format: FormatText},
		}},
		Route: &Route{
			Receiver:       DefaultReceiver,
			GroupBy:        DefaultGroupBy(),
			RepeatInterval: new(Duration),
			Path:           "route",
		},
		State: State{Backend: BackendFile, TTL: DefaultTTL},
	}
}

// Parse checks a configuration held in memory; name is the file name used
// in errors. Every problem found is returned, one per line, each naming the
// file, line and setting.
func Parse(name string, data []byte, o Options) (*Config, error) {
	c, err := Inspect(name, data, o)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Inspect is Parse for tools that report problems: besides every problem,
// it returns the configuration as far as it could be read (nil when the
// file is not YAML at all), so that the rule files it names can be checked
// in the same run. A configuration returned with an error must not be run.
//
// Problems are found in one pass over the whole file: unknown keys and
// values of the wrong type, then the checks of each setting and the
// references between sections. A check is not reported on a setting whose
// own text already had a problem (a receiver with a misspelt key is not
// also reported as missing that key).
func Inspect(name string, data []byte, o Options) (*Config, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{File: name, Msg: fmt.Sprintf("the file is larger than %d bytes", MaxFileSize)}
	}
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, syntaxError(name, err)
	}
	d := &decoder{file: name, anchors: map[string]ast.Node{}, lines: map[string]int{}}
	var body ast.Node
	for _, doc := range file.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if _, isComment := doc.Body.(*ast.CommentGroupNode); isComment {
			continue
		}
		if body != nil {
			return nil, &Error{File: name, Line: lineOf(doc.Body), Msg: "a configuration file holds one YAML document; remove the second one or the --- before it"}
		}
		body = doc.Body
		for _, a := range ast.Filter(ast.AnchorType, doc) {
			an := a.(*ast.AnchorNode)
			d.anchors[an.Name.GetToken().Value] = an.Value
		}
	}
	c := &Config{
		File:     name,
		Dir:      filepath.Dir(name),
		Rules:    Rules{Packs: []string{PacksDefault}},
		Timezone: DefaultTimezone,
		Locale:   DefaultLocale,
		State:    State{Backend: BackendFile, TTL: DefaultTTL},
	}
	if body != nil {
		d.config(body, c)
	}
	if c.Receivers == nil && c.Route == nil {
		def := Default()
		c.Receivers, c.Route = def.Receivers, def.Route
	}
	v := &checker{c: c, lines: d.lines, now: o.now(), decoded: d.errs}
	v.validate()
	v.crossCheck()
	c.lines = d.lines
	all := append(slices.Clone(d.errs), v.errs...)
	if err := all.err(); err != nil {
		return c, err
	}
	return c, nil
}

type tokenError interface {
	GetToken() *token.Token
	GetMessage() string
}

func syntaxError(name string, err error) error {
	var te tokenError
	if errors.As(err, &te) {
		line := 0
		if tk := te.GetToken(); tk != nil && tk.Position != nil {
			line = tk.Position.Line
		}
		return &Error{File: name, Line: line, Msg: "invalid YAML: " + te.GetMessage()}
	}
	return &Error{File: name, Msg: "invalid YAML: " + err.Error()}
}

// checker validates single settings, then cross-checks references.
type checker struct {
	c     *Config
	lines map[string]int
	now   time.Time
	errs  errorList
	// decoded are the problems the decoder found; a check on a setting
	// they concern is a consequence of them and is not reported.
	decoded errorList
}

// failAt reports a problem with the setting at path, at the line it was
// read from (or the nearest enclosing setting's line).
func (v *checker) failAt(path, format string, args ...any) {
	if v.follows(path) {
		return
	}
	v.errs.add(&Error{File: v.c.File, Line: v.lineOf(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// follows reports whether a problem at path may only follow from one the
// decoder reported at that setting, within it, or around it.
func (v *checker) follows(path string) bool {
	line := v.lineOf(path)
	for _, e := range v.decoded {
		if e.Path == path || within(path, e.Path) || within(e.Path, path) || (e.Line > 0 && e.Line == line) {
			return true
		}
	}
	return false
}

// within reports whether path names a setting inside parent.
func within(path, parent string) bool {
	if parent == "" || !strings.HasPrefix(path, parent) {
		return false
	}
	rest := path[len(parent):]
	return strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, "[")
}

func (v *checker) lineOf(path string) int { return lineFor(v.lines, path) }

// The forms values are checked against, compiled when a configuration is
// first checked rather than when the program starts: the bounded
// repetitions make topicARN and receiverName costly to compile, and most
// runs of the command line read no configuration.
var (
	accountID    = lazyRegexp(`^\d{12}$`)
	receiverName = lazyRegexp(`^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$`)
	packName     = lazyRegexp(`^[a-z0-9][a-z0-9\-_]*$`)
	topicARN     = lazyRegexp(`^arn:aws[a-z\-]*:sns:[a-z0-9\-]+:\d{12}:[A-Za-z0-9_\-]{1,256}(\.fifo)?$`)
	headerName   = lazyRegexp("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
	awsRegion    = lazyRegexp(`^[a-z]{2}(-[a-z]+)+-\d$`)
)

// lazyRegexp returns a function that compiles expr on its first call.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

func (v *checker) validate() {
	c := v.c
	v.validateRules()
	loc, err := time.LoadLocation(c.Timezone)
	switch {
	case c.Timezone == "":
		v.failAt("timezone", "empty time zone (want an IANA name such as Asia/Tokyo or UTC)")
	case err != nil:
		v.failAt("timezone", "unknown time zone %q (want an IANA name such as Asia/Tokyo or UTC)", c.Timezone)
	default:
		c.Location = loc
	}
	if !slices.Contains(Locales(), c.Locale) {
		v.failAt("locale", "%q is not supported (want en or ja)", c.Locale)
	}
	for _, id := range sortedKeys(c.Accounts) {
		p := joinPath("accounts", id)
		if !accountID().MatchString(id) {
			v.failAt(p, "%q is not a 12-digit AWS account id (quote ids that start with 0)", id)
		}
		if strings.TrimSpace(c.Accounts[id]) == "" {
			v.failAt(p, "empty account name")
		}
	}
	seen := map[string]int{}
	for i, r := range c.Receivers {
		p := index("receivers", i)
		v.validateReceiver(p, r)
		if r.Name == "" {
			continue
		}
		if j, dup := seen[r.Name]; dup {
			v.failAt(p, "name %q is already used by receivers[%d] (line %d)", r.Name, j, c.Receivers[j].Line)
			continue
		}
		seen[r.Name] = i
	}
	if c.Route == nil {
		v.errs.add(&Error{File: c.File, Msg: "route is required when receivers are set: add route: {receiver: NAME}"})
	} else {
		v.validateRoot(c.Route)
	}
	for i, s := range c.Silences {
		p := index("silences", i)
		if len(s.Matchers) == 0 {
			v.failAt(p, "matchers are required (a silence without matchers would mute everything)")
		}
		if s.Expires.IsZero() {
			v.failAt(p, "expires is required (an RFC 3339 time such as 2026-12-31T23:59:59Z)")
		}
		if strings.TrimSpace(s.Comment) == "" {
			v.failAt(p, "comment is required (say why the alerts are muted and who asked)")
		}
		if !s.Expires.IsZero() && !s.Active(v.now) {
			c.Notes = append(c.Notes, fmt.Sprintf("%s:%d: silences[%d] expired at %s and is ignored", c.File, s.Line, i, s.Expires.Format(time.RFC3339)))
		}
	}
	for i, ig := range c.Ignore {
		p := index("ignore", i)
		if ig.Principal == "" && ig.EventName == "" && ig.Account == "" && ig.Rule == "" {
			v.failAt(p, "set at least one of principal, event_name, account and rule (an empty ignore rule would drop everything)")
		}
		if ig.Account != "" && !accountID().MatchString(ig.Account) {
			v.failAt(joinPath(p, "account"), "%q is not a 12-digit AWS account id", ig.Account)
		}
		if strings.TrimSpace(ig.Comment) == "" {
			v.failAt(p, "comment is required (say why this activity is expected)")
		}
		if !ig.Active(v.now) {
			c.Notes = append(c.Notes, fmt.Sprintf("%s:%d: ignore[%d] expired at %s and is ignored", c.File, ig.Line, i, ig.Expires.Format(time.RFC3339)))
		}
	}
	v.validateState()
}

func (v *checker) validateRules() {
	r := &v.c.Rules
	if len(r.Packs) == 0 {
		v.failAt("rules.packs", "empty list (write none to turn off the built-in packs)")
	}
	for i, p := range r.Packs {
		if (p == PacksAll || p == PacksNone) && len(r.Packs) > 1 {
			v.failAt(index("rules.packs", i), "%s stands alone; list pack names instead", p)
			continue
		}
		if !packName().MatchString(p) {
			v.failAt(index("rules.packs", i), "%q is not a pack name (a rule file name without .yaml)", p)
		}
	}
	for i, f := range r.Files {
		if strings.TrimSpace(f) == "" {
			v.failAt(index("rules.files", i), "empty path")
		} else if _, err := filepath.Match(f, ""); err != nil {
			v.failAt(index("rules.files", i), "bad glob %q", f)
		}
	}
	for i, id := range r.Disable {
		if strings.TrimSpace(id) == "" {
			v.failAt(index("rules.disable", i), "empty rule id")
		}
	}
}

func (v *checker) validateReceiver(p string, r *Receiver) {
	switch {
	case r.Name == "":
		v.failAt(p, "name is required")
	case !receiverName().MatchString(r.Name):
		v.failAt(joinPath(p, "name"), "%q is not a receiver name (letters, digits, _ . -, at most 64)", r.Name)
	}
	var kinds []string
	for k, set := range map[string]bool{
		KindSlack: r.Slack != nil, KindSlackBot: r.SlackBot != nil, KindTeams: r.Teams != nil,
		KindWebhook: r.Webhook != nil, KindSNS: r.SNS != nil, KindEmail: r.Email != nil, KindStdout: r.Stdout != nil,
	} {
		if set {
			kinds = append(kinds, k)
		}
	}
	slices.SortFunc(kinds, func(a, b string) int { return slices.Index(Kinds(), a) - slices.Index(Kinds(), b) })
	switch len(kinds) {
	case 0:
		v.failAt(p, "no kind given (want one of %s)", strings.Join(Kinds(), ", "))
		return
	case 1:
	default:
		v.failAt(joinPath(p, kinds[1]), "a receiver has exactly one of %s; this one has %s", strings.Join(Kinds(), ", "), strings.Join(kinds, " and "))
		return
	}
	kp := joinPath(p, kinds[0])
	switch {
	case r.Slack != nil:
		v.required(kp, "webhook_url", !r.Slack.WebhookURL.IsZero())
	case r.SlackBot != nil:
		v.required(kp, "token", !r.SlackBot.Token.IsZero())
		v.required(kp, "channel", r.SlackBot.Channel != "")
	case r.Teams != nil:
		v.required(kp, "webhook_url", !r.Teams.WebhookURL.IsZero())
	case r.Webhook != nil:
		v.validateWebhook(kp, r.Webhook)
	case r.SNS != nil:
		if v.required(kp, "topic_arn", r.SNS.TopicARN != "") && !topicARN().MatchString(r.SNS.TopicARN) {
			v.failAt(joinPath(kp, "topic_arn"), "%q is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", r.SNS.TopicARN)
		}
		r.SNS.Format = v.format(kp, r.SNS.Format)
	case r.Email != nil:
		v.validateEmail(kp, r.Email)
	case r.Stdout != nil:
		r.Stdout.Format = v.format(kp, r.Stdout.Format)
	}
	for _, name := range sortedKeys(r.Templates) {
		if _, fromFile := r.TemplateFiles[name]; !fromFile && strings.TrimSpace(r.Templates[name]) == "" {
			v.failAt(joinPath(joinPath(p, "templates"), name), "empty template")
		}
	}
	v.validateRate(joinPath(p, "rate"), r.Rate)
	for _, name := range sortedKeys(r.TemplateFiles) {
		if strings.TrimSpace(r.TemplateFiles[name]) == "" {
			v.failAt(joinPath(joinPath(joinPath(p, "templates"), name), "file"), "empty path")
		}
	}
}

func (v *checker) required(path, field string, ok bool) bool {
	if !ok {
		v.failAt(path, "%s is required", field)
	}
	return ok
}

func (v *checker) format(path, f string) string {
	switch f {
	case "":
		return FormatText
	case FormatText, FormatJSON:
		return f
	}
	v.failAt(joinPath(path, "format"), "%q is not a format (want text or json)", f)
	return f
}

// reservedHeader reports headers the HTTP client or the signature set.
func reservedHeader(name string) bool {
	switch textproto.CanonicalMIMEHeaderKey(name) {
	case "Host", "Content-Length", "Transfer-Encoding", "Connection", "X-Trailwatch-Timestamp", "X-Trailwatch-Signature":
		return true
	}
	return false
}

func (v *checker) validateWebhook(p string, w *Webhook) {
	if v.required(p, "url", !w.URL.IsZero()) && w.URL.IsLiteral() {
		// The URL is not echoed: its path or query often holds a token.
		u, err := url.Parse(w.URL.Ref())
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.failAt(joinPath(p, "url"), "not an http or https URL with a host")
		} else if u.User != nil {
			v.failAt(joinPath(p, "url"), "credentials in the URL would be logged; use secret_headers instead")
		}
	}
	switch w.Method {
	case "":
		w.Method = "POST"
	case "POST", "PUT":
	default:
		v.failAt(joinPath(p, "method"), "%q is not POST or PUT", w.Method)
	}
	check := func(field, h string) {
		hp := joinPath(joinPath(p, field), h)
		switch {
		case !headerName().MatchString(h):
			v.failAt(hp, "%q is not an HTTP header name", h)
		case reservedHeader(h):
			v.failAt(hp, "header %q is set by trailwatch and cannot be configured", h)
		}
	}
	for _, h := range sortedKeys(w.Headers) {
		check("headers", h)
		if strings.ContainsAny(w.Headers[h], "\r\n") {
			v.failAt(joinPath(joinPath(p, "headers"), h), "header value holds a line break")
		}
	}
	for _, h := range sortedKeys(w.SecretHeaders) {
		check("secret_headers", h)
		for o := range w.Headers {
			if strings.EqualFold(o, h) {
				v.failAt(joinPath(joinPath(p, "secret_headers"), h), "header %q is also set in headers", h)
			}
		}
	}
}

func (v *checker) validateEmail(p string, e *Email) {
	if v.required(p, "from", e.From != "") {
		if _, err := mail.ParseAddress(e.From); err != nil {
			v.failAt(joinPath(p, "from"), "%q is not an email address", e.From)
		}
	}
	if len(e.To) == 0 {
		v.failAt(p, "to is required (one address or a list)")
	}
	for field, list := range map[string][]string{"to": e.To, "cc": e.CC} {
		for i, a := range list {
			if _, err := mail.ParseAddress(a); err != nil {
				v.failAt(index(joinPath(p, field), i), "%q is not an email address", a)
			}
		}
	}
	switch {
	case e.SES == nil && e.SMTP == nil:
		v.failAt(p, "set ses or smtp to say how mail is sent")
	case e.SES != nil && e.SMTP != nil:
		v.failAt(joinPath(p, "smtp"), "set one of ses and smtp, not both")
	case e.SES != nil:
		if e.SES.Region != "" && !awsRegion().MatchString(e.SES.Region) {
			v.failAt(joinPath(p, "ses.region"), "%q is not an AWS region", e.SES.Region)
		}
	case e.SMTP != nil:
		sp := joinPath(p, "smtp")
		v.required(sp, "host", e.SMTP.Host != "")
		if e.SMTP.Port == 0 {
			e.SMTP.Port = DefaultSMTPPort
		} else if e.SMTP.Port < 1 || e.SMTP.Port > 65535 {
			v.failAt(joinPath(sp, "port"), "%d is not a TCP port", e.SMTP.Port)
		}
		if (e.SMTP.Username == "") != e.SMTP.Password.IsZero() {
			v.failAt(sp, "set username and password together")
		}
		switch e.SMTP.TLS {
		case "":
			e.SMTP.TLS = TLSStartTLS
			if e.SMTP.Port == 465 {
				e.SMTP.TLS = TLSImplicit
			}
		case TLSStartTLS, TLSImplicit:
		case TLSNone:
			if !loopbackHost(e.SMTP.Host) {
				v.failAt(joinPath(sp, "tls"), "none is only allowed for a server on a loopback address, not %q; use starttls or tls", e.SMTP.Host)
			}
		default:
			v.failAt(joinPath(sp, "tls"), "%q is not a TLS mode (want starttls, tls or none)", e.SMTP.TLS)
		}
	}
}

func (v *checker) validateRoot(r *Route) {
	if r.Receiver == "" {
		v.failAt("route", "receiver is required on the root route")
	}
	if len(r.Matchers) > 0 {
		v.failAt("route.matchers", "the root route matches every alert; put matchers on child routes")
	}
	if r.Continue {
		v.failAt("route.continue", "continue has no meaning on the root route")
	}
	if r.GroupBy == nil {
		r.GroupBy = DefaultGroupBy()
	}
	if r.RepeatInterval == nil {
		r.RepeatInterval = new(Duration)
	}
	v.validateRoute(r)
}

func (v *checker) validateRoute(r *Route) {
	for i, g := range r.GroupBy {
		gp := index(joinPath(r.Path, "group_by"), i)
		switch {
		case g == GroupByAll:
			if len(r.GroupBy) > 1 {
				v.failAt(gp, `"..." groups by every label and stands alone`)
			}
		case g == matcher.TagLabel || !matcher.IsKnownLabel(g):
			v.failAt(gp, "unknown label %q (want one of %s, tag:<name>, or ...)", g, strings.Join(matcher.KnownLabels(), ", "))
		case slices.Index(r.GroupBy, g) != i:
			v.failAt(gp, "label %q is listed twice", g)
		}
	}
	switch r.Messages {
	case "", MessagesPerEvent, MessagesPerRule:
	default:
		v.failAt(joinPath(r.Path, "messages"), "%q is not a message mode (want per_event, one message per event, or per_rule, one per rule)", r.Messages)
	}
	for _, child := range r.Routes {
		v.validateRoute(child)
	}
}

func (v *checker) validateState() {
	s := &v.c.State
	switch s.Backend {
	case BackendMemory, BackendFile, BackendDynamoDB:
	default:
		v.failAt("state.backend", "%q is not a state backend (want memory, file or dynamodb)", s.Backend)
	}
	if s.Path != "" && s.Backend != BackendFile {
		v.failAt("state.path", "path applies to the file backend only")
	}
	if s.Backend == BackendDynamoDB && s.Table == "" {
		v.failAt("state", "table is required for the dynamodb backend")
	}
	if s.Table != "" && s.Backend != BackendDynamoDB {
		v.failAt("state.table", "table applies to the dynamodb backend only")
	}
	if s.TTL < Duration(time.Hour) {
		v.failAt("state.ttl", "%s is too short to remember deliveries across retries (at least 1h)", s.TTL)
	}
}

// crossCheck checks references between sections.
func (v *checker) crossCheck() {
	c := v.c
	defined := map[string]bool{}
	for _, r := range c.Receivers {
		defined[r.Name] = true
	}
	used := map[string]bool{}
	var walk func(r *Route)
	walk = func(r *Route) {
		if r.Receiver != "" {
			used[r.Receiver] = true
			if !defined[r.Receiver] && !v.follows(r.Path) {
				v.errs.add(&Error{File: c.File, Line: v.lineOf(joinPath(r.Path, "receiver")), Path: r.Path,
					Msg: fmt.Sprintf("receiver %q is not defined", r.Receiver)})
			}
		}
		for _, child := range r.Routes {
			walk(child)
		}
	}
	if c.Route == nil {
		return // reported by validate
	}
	walk(c.Route)
	for _, r := range c.Receivers {
		if !used[r.Name] {
			c.Notes = append(c.Notes, fmt.Sprintf("%s:%d: receiver %q is not used by any route", c.File, r.Line, r.Name))
		}
	}
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// FilePath returns the file store's path: State.Path relative to the
// config file, or the default in the user's cache directory.
func (c *Config) FilePath() (string, error) {
	if c.State.Path == "" {
		return state.DefaultFilePath()
	}
	return c.resolve(c.State.Path), nil
}

func (c *Config) resolve(p string) string {
	if filepath.IsAbs(p) || c.Dir == "" {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// GeoIPDatabases returns the geoip setting with paths resolved against the
// configuration file; s3:// references are kept as they are.
func (c *Config) GeoIPDatabases() []string {
	out := make([]string, 0, len(c.GeoIP))
	for _, g := range c.GeoIP {
		if strings.HasPrefix(g, "s3://") {
			out = append(out, g)
			continue
		}
		out = append(out, c.resolve(g))
	}
	return out
}

// RuleFiles expands rules.files (paths and globs, relative to the config
// file) into file names. A path or glob that names no file is an error.
// When a loader has expanded rules.files (see UseRuleSources), its local
// paths are returned as it found them.
func (c *Config) RuleFiles() ([]string, error) {
	if c.filesRead {
		return slices.Clone(c.localFiles), nil
	}
	var out []string
	var errs errorList
	for i, f := range c.Rules.Files {
		p := c.resolve(f)
		matches, err := filepath.Glob(p)
		if err != nil || len(matches) == 0 {
			errs.add(&Error{File: c.File, Line: c.Line(index("rules.files", i)), Path: index("rules.files", i),
				Msg: fmt.Sprintf("%q names no file", f)})
			continue
		}
		out = append(out, matches...)
	}
	return out, errs.err()
}

// ReceiverByName returns the receiver called name, or nil.
func (c *Config) ReceiverByName(name string) *Receiver {
	for _, r := range c.Receivers {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// ExpiredSilences counts the silences no longer active at now.
func (c *Config) ExpiredSilences(now time.Time) int {
	n := 0
	for _, s := range c.Silences {
		if !s.Active(now) {
			n++
		}
	}
	return n
}

// CountRoutes counts the routes in the tree, the root included.
func (c *Config) CountRoutes() int {
	var count func(r *Route) int
	count = func(r *Route) int {
		n := 1
		for _, child := range r.Routes {
			n += count(child)
		}
		return n
	}
	if c.Route == nil {
		return 0
	}
	return count(c.Route)
}
