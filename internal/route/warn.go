package route

import (
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/matcher"
)

// Warnings returns what the configuration's silences and ignore rules
// allow that their authors rarely mean, one line each, naming the file and
// line: a silence or ignore rule that picks a principal by name alone.
// Names are chosen by whoever creates the principal: a federated user
// (GetFederationToken) may call itself "break-glass", another account may
// have an IAM user "ci-bot", and the account label is the account the call
// was made in, not the caller's. `trailwatch validate` prints these as
// warnings; the Lambda function logs them when it loads the configuration.
func Warnings(c *config.Config) []string {
	var out []string
	for i, s := range c.Silences {
		if w := nameOnly(s.Matchers); w != "" {
			out = append(out, fmt.Sprintf("%s:%d: silences[%d]: %s picks the principal by name only, and any principal can take a name "+
				"(a federated user, a user or role of another account; account is the account called, not the caller's): "+
				"add principal_arn, or principal_account and principal_type", c.File, s.Line, i, w))
		}
	}
	for i, ig := range c.Ignore {
		p := ig.Principal
		switch {
		case p == "":
		case !strings.HasPrefix(p, "arn:"):
			out = append(out, fmt.Sprintf("%s:%d: ignore[%d]: principal %q is a name, and any principal can take a name "+
				"(a federated user, a user or role of another account; account is the account called, not the caller's): "+
				"write the principal's ARN, such as arn:aws:iam::111122223333:user/NAME or arn:aws:sts::111122223333:assumed-role/ROLE/*",
				c.File, ig.Line, i, p))
		case arnAccountWild(p):
			out = append(out, fmt.Sprintf("%s:%d: ignore[%d]: principal %q matches that name in every account: write the account id into the ARN",
				c.File, ig.Line, i, p))
		}
	}
	return out
}

// nameOnly returns the first matcher that selects a principal by name
// (principal or role, = or =~) when nothing ties it to one principal: a
// positive principal_arn matcher, or positive principal_account and
// principal_type matchers. It returns "" when there is none.
func nameOnly(ms matcher.Matchers) string {
	var byName *matcher.Matcher
	pinned := map[string]bool{}
	for _, m := range ms {
		positive := m.Op == matcher.Equal || m.Op == matcher.Regexp
		if !positive {
			continue
		}
		switch m.Name {
		case "principal", "role":
			if byName == nil {
				byName = m
			}
		case "principal_arn", "principal_account", "principal_type":
			pinned[m.Name] = true
		}
	}
	if byName == nil || pinned["principal_arn"] || pinned["principal_account"] && pinned["principal_type"] {
		return ""
	}
	return "matcher " + quoteMatcher(byName)
}

// quoteMatcher writes a matcher for a one-line message: Go-quoted, so that a
// value holding a newline cannot start a line of its own.
func quoteMatcher(m *matcher.Matcher) string {
	return fmt.Sprintf("%q", m.String())
}

// arnAccountWild reports whether an ARN pattern leaves the account field
// (the fifth) open: empty, or holding a wildcard.
func arnAccountWild(p string) bool {
	parts := strings.SplitN(p, ":", 6)
	if len(parts) < 6 {
		return strings.Contains(p, "*")
	}
	return parts[4] == "" || strings.Contains(parts[4], "*")
}
