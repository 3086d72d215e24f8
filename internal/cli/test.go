package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/trailwatch/trailwatch/internal/rule"
	"github.com/trailwatch/trailwatch/rules"
)

func newTestCmd() *cobra.Command {
	var (
		packs   []string
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "test [FILE|DIR]...",
		Short: "Run the tests written in rule files",
		Long: `Run every rule's tests: each test gives an event (inline, or a file next to the
rule file) and whether the rule should fire on it. With no arguments every
built-in pack is tested, the opt-in ones (cis, signin-stream) too (--packs
chooses some of them); otherwise the given rule files and folders are.

One line is printed per rule, a line per failed test below it, and a closing
line "N passed, N failed" counting tests. The exit status is 1 when a rule
file does not load or a test fails.`,
		Example: `  trailwatch test
  trailwatch test --packs signin,root -v
  trailwatch test my-rules/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(packs) == 0 {
				packs = []string{rule.PacksAll}
			}
			sel := rule.Selection{Builtin: rules.FS, Packs: packs}
			if len(args) > 0 {
				if cmd.Flags().Changed("packs") {
					return fmt.Errorf("--packs chooses built-in packs and cannot be combined with rule files")
				}
				sel = rule.Selection{Paths: args}
			}
			rs, err := rule.Load(sel)
			if err != nil {
				return err
			}
			results := rule.RunTests(cmd.Context(), rs)
			passed, failed := writeTestResults(cmd.OutOrStdout(), rs, results, verbose)
			fmt.Fprintf(cmd.OutOrStdout(), "%d passed, %d failed\n", passed, failed)
			if failed > 0 {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&packs, "packs", nil, `built-in packs to test, comma-separated: pack names, "default" or "all" (default all)`)
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print every test, not only failures")
	return cmd
}

// writeTestResults prints one line per rule ("ok", "FAIL" or "none" when it
// has no tests) and the failures under it, and counts the tests.
func writeTestResults(w io.Writer, rs []*rule.Rule, results []rule.TestResult, verbose bool) (passed, failed int) {
	byRule := map[*rule.Rule][]rule.TestResult{}
	for _, res := range results {
		byRule[res.Rule] = append(byRule[res.Rule], res)
	}
	for _, r := range rs {
		res := byRule[r]
		bad := 0
		for _, t := range res {
			if !t.Passed() {
				bad++
			}
		}
		passed += len(res) - bad
		failed += bad
		name := r.Pack + "/" + r.ID
		switch {
		case len(res) == 0:
			fmt.Fprintf(w, "none  %s: no tests\n", name)
		case bad == 0:
			fmt.Fprintf(w, "ok    %s (%s)\n", name, plural(len(res), "test"))
		default:
			fmt.Fprintf(w, "FAIL  %s (%d of %s failed)\n", name, bad, plural(len(res), "test"))
		}
		for _, t := range res {
			switch {
			case !t.Passed():
				fmt.Fprintf(w, "      %s\n", clean(t.Failure()))
			case verbose:
				outcome := "no alert"
				if t.Fired {
					outcome = "alert"
				}
				fmt.Fprintf(w, "      ok %s (%s)\n", clean(t.Test.Name), outcome)
			}
		}
	}
	return passed, failed
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
