package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/matcher"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/route"
	"github.com/trailwatch/trailwatch/internal/rule"
	"github.com/trailwatch/trailwatch/rules"
)

// defaultConfigFile is the configuration read when --config is not given.
const defaultConfigFile = "trailwatch.yaml"

func newValidateCmd() *cobra.Command {
	var (
		file string
		show bool
	)
	cmd := &cobra.Command{
		Use:   "validate [CONFIG] [--show]",
		Short: "Check a configuration, the rule, network and template files it names, its routes and templates",
		Long: `validate loads a configuration exactly as the Lambda function does, from a path,
s3://bucket/key or ssm:NAME, with every file it names (rule, detector and
trusted-network files and templates, beside it in a folder, an S3 prefix or
SSM parameters), and reports every problem of every file in one run, each
with its file and line: unknown keys, values of the wrong type, receivers a
route names but nobody defined, bad matchers, silences without an expiry or
a comment, secrets written into the file instead of referenced, rule and
detector files that do not load, templates that do not parse.

A cloudtrail-tattletail configuration (tattletail.toml) is checked as it runs.
Secret references are checked for syntax only; nothing is fetched.`,
		Example: `  trailwatch validate trailwatch.yaml
  trailwatch validate s3://my-config-bucket/trailwatch/trailwatch.yaml
  trailwatch validate ssm:/trailwatch/config --show`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if cmd.Flags().Changed("config") {
					return &ExitError{Code: 2, Err: errors.New("validate: name the configuration once, as an argument or with --config")}
				}
				file = args[0]
			}
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			c, ruleIDs, err := loadChecked(cmd.Context(), file, time.Now)
			if c != nil {
				for _, n := range c.Notes {
					fmt.Fprintln(errOut, "note:", cleanLines(n))
				}
			}
			if err != nil {
				printLines(errOut, err)
				return &ExitError{Code: 1}
			}
			for _, n := range unknownRuleNotes(c, ruleIDs) {
				fmt.Fprintln(errOut, "note:", n)
			}
			for _, w := range route.Warnings(c) {
				fmt.Fprintln(errOut, "warning:", w)
			}
			fmt.Fprintf(out, "config OK: %d receivers, %d routes, %d silences (%d expired)\n",
				len(c.Receivers), c.CountRoutes(), len(c.Silences), c.ExpiredSilences(time.Now()))
			fmt.Fprintf(out, "rules: %d loaded\n", len(ruleIDs))
			if show {
				b, err := c.Dump()
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "---\n%s", b)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", defaultConfigFile, "configuration: a path, s3://bucket/key or ssm:NAME")
	cmd.Flags().BoolVar(&show, "show", false, "print the configuration as loaded, defaults filled in and secrets hidden")
	return cmd
}

// loadChecked loads the configuration and everything it refers to, as the
// Lambda function does: the files it names, rules, detectors, the routing
// tree and the receivers' templates. Every problem of every part is
// returned together, so that one run shows them all; the configuration is
// returned as far as it could be read (nil when not at all). It returns the
// ids of the rules loaded.
func loadChecked(ctx context.Context, file string, now func() time.Time) (*config.Config, map[string]bool, error) {
	c, err := newLoader(now).Inspect(ctx, file)
	if c == nil {
		return nil, nil, err
	}
	errs := []error{err}
	rs, err := pipeline.LoadRules(c)
	errs = append(errs, err)
	// An unknown pack stops LoadRules before the rule files; they are
	// still read here (with the known packs), so that one run shows
	// their problems too.
	sel, selErr := pipeline.Selection(c)
	known := knownPacks(&sel)
	if selErr == nil && !known {
		sel.Disabled = nil
		if rs, err = rule.Load(sel); err != nil {
			errs = append(errs, err) // each line names its rule file
		}
	}
	ids := make(map[string]bool, len(rs))
	for _, r := range rs {
		ids[r.ID] = true
	}
	// Detectors and trusted networks are declared in the same files; a
	// misspelt key in them fails here as it would when the function builds.
	if selErr == nil {
		sel.Disabled = nil
		dc, err := rule.LoadDetectors(sel)
		switch {
		case err != nil:
			errs = append(errs, err) // each line names its file
		default:
			if err := dc.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s: detectors: %w", c.File, err))
			}
			for _, d := range dc.Detectors {
				if ids[d.ID] {
					errs = append(errs, fmt.Errorf("%s: detector %q has the id of a loaded rule; rename or disable one of them", c.File, d.ID))
				}
			}
		}
	}
	if c.Route != nil {
		if _, err := route.New(c); err != nil {
			errs = append(errs, err)
		}
		if _, err := route.NewRenderers(c, 0, now); err != nil {
			errs = append(errs, err)
		}
	}
	return c, ids, joinUnique(errs)
}

// knownPacks drops the pack names no built-in pack has from sel, and
// reports whether they were all known.
func knownPacks(sel *rule.Selection) bool {
	have, err := rule.BuiltinPacks(rules.FS)
	if err != nil || len(sel.Packs) == 0 {
		return true
	}
	var keep []string
	for _, p := range sel.Packs {
		if p == rule.PacksNone || p == rule.PacksAll || p == rule.PacksDefault || slices.Contains(have, p) {
			keep = append(keep, p)
		}
	}
	if len(keep) == len(sel.Packs) {
		return true
	}
	if len(keep) == 0 {
		keep = []string{rule.PacksNone}
	}
	sel.Packs = keep
	return false
}

// joinUnique joins errors, each line once: a problem found by two checks
// (a pack name the configuration and the rule loader both refuse) is
// reported once.
func joinUnique(errs []error) error {
	var lines []string
	seen := map[string]bool{}
	for _, e := range errs {
		if e == nil {
			continue
		}
		for _, l := range strings.Split(e.Error(), "\n") {
			if l != "" && !seen[l] {
				seen[l] = true
				lines = append(lines, l)
			}
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return errors.New(strings.Join(lines, "\n"))
}

// unknownRuleNotes finds route and silence matchers "rule = ID" naming no
// loaded rule: not an error (the rule may come later), but a misspelt id
// would silently match nothing.
func unknownRuleNotes(c *config.Config, ids map[string]bool) []string {
	var notes []string
	check := func(path string, ms matcher.Matchers) {
		for i, m := range ms {
			if m.Name == "rule" && m.Op == matcher.Equal && !ids[m.Value] {
				p := fmt.Sprintf("%s.matchers[%d]", path, i)
				notes = append(notes, fmt.Sprintf("%s:%d: %s: no loaded rule has id %q, so this matcher never holds", c.File, c.Line(p), p, m.Value))
			}
		}
	}
	var walk func(r *config.Route)
	walk = func(r *config.Route) {
		check(r.Path, r.Matchers)
		for _, child := range r.Routes {
			walk(child)
		}
	}
	walk(c.Route)
	for i, s := range c.Silences {
		check(fmt.Sprintf("silences[%d]", i), s.Matchers)
	}
	return notes
}

// printLines writes an error one line at a time (errors.Join puts each
// problem on its own line).
func printLines(w io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintln(w, line)
	}
}
