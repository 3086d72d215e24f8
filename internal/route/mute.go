package route

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/config"
)

// Silence is a configured silence with its place in the file.
type Silence struct {
	Index  int
	File   string
	Config *config.Silence
}

// String names the silence for logs and route test:
// `silences[0] (trailwatch.yaml:40, until 2026-12-01T00:00:00Z, by alice: "reason")`.
func (s *Silence) String() string {
	by := ""
	if s.Config.CreatedBy != "" {
		by = ", by " + quoteValue(s.Config.CreatedBy)
	}
	return fmt.Sprintf("silences[%d] (%s:%d, until %s%s: %q)", s.Index, s.File, s.Config.Line,
		s.Config.Expires.Format(time.RFC3339), by, s.Config.Comment)
}

// Ignore is a compiled ignore rule.
type Ignore struct {
	Index  int
	File   string
	Config *config.Ignore

	principal, principalARN, eventName, rule *regexp.Regexp
}

// String names the ignore rule for logs and route test:
// `ignore[1] (trailwatch.yaml:52, {principal=ci/*}: "reason")`.
func (ig *Ignore) String() string {
	return fmt.Sprintf("ignore[%d] (%s:%d, %s: %q)", ig.Index, ig.File, ig.Config.Line, ig.Config.String(), ig.Config.Comment)
}

func compileIgnore(i int, file string, c *config.Ignore) (*Ignore, error) {
	ig := &Ignore{Index: i, File: file, Config: c}
	var err error
	if strings.HasPrefix(c.Principal, "arn:") {
		ig.principalARN, err = glob(c.Principal)
	} else {
		ig.principal, err = glob(c.Principal)
	}
	if err != nil {
		return nil, fmt.Errorf("route: ignore[%d]: %w", i, err)
	}
	if ig.eventName, err = glob(c.EventName); err != nil {
		return nil, fmt.Errorf("route: ignore[%d]: %w", i, err)
	}
	if ig.rule, err = glob(c.Rule); err != nil {
		return nil, fmt.Errorf("route: ignore[%d]: %w", i, err)
	}
	return ig, nil
}

// glob compiles a pattern in which * matches any run of characters
// (slashes included) and everything else is literal; "" compiles to nil.
func glob(p string) (*regexp.Regexp, error) {
	if p == "" {
		return nil, nil
	}
	parts := strings.Split(p, "*")
	for i, s := range parts {
		parts[i] = regexp.QuoteMeta(s)
	}
	return regexp.Compile("^" + strings.Join(parts, ".*") + "$")
}

func matchOpt(re *regexp.Regexp, v string) bool { return re == nil || re.MatchString(v) }

// Matches reports whether the rule covers labels at now.
func (ig *Ignore) Matches(labels map[string]string, now time.Time) bool {
	c := ig.Config
	return c.Active(now) &&
		matchOpt(ig.principal, labels["principal"]) &&
		matchOpt(ig.principalARN, labels["principal_arn"]) &&
		matchOpt(ig.eventName, labels["event_name"]) &&
		(c.Account == "" || c.Account == labels["account"]) &&
		matchOpt(ig.rule, labels["rule"])
}

// Matches reports whether the silence covers labels at now.
func (s *Silence) Matches(labels map[string]string, now time.Time) bool {
	return s.Config.Active(now) && s.Config.Matchers.Matches(labels)
}

// Ignored returns the first ignore rule covering labels at now, or nil.
func (t *Tree) Ignored(labels map[string]string, now time.Time) *Ignore {
	for _, ig := range t.ignores {
		if ig.Matches(labels, now) {
			return ig
		}
	}
	return nil
}

// Silenced returns the first active silence covering labels, or nil.
func (t *Tree) Silenced(labels map[string]string, now time.Time) *Silence {
	for _, s := range t.silences {
		if s.Matches(labels, now) {
			return s
		}
	}
	return nil
}
