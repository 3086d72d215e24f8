package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/rule"
	"github.com/trailwatch/trailwatch/rules"
)

// ruleFlags are the flags every command that loads rules shares.
type ruleFlags struct {
	packs []string
	paths []string
}

func (f *ruleFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&f.packs, "packs", nil,
		`built-in packs to load, comma-separated: pack names, "default" (the packs that run by default), "all" or "none" (default "default")`)
	cmd.Flags().StringArrayVar(&f.paths, "rules", nil,
		"a rule file or folder to load as well (repeatable)")
}

// load loads the selected built-in packs and extra rule files.
func (f *ruleFlags) load() ([]*rule.Rule, error) {
	return rule.Load(rule.Selection{Builtin: rules.FS, Packs: f.packs, Paths: f.paths})
}

// loadToRun is load for a command that runs the rules but not their tests:
// the built-in packs' tests are left unread (rule.Selection's
// SkipBuiltinTests), which is most of what loading them costs.
func (f *ruleFlags) loadToRun() ([]*rule.Rule, error) {
	return rule.Load(rule.Selection{Builtin: rules.FS, Packs: f.packs, Paths: f.paths, SkipBuiltinTests: true})
}

func newRulesCmd() *cobra.Command {
	var (
		flags  ruleFlags
		format string
	)
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List the rules that would run",
		Long: `List the rules of the built-in packs (or the packs chosen with --packs) and of
any rule files given with --rules: pack, id, severity, language and title.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			rs, err := flags.load()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				return writeRulesJSON(out, rs)
			}
			return writeRulesTable(out, rs)
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json (one object per line)")
	return cmd
}

// checkFormat accepts the --format values.
func checkFormat(f string) error {
	if f != "table" && f != "json" {
		return fmt.Errorf("unknown --format %q; use table or json", f)
	}
	return nil
}

func writeRulesTable(w io.Writer, rs []*rule.Rule) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PACK\tID\tSEVERITY\tLANGUAGE\tTITLE")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", clean(r.Pack), r.ID, r.Severity, r.Language, clean(r.Title))
	}
	return tw.Flush()
}

// ruleJSON is one line of `trailwatch rules --format json`.
type ruleJSON struct {
	Pack        string   `json:"pack"`
	ID          string   `json:"id"`
	Severity    string   `json:"severity"`
	Language    string   `json:"language"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Refs        []string `json:"refs,omitempty"`
	EventNames  []string `json:"event_names,omitempty"`
	Match       string   `json:"match"`
	File        string   `json:"file"`
	Line        int      `json:"line"`
	Tests       int      `json:"tests"`
}

func writeRulesJSON(w io.Writer, rs []*rule.Rule) error {
	enc := json.NewEncoder(w)
	for _, r := range rs {
		names, _ := r.Matcher().EventNames()
		err := enc.Encode(ruleJSON{
			Pack: r.Pack, ID: r.ID, Severity: r.Severity.String(), Language: r.Language,
			Title: r.Title, Description: r.Description, Tags: r.Tags, Refs: r.Refs,
			EventNames: names, Match: r.Source, File: r.File, Line: r.Line, Tests: len(r.Tests),
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// clean makes untrusted text safe for a terminal: control characters
// (escape sequences, newlines, tabs that would break the table), Unicode
// direction overrides and invisible characters (render.Invisible: zero-width
// spaces, the byte-order mark) are shown as \x.. or \u.... escapes, and
// invalid UTF-8 as U+FFFD.
func clean(s string) string {
	if !needsClean(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || render.Invisible(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cleanLines is clean for multi-line text, such as joined errors: each line
// is cleaned and the line breaks between them are kept.
func cleanLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = clean(l)
	}
	return strings.Join(lines, "\n")
}

func needsClean(s string) bool {
	for _, r := range s {
		if r < 0x20 || r >= 0x7f {
			if r == utf8.RuneError || unicode.IsControl(r) || render.Invisible(r) {
				return true
			}
		}
	}
	return false
}
