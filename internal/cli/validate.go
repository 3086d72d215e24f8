package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/matcher"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/route"
)

// defaultConfigFile is the configuration read when --config is not given.
const defaultConfigFile = "trailwatch.yaml"

func newValidateCmd() *cobra.Command {
	var (
		file string
		show bool
	)
	cmd := &cobra.Command{
		Use:   "validate [--config FILE] [--show]",
		Short: "Check a configuration file, its rules, routes and templates",
		Long: `validate loads the configuration the way the Lambda function and the other
commands do and reports every problem with its file and line: unknown keys,
values of the wrong type, receivers a route names but nobody defined, bad
matchers, silences without an expiry or a comment, secrets written into the
file instead of referenced. It then loads the selected rule packs and files
and parses every receiver's templates.

Secret references are checked for syntax only; nothing is fetched.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			c, ruleIDs, err := loadChecked(file, time.Now)
			if err != nil {
				printLines(errOut, err)
				return &ExitError{Code: 1}
			}
			for _, n := range c.Notes {
				fmt.Fprintln(errOut, "note:", n)
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
	cmd.Flags().StringVarP(&file, "config", "c", defaultConfigFile, "configuration file")
	cmd.Flags().BoolVar(&show, "show", false, "print the configuration as loaded, defaults filled in and secrets hidden")
	return cmd
}

// loadChecked loads the configuration and everything it refers to: rules,
// the routing tree and the receivers' templates. It returns the ids of the
// rules loaded.
func loadChecked(file string, now func() time.Time) (*config.Config, map[string]bool, error) {
	c, err := config.Load(file, config.Options{Now: now})
	if err != nil {
		return nil, nil, err
	}
	var errs []error
	rs, err := pipeline.LoadRules(c)
	if err != nil {
		errs = append(errs, err)
	}
	if _, err := route.New(c); err != nil {
		errs = append(errs, err)
	}
	if _, err := route.NewRenderers(c, 0, now); err != nil {
		errs = append(errs, err)
	}
	ids := make(map[string]bool, len(rs))
	for _, r := range rs {
		ids[r.ID] = true
	}
	return c, ids, errors.Join(errs...)
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
