package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fold"
	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/matcher"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/route"
	"github.com/trailwatch/trailwatch/internal/rule"
)

func newRouteCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "route",
		Short: "Inspect the routing tree",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newRouteTestCmd())
	return cmd
}

type routeTestFlags struct {
	config string
	events []string
	labels string
	at     string
	expect []string
}

func newRouteTestCmd() *cobra.Command {
	var f routeTestFlags
	cmd := &cobra.Command{
		Use:   "test (--event FILE... | --labels k=v,...) [--config FILE]",
		Short: "Show which rules fire and where each alert would be sent, and why",
		Long: `route test runs events through the configured rules and routing tree without
sending anything. For each alert it prints the routes looked at (and the
matcher that failed, if one did), the receivers reached, the group the alert
would join, and whether a silence or an ignore rule drops it. Then it shows
the messages each receiver gets: the rules of one event travel in one
message (the primary rule first, the others listed in it), unless the route
says messages: per_rule.

--event takes a file in any form trailwatch reads (a CloudTrail record or
log file, an EventBridge, SNS, SQS or CloudWatch Logs payload); "-" is
standard input. --labels takes a label set directly, like amtool:

  trailwatch route test --labels severity=high,rule=root-console-login,tag:cis-1.7

--expect lists the receivers that must be reached (all alerts together); a
difference exits with status 1, for use in CI.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRouteTest(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.config, "config", "c", defaultConfigFile, "configuration file")
	fl.StringArrayVarP(&f.events, "event", "e", nil, `event file ("-" for standard input); repeatable`)
	fl.StringVarP(&f.labels, "labels", "l", "", "label set to route instead of events: name=value,...")
	fl.StringVar(&f.at, "at", "", "evaluate silences and ignore rules at this RFC 3339 time instead of now")
	fl.StringSliceVar(&f.expect, "expect", nil, "receivers that must be reached, comma-separated")
	return cmd
}

func runRouteTest(cmd *cobra.Command, f routeTestFlags) error {
	if (len(f.events) == 0) == (f.labels == "") {
		return &ExitError{Code: 2, Err: errors.New("route test: give --event FILE or --labels k=v,... (one of them)")}
	}
	now := time.Now()
	if f.at != "" {
		t, err := time.Parse(time.RFC3339, f.at)
		if err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("route test: --at %q is not an RFC 3339 time such as 2026-12-31T09:00:00+09:00", f.at)}
		}
		now = t
	}
	c, err := loadConfig(cmd.Context(), f.config, func() time.Time { return now })
	if err != nil {
		printLines(cmd.ErrOrStderr(), err)
		return &ExitError{Code: 1}
	}
	tree, err := route.New(c)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	x := &explainer{w: cmd.OutOrStdout(), tree: tree, now: now, file: c.File, reached: map[string]bool{}}
	if f.labels != "" {
		labels, err := matcher.ParseLabels(f.labels)
		if err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("route test: --labels: %w", err)}
		}
		if name, ok := c.Accounts[labels["account"]]; ok && labels["account_name"] == "" {
			labels["account_name"] = name
		}
		x.alert("", labels)
	} else {
		rs, err := pipeline.LoadRules(c)
		if err != nil {
			printLines(cmd.ErrOrStderr(), err)
			return &ExitError{Code: 1}
		}
		set, err := rule.NewSet(rs...)
		if err != nil {
			return &ExitError{Code: 1, Err: err}
		}
		// Each event is asked where it would go on its own, so a rule
		// with a threshold is shown as if its count were reached.
		set = set.WithoutThresholds()
		x.folder = fold.New(fold.Options{Rules: rs})
		if err := x.events(cmd.Context(), cmd.InOrStdin(), cmd.ErrOrStderr(), set, f.events); err != nil {
			return err
		}
	}
	if len(f.expect) > 0 {
		got := slices.Sorted(maps.Keys(x.reached))
		want := slices.Clone(f.expect)
		slices.Sort(want)
		want = slices.Compact(want)
		if !slices.Equal(got, want) {
			return &ExitError{Code: 1, Err: fmt.Errorf("route test: reached receivers [%s], expected [%s]", strings.Join(got, ", "), strings.Join(want, ", "))}
		}
		fmt.Fprintf(x.w, "expected receivers reached: %s\n", strings.Join(got, ", "))
	}
	return nil
}

// explainer writes route test's report.
type explainer struct {
	w       io.Writer
	tree    *route.Tree
	now     time.Time
	file    string
	reached map[string]bool
	folder  *fold.Folder
}

func (x *explainer) events(ctx context.Context, stdin io.Reader, errOut io.Writer, set *rule.Set, files []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	rd := ingest.New(ingest.Options{Fetcher: &lazyS3Fetcher{}})
	var failed []error
	for _, file := range files {
		seq := rd.Paths(ctx, []string{file})
		if file == "-" {
			seq = rd.Stream(ctx, "-", stdin)
		}
		n := 0
		for ev, err := range seq {
			if err != nil {
				var ie *ingest.InputError
				if errors.As(err, &ie) {
					failed = append(failed, err)
				} else {
					fmt.Fprintln(errOut, "note:", cleanLines(err.Error()))
				}
				continue
			}
			n++
			alerts, err := statelessAlerts(ctx, set, ev)
			if err != nil {
				fmt.Fprintln(errOut, "warning:", cleanLines(err.Error()))
			}
			x.event(ev, alerts)
		}
		if n == 0 && len(failed) == 0 {
			fmt.Fprintf(x.w, "%s: no CloudTrail events\n", file)
		}
	}
	if len(failed) > 0 {
		return &ExitError{Code: 1, Err: errors.Join(failed...)}
	}
	return nil
}

func (x *explainer) event(ev *event.Event, alerts []*event.Alert) {
	p := ev.Principal()
	fmt.Fprintf(x.w, "event %s: %s by %s in %s %s (%s)\n", orDash(ev.ID()), orDash(ev.Name()), orDash(p.String()), orDash(ev.Account()), orDash(ev.Region()), ev.Origin())
	if len(alerts) == 0 {
		fmt.Fprintln(x.w, "  no rule fired")
		fmt.Fprintln(x.w)
		return
	}
	var items []fold.Item
	var routes []*route.Route
	for _, a := range alerts {
		fmt.Fprintf(x.w, "  rule %s (%s) fired: %s\n", a.Rule.ID, a.Rule.Severity, oneLine(a.Rule.Title))
		for _, r := range x.alert("    ", x.tree.Labels(a)) {
			items = append(items, fold.Item{Alert: a, Receiver: r.Receiver, PerRule: r.PerRule})
			routes = append(routes, r)
		}
	}
	x.messages(items, routes)
	fmt.Fprintln(x.w)
}

// messages explains the messages the event's alerts make: per receiver,
// the rules folded into one message and the group it joins.
func (x *explainer) messages(items []fold.Item, routes []*route.Route) {
	if len(items) == 0 || x.folder == nil {
		return
	}
	fmt.Fprintln(x.w, "  messages:")
	for _, m := range x.folder.Messages(items) {
		r := routes[m.Items[0]]
		labels := x.tree.Labels(m.Alert)
		gl := map[string]string{}
		if r.GroupByAll {
			gl = labels
		} else {
			for _, g := range r.GroupBy {
				gl[g] = labels[g]
			}
		}
		what := "rule " + m.Alert.Rule.ID + " alone"
		switch {
		case len(m.Alert.Also) > 0:
			others := make([]string, len(m.Alert.Also))
			for i, o := range m.Alert.Also {
				others[i] = o.Rule.ID
			}
			what = fmt.Sprintf("one message about rule %s (%s), also listing %s", m.Alert.Rule.ID, m.Alert.Rule.Severity, strings.Join(others, ", "))
		case r.PerRule:
			what += " (messages: per_rule)"
		}
		fmt.Fprintf(x.w, "    -> %s: %s; group %s\n", r.Receiver, what, route.GroupKey(r, gl))
	}
}

// alert explains where one label set goes and returns the routes that
// deliver it, one per receiver (none when it is dropped).
func (x *explainer) alert(indent string, labels map[string]string) []*route.Route {
	w := x.w
	fmt.Fprintf(w, "%slabels: %s\n", indent, formatLabels(labels))
	if ig := x.tree.Ignored(labels, x.now); ig != nil {
		fmt.Fprintf(w, "%sdropped: ignored by %s\n", indent, ig)
		return nil
	}
	if s := x.tree.Silenced(labels, x.now); s != nil {
		fmt.Fprintf(w, "%sdropped: silenced by %s\n", indent, s)
		return nil
	}
	reached, steps := x.tree.Trace(labels)
	for _, s := range steps {
		pad := indent + strings.Repeat("  ", s.Depth)
		r := s.Route
		where := fmt.Sprintf("%s (line %d)", r.ID, r.Line)
		switch {
		case !s.Matched:
			fmt.Fprintf(w, "%s%s: no match, %s is false (%s=%s)\n", pad, where, s.Failed, s.Failed.Name, valueFor(labels, s.Failed.Name))
		case len(r.Matchers) == 0:
			fmt.Fprintf(w, "%s%s: matches every alert%s\n", pad, where, cont(r))
		default:
			fmt.Fprintf(w, "%s%s: matched %s%s\n", pad, where, r.Matchers, cont(r))
		}
	}
	seen := map[string]bool{}
	var delivering []*route.Route
	for _, r := range reached {
		if seen[r.Receiver] {
			fmt.Fprintf(w, "%s-> %s again via %s: delivered once\n", indent, r.Receiver, r.ID)
			continue
		}
		seen[r.Receiver] = true
		delivering = append(delivering, r)
		x.reached[r.Receiver] = true
		gl := map[string]string{}
		if r.GroupByAll {
			gl = labels
		} else {
			for _, g := range r.GroupBy {
				gl[g] = labels[g]
			}
		}
		repeat := "every batch"
		if r.RepeatInterval > 0 {
			repeat = "at most once per " + config.Duration(r.RepeatInterval).String()
		}
		fmt.Fprintf(w, "%s-> receiver %s (%s) via %s, group %s, notified %s\n",
			indent, r.Receiver, x.tree.Kind(r.Receiver), r.ID, route.GroupKey(r, gl), repeat)
	}
	return delivering
}

func cont(r *route.Route) string {
	if r.Continue {
		return "; continue: later siblings are tried too"
	}
	return ""
}

func valueFor(labels map[string]string, name string) string {
	if name == matcher.TagLabel {
		var tags []string
		for k, v := range labels {
			if t, ok := strings.CutPrefix(k, matcher.TagPrefix); ok && v == "true" {
				tags = append(tags, t)
			}
		}
		slices.Sort(tags)
		return "[" + strings.Join(tags, " ") + "]"
	}
	if v, ok := labels[name]; ok {
		return fmt.Sprintf("%q", v)
	}
	return "absent"
}

// formatLabels prints labels sorted, values quoted (they come from the
// event and may hold anything).
func formatLabels(labels map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if labels[k] == "" {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// orDash shows text from an event on one line, control characters
// escaped, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
