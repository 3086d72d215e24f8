package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/matcher"
)

// maxNodes bounds the nodes one file may expand to through aliases, so a
// few lines of nested anchors cannot make loading take forever; maxDepth
// bounds nesting (routes within routes, merge keys within merge keys), so
// an anchor that contains its own alias cannot recurse without end.
const (
	maxNodes = 100_000
	maxDepth = 64
)

// decoder turns the YAML tree into typed values. It reports every unknown
// key and every value of the wrong type, recording the line of each path it
// visits so later checks can point at the file.
type decoder struct {
	file    string
	anchors map[string]ast.Node
	lines   map[string]int
	errs    errorList
	visited int
	tooBig  bool
	depth   int
	tooDeep bool
}

func (d *decoder) fail(n ast.Node, path, format string, args ...any) {
	d.errs.add(&Error{File: d.file, Line: lineOf(n), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func lineOf(n ast.Node) int {
	if n == nil {
		return 0
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return 0
	}
	return tk.Position.Line
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// resolve follows anchors, aliases and tags to the node holding the value.
func (d *decoder) resolve(n ast.Node) ast.Node {
	for range 32 {
		d.visited++
		if d.visited > maxNodes {
			if !d.tooBig {
				d.tooBig = true
				d.fail(n, "", "the file expands to more than %d values through aliases", maxNodes)
			}
			return nil
		}
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			name := v.Value.GetToken().Value
			target, ok := d.anchors[name]
			if !ok {
				d.fail(n, "", "alias *%s refers to no anchor", name)
				return nil
			}
			n = target
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
	d.fail(n, "", "aliases nest too deeply")
	return nil
}

func kindOf(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "true/false"
	case *ast.NullNode, nil:
		return "nothing"
	}
	return "a string"
}

// mapping calls f for every key of the mapping at n, merge keys (<<) first
// so explicit keys override them. f returns false for a key it does not
// know, which is an error.
func (d *decoder) mapping(n ast.Node, path string, f func(key string, v ast.Node) bool) {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxDepth {
		if !d.tooDeep {
			d.tooDeep = true
			d.fail(n, path, "settings nest more than %d levels deep (does an anchor contain its own alias?)", maxDepth)
		}
		return
	}
	n = d.resolve(n)
	var pairs []*ast.MappingValueNode
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return
	case *ast.MappingNode:
		pairs = v.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{v}
	default:
		d.fail(n, path, "expected a mapping, found %s", kindOf(n))
		return
	}
	for _, p := range pairs {
		if !p.Key.IsMergeKey() {
			continue
		}
		src := d.resolve(p.Value)
		if seq, ok := src.(*ast.SequenceNode); ok {
			for _, m := range seq.Values {
				d.mapping(m, path, f)
			}
			continue
		}
		d.mapping(src, path, f)
	}
	for _, p := range pairs {
		if p.Key.IsMergeKey() {
			continue
		}
		key, ok := d.keyText(p.Key, path)
		if !ok {
			continue
		}
		d.lines[joinPath(path, key)] = lineOf(p.Key)
		if !f(key, p.Value) {
			d.fail(p.Key, path, "unknown field %q", key)
		}
	}
}

func (d *decoder) keyText(k ast.Node, path string) (string, bool) {
	switch v := d.resolve(k).(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return v.GetToken().Value, true
	}
	d.fail(k, path, "a key must be a plain string")
	return "", false
}

// sequence calls f for each item of the list at n; null is an empty list.
func (d *decoder) sequence(n ast.Node, path string, f func(i int, v ast.Node)) {
	n = d.resolve(n)
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return
	case *ast.SequenceNode:
		for i, item := range v.Values {
			d.lines[index(path, i)] = lineOf(item)
			f(i, item)
		}
	default:
		d.fail(n, path, "expected a list, found %s", kindOf(n))
	}
}

// str reads a scalar as text: numbers and booleans keep the text written,
// so an account id with a leading zero survives.
func (d *decoder) str(n ast.Node, path string) string {
	n = d.resolve(n)
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return ""
	case *ast.StringNode:
		return v.Value
	case *ast.LiteralNode:
		return v.Value.Value
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value
	}
	d.fail(n, path, "expected a string, found %s", kindOf(n))
	return ""
}

func (d *decoder) strList(n ast.Node, path string) []string {
	out := []string{}
	if _, isNull := d.resolve(n).(*ast.NullNode); isNull {
		return nil
	}
	d.sequence(n, path, func(i int, v ast.Node) {
		out = append(out, d.str(v, index(path, i)))
	})
	return out
}

func (d *decoder) strMap(n ast.Node, path string) map[string]string {
	out := map[string]string{}
	d.mapping(n, path, func(key string, v ast.Node) bool {
		out[key] = d.str(v, joinPath(path, key))
		return true
	})
	return out
}

func (d *decoder) boolean(n ast.Node, path string) bool {
	n = d.resolve(n)
	if b, ok := n.(*ast.BoolNode); ok {
		return b.Value
	}
	d.fail(n, path, "expected true or false, found %s", kindOf(n))
	return false
}

func (d *decoder) integer(n ast.Node, path string) int {
	n = d.resolve(n)
	if v, ok := n.(*ast.IntegerNode); ok {
		switch x := v.Value.(type) {
		case int64:
			if x >= math.MinInt32 && x <= math.MaxInt32 {
				return int(x)
			}
		case uint64:
			if x <= math.MaxInt32 {
				return int(x)
			}
		}
		d.fail(n, path, "number %s is out of range", v.GetToken().Value)
		return 0
	}
	d.fail(n, path, "expected a whole number, found %s", kindOf(n))
	return 0
}

func (d *decoder) duration(n ast.Node, path string) Duration {
	s := d.str(n, path)
	v, err := ParseDuration(s)
	if err != nil {
		d.fail(n, path, "%v", err)
	}
	return v
}

func (d *decoder) timestamp(n ast.Node, path string) time.Time {
	s := d.str(n, path)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		d.fail(n, path, "%q is not an RFC 3339 time such as 2026-12-31T23:59:59Z or 2026-12-31T23:59:59+09:00", s)
	}
	return t
}

func (d *decoder) secret(n ast.Node, path string) Secret {
	s := d.str(n, path)
	if s == "" {
		return Secret{}
	}
	v, err := ParseSecret(s)
	if err != nil {
		d.fail(n, path, "%v", err)
	}
	return v
}

// urlOrSecret reads an http(s) URL or a secret reference. The URL itself
// is checked later, and never echoed.
func (d *decoder) urlOrSecret(n ast.Node, path string) Secret {
	s := d.str(n, path)
	if strings.Contains(s, "://") {
		return Secret{ref: s, literal: true}
	}
	return d.secret(n, path)
}

func (d *decoder) matchers(n ast.Node, path string) matcher.Matchers {
	var out matcher.Matchers
	d.sequence(n, path, func(i int, v ast.Node) {
		p := index(path, i)
		s := d.str(v, p)
		m, err := matcher.Parse(s)
		if err != nil {
			d.fail(v, p, "%v", err)
			return
		}
		out = append(out, m)
	})
	return out
}

func (d *decoder) severity(n ast.Node, path string) event.Severity {
	s := d.str(n, path)
	v, err := event.ParseSeverity(s)
	if err != nil {
		d.fail(n, path, "%v", err)
	}
	return v
}

// ParseDuration reads a Go duration ("90s", "1h30m") that may start with a
// number of days ("7d", "1d12h"). Negative durations are refused.
func ParseDuration(s string) (Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty duration (want a duration such as 30m, 4h or 7d)")
	}
	rest := s
	var days time.Duration
	if i := strings.IndexByte(rest, 'd'); i > 0 {
		n, err := strconv.ParseUint(rest[:i], 10, 16)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration such as 30m, 4h or 7d", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		rest = rest[i+1:]
	}
	var t time.Duration
	if rest != "" {
		v, err := time.ParseDuration(rest)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("%q is not a duration such as 30m, 4h or 7d", s)
		}
		t = v
	}
	if t > math.MaxInt64-days {
		return 0, fmt.Errorf("duration %q is too long", s)
	}
	return Duration(days + t), nil
}

func (d *decoder) config(n ast.Node, c *Config) {
	d.mapping(n, "", func(key string, v ast.Node) bool {
		switch key {
		case "rules":
			d.rules(v, key, &c.Rules)
		case "timezone":
			c.Timezone = d.str(v, key)
		case "locale":
			c.Locale = d.str(v, key)
		case "accounts":
			c.Accounts = d.strMap(v, key)
		case "receivers":
			c.Receivers = []*Receiver{}
			d.sequence(v, key, func(i int, item ast.Node) {
				r := &Receiver{Line: lineOf(item)}
				d.receiver(item, index(key, i), r)
				c.Receivers = append(c.Receivers, r)
			})
		case "route":
			c.Route = &Route{}
			d.route(v, key, c.Route)
		case "silences":
			d.sequence(v, key, func(i int, item ast.Node) {
				s := &Silence{Line: lineOf(item)}
				d.silence(item, index(key, i), s)
				c.Silences = append(c.Silences, s)
			})
		case "ignore":
			d.sequence(v, key, func(i int, item ast.Node) {
				ig := &Ignore{Line: lineOf(item)}
				d.ignore(item, index(key, i), ig)
				c.Ignore = append(c.Ignore, ig)
			})
		case "state":
			d.state(v, key, &c.State)
		case "geoip":
			c.GeoIP = d.strList(v, key)
		default:
			// x- keys hold YAML anchors shared by other settings.
			return strings.HasPrefix(key, "x-")
		}
		return true
	})
}

func (d *decoder) rules(n ast.Node, path string, r *Rules) {
	d.mapping(n, path, func(key string, v ast.Node) bool {
		p := joinPath(path, key)
		switch key {
		case "packs":
			// A single name is accepted for packs: all / none.
			if _, ok := d.resolve(v).(*ast.SequenceNode); ok {
				r.Packs = d.strList(v, p)
			} else {
				r.Packs = []string{d.str(v, p)}
			}
		case "files":
			r.Files = d.strList(v, p)
		case "disable":
			r.Disable = d.strList(v, p)
		case "severity":
			r.Severity = map[string]event.Severity{}
			d.mapping(v, p, func(id string, sv ast.Node) bool {
				r.Severity[id] = d.severity(sv, joinPath(p, id))
				return true
			})
		default:
			return false
		}
		return true
	})
}

func (d *decoder) receiver(n ast.Node, path string, r *Receiver) {
	d.mapping(n, path, func(key string, v ast.Node) bool {
		p := joinPath(path, key)
		switch key {
		case "name":
			r.Name = d.str(v, p)
		case KindSlack:
			r.Slack = &Slack{}
			d.mapping(v, p, func(k string, fv ast.Node) bool {
				fp := joinPath(p, k)
				switch k {
				case "webhook_url":
					r.Slack.WebhookURL = d.secret(fv, fp)
				case "mentions":
					r.Slack.Mentions = d.mentions(fv, fp)
				default:
					return false
				}
				return true
			})
		case KindSlackBot:
			r.SlackBot = &SlackBot{}
			d.mapping(v, p, func(k string, fv ast.Node) bool {
				fp := joinPath(p, k)
				switch k {
				case "token":
					r.SlackBot.Token = d.secret(fv, fp)
				case "channel":
					r.SlackBot.Channel = d.str(fv, fp)
				case "mentions":
					r.SlackBot.Mentions = d.mentions(fv, fp)
				default:
					return false
				}
				return true
			})
		case KindTeams:
			r.Teams = &Teams{}
			d.mapping(v, p, func(k string, fv ast.Node) bool {
				if k != "webhook_url" {
					return false
				}
				r.Teams.WebhookURL = d.secret(fv, joinPath(p, k))
				return true
			})
		case KindWebhook:
			r.Webhook = &Webhook{}
			d.mapping(v, p, func(k string, fv ast.Node) bool {
				fp := joinPath(p, k)
				switch k {
				case "url":
					r.Webhook.URL = d.urlOrSecret(fv, fp)
				case "method":
					r.Webhook.Method = d.str(fv, fp)
				case "headers":
					r.Webhook.Headers = d.strMap(fv, fp)
				case "secret_headers":
					r.Webhook.SecretHeaders = map[string]Secret{}
					d.mapping(fv, fp, func(h string, hv ast.Node) bool {
						r.Webhook.SecretHeaders[h] = d.secret(hv, joinPath(fp, h))
						return true
					})
				case "hmac_secret":
					r.Webhook.HMACSecret = d.secret(fv, fp)
				default:
					return false
				}
				return true
			})
		case KindSNS:
			r.SNS = &SNS{}
			d.mapping(v, p, func(k string, fv ast.Node) bool {
				fp := joinPath(p, k)
				switch k {
				case "topic_arn":
					r.SNS.TopicARN = d.str(fv, fp)
				case "format":
					r.SNS.Format = d.str(fv, fp)
				default:
					return false
				}
				return true
			})
		case KindEmail:
			r.Email = &Email{}
			d.email(v, p, r.Email)
		case KindStdout:
			r.Stdout = &Stdout{}
			d.mapping(v, p, func(k string, fv ast.Node) bool {
				if k != "format" {
					return false
				}
				r.Stdout.Format = d.str(fv, joinPath(p, k))
				return true
			})
		case "templates":
			r.Templates = map[string]string{}
			d.mapping(v, p, func(name string, tv ast.Node) bool {
				tp := joinPath(p, name)
				if _, isMap := d.resolve(tv).(*ast.MappingNode); !isMap {
					r.Templates[name] = d.str(tv, tp)
					return true
				}
				// {file: PATH}: the template is kept in a file beside the
				// configuration.
				d.mapping(tv, tp, func(k string, fv ast.Node) bool {
					if k != "file" {
						return false
					}
					if r.TemplateFiles == nil {
						r.TemplateFiles = map[string]string{}
					}
					r.TemplateFiles[name] = d.str(fv, joinPath(tp, k))
					return true
				})
				return true
			})
		case "rate":
			r.Rate = d.rate(v, p)
		default:
			return false
		}
		return true
	})
}

func (d *decoder) email(n ast.Node, p string, e *Email) {
	d.mapping(n, p, func(k string, v ast.Node) bool {
		fp := joinPath(p, k)
		switch k {
		case "from":
			e.From = d.str(v, fp)
		case "to":
			e.To = d.addresses(v, fp)
		case "cc":
			e.CC = d.addresses(v, fp)
		case "ses":
			e.SES = &SES{}
			d.mapping(v, fp, func(sk string, sv ast.Node) bool {
				sp := joinPath(fp, sk)
				switch sk {
				case "configuration_set":
					e.SES.ConfigurationSet = d.str(sv, sp)
				case "region":
					e.SES.Region = d.str(sv, sp)
				default:
					return false
				}
				return true
			})
		case "smtp":
			e.SMTP = &SMTP{}
			d.mapping(v, fp, func(sk string, sv ast.Node) bool {
				sp := joinPath(fp, sk)
				switch sk {
				case "host":
					e.SMTP.Host = d.str(sv, sp)
				case "port":
					e.SMTP.Port = d.integer(sv, sp)
				case "username":
					e.SMTP.Username = d.str(sv, sp)
				case "password":
					e.SMTP.Password = d.secret(sv, sp)
				case "tls":
					e.SMTP.TLS = d.str(sv, sp)
				default:
					return false
				}
				return true
			})
		default:
			return false
		}
		return true
	})
}

// addresses accepts one address or a list of them.
func (d *decoder) addresses(n ast.Node, path string) []string {
	if _, ok := d.resolve(n).(*ast.SequenceNode); ok {
		return d.strList(n, path)
	}
	return []string{d.str(n, path)}
}

// mentions reads {severity: mention(s), failed_login: mention(s)}; a list
// of mentions is joined with spaces.
func (d *decoder) mentions(n ast.Node, path string) *Mentions {
	out := &Mentions{BySeverity: map[event.Severity]string{}}
	d.mapping(n, path, func(key string, v ast.Node) bool {
		p := joinPath(path, key)
		var list []string
		if _, ok := d.resolve(v).(*ast.SequenceNode); ok {
			list = d.strList(v, p)
		} else {
			list = []string{d.str(v, p)}
		}
		for i, m := range list {
			c, err := slackMention(m)
			if err != nil {
				d.fail(v, p, "%v", err)
				continue
			}
			list[i] = c
		}
		text := strings.Join(list, " ")
		if key == "failed_login" {
			out.FailedLogin = text
			return true
		}
		sev, err := event.ParseSeverity(key)
		if err != nil {
			d.fail(v, p, "unknown field %q (want a severity: info, low, medium, high, critical; or failed_login)", key)
			return true
		}
		out.BySeverity[sev] = text
		return true
	})
	return out
}

// slackMention turns the ways people write a Slack mention (@here, here,
// <!here>, U024BE7LH, <@U024BE7LH>, S0123ABC, <!subteam^S0123ABC>) into
// Slack mrkdwn.
func slackMention(m string) (string, error) {
	s := strings.TrimSpace(m)
	s = strings.TrimPrefix(s, "<")
	s = strings.TrimSuffix(s, ">")
	s = strings.TrimPrefix(s, "!subteam^")
	s = strings.TrimPrefix(s, "!")
	s = strings.TrimPrefix(s, "@")
	if label := strings.IndexByte(s, '|'); label > 0 {
		s = s[:label]
	}
	switch s {
	case "here", "channel", "everyone":
		return "<!" + s + ">", nil
	}
	if len(s) >= 3 && len(s) <= 32 && strings.ContainsRune("UWS", rune(s[0])) {
		for i := 1; i < len(s); i++ {
			if c := s[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
				return "", fmt.Errorf("mention %q is not here, channel, everyone, a Slack user id (U…) or a user group id (S…)", m)
			}
		}
		if s[0] == 'S' {
			return "<!subteam^" + s + ">", nil
		}
		return "<@" + s + ">", nil
	}
	return "", fmt.Errorf("mention %q is not here, channel, everyone, a Slack user id (U…) or a user group id (S…)", m)
}

func (d *decoder) route(n ast.Node, path string, r *Route) {
	r.Line = lineOf(n)
	r.Path = path
	d.mapping(n, path, func(key string, v ast.Node) bool {
		p := joinPath(path, key)
		switch key {
		case "receiver":
			r.Receiver = d.str(v, p)
		case "matchers":
			r.Matchers = d.matchers(v, p)
		case "continue":
			r.Continue = d.boolean(v, p)
		case "group_by":
			r.GroupBy = d.strList(v, p)
			if r.GroupBy == nil {
				r.GroupBy = []string{}
			}
		case "repeat_interval":
			ri := d.duration(v, p)
			r.RepeatInterval = &ri
		case "messages":
			r.Messages = d.str(v, p)
		case "routes":
			d.sequence(v, p, func(i int, item ast.Node) {
				child := &Route{}
				d.route(item, index(p, i), child)
				r.Routes = append(r.Routes, child)
			})
		case "group_wait", "group_interval":
			d.fail(v, path, "%s is not supported: trailwatch notifies each batch of events as it arrives, and repeat_interval throttles repeats", key)
		default:
			return false
		}
		return true
	})
}

func (d *decoder) silence(n ast.Node, path string, s *Silence) {
	d.mapping(n, path, func(key string, v ast.Node) bool {
		p := joinPath(path, key)
		switch key {
		case "matchers":
			s.Matchers = d.matchers(v, p)
		case "expires":
			s.Expires = d.timestamp(v, p)
		case "comment":
			s.Comment = d.str(v, p)
		case "created_by":
			s.CreatedBy = d.str(v, p)
		default:
			return false
		}
		return true
	})
}

func (d *decoder) ignore(n ast.Node, path string, ig *Ignore) {
	d.mapping(n, path, func(key string, v ast.Node) bool {
		p := joinPath(path, key)
		switch key {
		case "principal":
			ig.Principal = d.str(v, p)
		case "event_name":
			ig.EventName = d.str(v, p)
		case "account":
			ig.Account = d.str(v, p)
		case "rule":
			ig.Rule = d.str(v, p)
		case "expires":
			ig.Expires = d.timestamp(v, p)
		case "comment":
			ig.Comment = d.str(v, p)
		default:
			return false
		}
		return true
	})
}

func (d *decoder) state(n ast.Node, path string, s *State) {
	d.mapping(n, path, func(key string, v ast.Node) bool {
		p := joinPath(path, key)
		switch key {
		case "backend":
			s.Backend = d.str(v, p)
		case "path":
			s.Path = d.str(v, p)
		case "table":
			s.Table = d.str(v, p)
		case "ttl":
			s.TTL = d.duration(v, p)
		default:
			return false
		}
		return true
	})
}
