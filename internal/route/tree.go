package route

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/matcher"
)

// Route is one compiled node of the tree, with inherited settings resolved.
type Route struct {
	// ID names the route as the config does: "route", "route.routes[1]",
	// "route.routes[1].routes[0]". Line is where it starts in the file.
	ID   string
	Line int
	// Receiver is the receiver alerts reaching this route go to.
	Receiver string
	Matchers matcher.Matchers
	Continue bool
	// GroupBy lists the labels whose values form a group; GroupByAll
	// groups by every label instead.
	GroupBy    []string
	GroupByAll bool
	// RepeatInterval holds a notified group back for this long; zero
	// notifies every batch.
	RepeatInterval time.Duration
	// PerRule sends each rule's alert alone instead of folding the alerts
	// of one event into one message (messages: per_rule).
	PerRule bool
	Routes  []*Route
}

// Tree is the compiled routing configuration: routes, silences, ignore
// rules and account aliases. It is immutable and safe for concurrent use.
type Tree struct {
	root     *Route
	kinds    map[string]string // receiver name → kind
	accounts map[string]string
	silences []*Silence
	ignores  []*Ignore
	file     string
}

// New compiles the tree from a loaded configuration. c must come from
// config.Load or config.Parse, which have checked it; New fails only on
// inconsistencies those checks rule out.
func New(c *config.Config) (*Tree, error) {
	if c == nil || c.Route == nil {
		return nil, fmt.Errorf("route: the configuration has no route")
	}
	t := &Tree{
		kinds:    make(map[string]string, len(c.Receivers)),
		accounts: maps.Clone(c.Accounts),
		file:     c.File,
	}
	for _, r := range c.Receivers {
		t.kinds[r.Name] = r.Kind()
	}
	root, err := t.compile(c.Route, nil)
	if err != nil {
		return nil, err
	}
	t.root = root
	for i, s := range c.Silences {
		t.silences = append(t.silences, &Silence{Index: i, File: c.File, Config: s})
	}
	for i, ig := range c.Ignore {
		cig, err := compileIgnore(i, c.File, ig)
		if err != nil {
			return nil, err
		}
		t.ignores = append(t.ignores, cig)
	}
	return t, nil
}

func (t *Tree) compile(cr *config.Route, parent *Route) (*Route, error) {
	r := &Route{
		ID:       cr.Path,
		Line:     cr.Line,
		Receiver: cr.Receiver,
		Matchers: cr.Matchers,
		Continue: cr.Continue,
	}
	if r.ID == "" {
		r.ID = "route"
	}
	if parent != nil {
		if r.Receiver == "" {
			r.Receiver = parent.Receiver
		}
		r.GroupBy, r.GroupByAll = parent.GroupBy, parent.GroupByAll
		r.RepeatInterval = parent.RepeatInterval
		r.PerRule = parent.PerRule
	}
	if cr.Messages != "" {
		r.PerRule = cr.Messages == config.MessagesPerRule
	}
	if cr.GroupBy != nil {
		r.GroupBy, r.GroupByAll = cr.GroupBy, false
		if len(cr.GroupBy) == 1 && cr.GroupBy[0] == config.GroupByAll {
			r.GroupBy, r.GroupByAll = nil, true
		}
	}
	if cr.RepeatInterval != nil {
		r.RepeatInterval = time.Duration(*cr.RepeatInterval)
	}
	if _, ok := t.kinds[r.Receiver]; !ok {
		return nil, fmt.Errorf("route: %s: receiver %q is not defined", r.ID, r.Receiver)
	}
	for _, child := range cr.Routes {
		cc, err := t.compile(child, r)
		if err != nil {
			return nil, err
		}
		r.Routes = append(r.Routes, cc)
	}
	return r, nil
}

// Root returns the root route.
func (t *Tree) Root() *Route { return t.root }

// Kind returns the kind of the named receiver (config.KindSlack ...), or
// "" for a receiver the configuration does not define.
func (t *Tree) Kind(receiver string) string { return t.kinds[receiver] }

// Labels returns the labels routes match an alert on: the alert's own
// (event.Alert.Labels), account_name from the account aliases, and role,
// the role name of an assumed-role principal without its session name (SDK
// sessions are often named per process, so grouping by role keeps one
// role's burst in one group).
func (t *Tree) Labels(a *event.Alert) map[string]string {
	l := a.Labels()
	if name, ok := t.accounts[l["account"]]; ok {
		l["account_name"] = name
	}
	if p := a.Event.Principal(); p.RoleName != "" {
		l["role"] = p.RoleName
	}
	return l
}

// Match returns the routes labels reach, in tree order; at least the root.
func (t *Tree) Match(labels map[string]string) []*Route {
	return t.root.match(labels, nil, 0)
}

// Step is one route the matcher looked at, for route test.
type Step struct {
	Route *Route
	// Depth is 0 for the root.
	Depth int
	// Matched reports whether the route's matchers held; Failed is the
	// first matcher that did not.
	Matched bool
	Failed  *matcher.Matcher
	// Reached is set on the routes that are destinations.
	Reached bool
}

// Trace is Match that also returns every route it looked at, in order.
func (t *Tree) Trace(labels map[string]string) (reached []*Route, steps []*Step) {
	reached = t.root.match(labels, &steps, 0)
	return reached, steps
}

func (r *Route) match(labels map[string]string, steps *[]*Step, depth int) []*Route {
	var step *Step
	if steps != nil {
		step = &Step{Route: r, Depth: depth}
		*steps = append(*steps, step)
		for _, m := range r.Matchers {
			if !m.Matches(labels) {
				step.Failed = m
				break
			}
		}
	}
	if !r.Matchers.Matches(labels) {
		return nil
	}
	if step != nil {
		step.Matched = true
	}
	var out []*Route
	for _, c := range r.Routes {
		m := c.match(labels, steps, depth+1)
		out = append(out, m...)
		if len(m) > 0 && !c.Continue {
			break
		}
	}
	if len(out) == 0 {
		out = append(out, r)
		if step != nil {
			step.Reached = true
		}
	}
	return out
}

// joinLines joins errors one per line, as errors.Join does, without the
// nesting that would hide the per-file errors from errors.As on the first.
func joinLines(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
