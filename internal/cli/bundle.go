package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
)

func newBundleCmd() *cobra.Command {
	var (
		file, out string
	)
	cmd := &cobra.Command{
		Use:   "bundle [CONFIG] -o DIR",
		Short: "Write a configuration and every file it names into a folder, for the Lambda zip",
		Long: `bundle reads a configuration (a path, s3://bucket/key or ssm:NAME) with every
rule, detector, trusted-network and template file it names, checks it all as
validate does, and writes it into DIR: the configuration at the top, each file
at the path the configuration names it by. The folder loads exactly as the
original does, with no S3 or SSM access.

"make lambda-zip CONFIG=trailwatch.yaml" builds the bundle into the
deployment zip under trailwatch/, and the function reads it with
TRAILWATCH_CONFIG=/var/task/trailwatch/trailwatch.yaml. Files outside the
configuration's folder cannot keep their names and are refused; DIR must be
new or empty.`,
		Example: `  trailwatch bundle trailwatch.yaml -o dist/bundle
  trailwatch bundle s3://my-config-bucket/trailwatch/trailwatch.yaml -o dist/bundle`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if cmd.Flags().Changed("config") {
					return &ExitError{Code: 2, Err: errors.New("bundle: name the configuration once, as an argument or with --config")}
				}
				file = args[0]
			}
			if out == "" {
				return &ExitError{Code: 2, Err: errors.New("bundle: -o DIR is required: the folder to write the bundle into")}
			}
			ctx, errOut := cmd.Context(), cmd.ErrOrStderr()
			// What validate refuses is not bundled.
			c, ids, err := loadChecked(ctx, file, time.Now)
			if err != nil {
				printLines(errOut, err)
				return &ExitError{Code: 1}
			}
			b, err := newLoader(time.Now).Bundle(ctx, file)
			if err != nil {
				printLines(errOut, err)
				return &ExitError{Code: 1}
			}
			if err := b.Write(out); err != nil {
				return &ExitError{Code: 1, Err: fmt.Errorf("bundle: %w", err)}
			}
			// The written folder must load the same rules, or the bundle is
			// not what was checked.
			_, again, err := loadChecked(ctx, filepath.Join(out, b.Config), time.Now)
			if err != nil {
				printLines(errOut, err)
				return &ExitError{Code: 1, Err: errors.New("bundle: the written folder does not load as the configuration did")}
			}
			if len(again) != len(ids) {
				return &ExitError{Code: 1, Err: fmt.Errorf("bundle: the written folder loads %d rules, the configuration %d", len(again), len(ids))}
			}
			w := cmd.OutOrStdout()
			for _, n := range b.Names() {
				fmt.Fprintln(w, filepath.Join(out, filepath.FromSlash(n)))
			}
			fmt.Fprintf(w, "bundle OK: %d files, %d rules, %d receivers from %s\n", len(b.Files), len(ids), len(c.Receivers), clean(c.File))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", defaultConfigFile, "configuration: a path, s3://bucket/key or ssm:NAME")
	cmd.Flags().StringVarP(&out, "out", "o", "", "folder to write the bundle into (new or empty)")
	return cmd
}
