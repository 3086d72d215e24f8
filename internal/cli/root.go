// Package cli is trailwatch's command-line face: one cobra command per
// subcommand, each a thin layer over the pipeline packages.
package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "dev"

// ExitError carries a process exit code. A nil Err means the command has
// already reported why it failed (or the code is not a failure to explain,
// such as --fail-on).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Main runs the CLI with args (without the program name) and returns the
// process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(stderr, "trailwatch:", cleanLines(ee.Err.Error()))
		}
		return ee.Code
	}
	// Errors can quote input (S3 keys from notifications, file names):
	// nothing in them may act on the terminal.
	fmt.Fprintln(stderr, "trailwatch:", cleanLines(err.Error()))
	return 1
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "trailwatch",
		Short: "Watch AWS CloudTrail and alert on security-relevant activity",
		Long: `trailwatch reads CloudTrail events from every delivery path (log files in S3,
EventBridge, SNS, SQS, CloudWatch Logs subscriptions, local files), matches
them against rules written as EventBridge patterns, CloudWatch Logs filter
patterns or jq, and sends readable alerts to Slack, email, SNS, Teams and
webhooks. The same binary runs as an AWS Lambda function.`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("trailwatch {{.Version}}\n")
	// Subcommands, one constructor each, in the order --help lists them.
	root.AddCommand(
		newEventsCmd(),
		newCheckCmd(),
		newTestCmd(),
		newRulesCmd(),
		newRenderCmd(),
		newValidateCmd(),
		newRouteCmd(),
		newReportCmd(),
		newReplayCmd(),
		newConvertCmd(),
		newBundleCmd(),
	)
	return root
}
