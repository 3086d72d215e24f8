package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/config/tattletail"
)

func newConvertCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "convert TATTLETAIL.TOML [-o DIR]",
		Short: "Print the trailwatch.yaml and rule file equivalent to a cloudtrail-tattletail configuration",
		Long: `convert reads a cloudtrail-tattletail configuration and prints the equivalent
trailwatch.yaml and rule file: each [[rule]] becomes a jq rule (decided as
tattletail decides), each [[destination]] a receiver (slack_webhook → slack,
sns → sns, ses → email through SES), each rule's destinations a route.

trailwatch also runs tattletail.toml as it is (check --config, validate, the
Lambda function); convert is for moving on to trailwatch.yaml, where a
webhook URL is a secret reference rather than text in the file. With -o the
two files are written into DIR instead of printed.`,
		Example: `  trailwatch convert tattletail.toml
  trailwatch convert tattletail.toml -o converted/`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			data, err := readSmall(name)
			if err != nil {
				return &ExitError{Code: 1, Err: fmt.Errorf("convert: %w", err)}
			}
			res, err := tattletail.Translate(name, data)
			if err != nil {
				printLines(cmd.ErrOrStderr(), err)
				return &ExitError{Code: 1}
			}
			for _, n := range res.Notes {
				fmt.Fprintln(cmd.ErrOrStderr(), "note:", cleanLines(n))
			}
			if out == "" {
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "# ==> trailwatch.yaml <==\n%s\n# ==> %s <==\n%s", res.Config, res.RulesFile, res.Rules)
				return nil
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return &ExitError{Code: 1, Err: fmt.Errorf("convert: %w", err)}
			}
			files := []struct {
				name string
				data []byte
			}{{"trailwatch.yaml", res.Config}, {res.RulesFile, res.Rules}}
			for _, f := range files {
				p := filepath.Join(out, f.name)
				if _, err := os.Stat(p); err == nil {
					return &ExitError{Code: 1, Err: fmt.Errorf("convert: %s exists; convert does not overwrite files", p)}
				}
			}
			for _, f := range files {
				p := filepath.Join(out, f.name)
				if err := os.WriteFile(p, f.data, 0o644); err != nil {
					return &ExitError{Code: 1, Err: fmt.Errorf("convert: %w", err)}
				}
				fmt.Fprintln(cmd.OutOrStdout(), p)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "folder to write trailwatch.yaml and the rule file into, instead of printing them")
	return cmd
}

// readSmall reads a local file of at most config.MaxFileSize bytes.
func readSmall(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, config.MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > config.MaxFileSize {
		return nil, errors.New(name + " is larger than the largest configuration file")
	}
	return b, nil
}
