package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/geoip"
	"github.com/trailwatch/trailwatch/internal/report"
)

func newReportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Build reports over CloudTrail events",
		Long: `report reads CloudTrail events from any input trailwatch understands (files,
folders, standard input, S3 objects and prefixes, CloudTrail's event history)
and summarises them. See docs/report.md.`,
	}
	cmd.AddCommand(newReportLoginsCmd())
	return cmd
}

func newReportLoginsCmd() *cobra.Command {
	var (
		inputs  inputFlags
		format  string
		tz      string
		locale  string
		cfgPath string
		geoDBs  []string
		output  string
	)
	cmd := &cobra.Command{
		Use:   "logins [PATH|-|s3://BUCKET/PREFIX|cloudtrail://REGION]...",
		Short: "Who signed in to the AWS console, when, from where, with or without MFA",
		Long: `logins reports console sign-ins (ConsoleLogin) and role switches (SwitchRole)
of root, IAM users, IAM Identity Center users and federated principals: when
(in the time zone of --timezone, or of --config), from which IP address (with
country and network when a GeoIP database is given by --geoip or --config),
with which client, with or without MFA, and whether it worked.

--format table (the default) prints one line per principal and the totals;
csv prints one row per sign-in; json the whole report; html one page with
charts that loads nothing from the network (--locale ja for Japanese).

The exit status is 1 when an input could not be read completely.`,
		Example: `  trailwatch report logins testdata/sample
  trailwatch report logins --format html -o logins.html s3://org-trail/AWSLogs/ --since 30d
  trailwatch report logins --format html --locale ja --timezone Asia/Tokyo cloudtrail://all --since 7d
  trailwatch report logins --config trailwatch.yaml --format csv AWSLogs/ > logins.csv`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case "table", "csv", "json", "html":
			default:
				return fmt.Errorf("unknown --format %q: use table, csv, json or html", format)
			}
			var cfg *config.Config
			if cfgPath != "" {
				c, err := config.Load(cfgPath, config.Options{})
				if err != nil {
					return err
				}
				cfg = c
			}
			loc, err := reportZone(cmd, tz, cfg)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("locale") && cfg != nil && cfg.Locale != "" {
				locale = cfg.Locale
			}
			if locale != "en" && locale != "ja" {
				return fmt.Errorf("unknown --locale %q: use en or ja", locale)
			}
			if len(geoDBs) == 0 && cfg != nil {
				geoDBs = cfg.GeoIPDatabases()
			}
			in, err := inputs.open(cmd)
			if err != nil {
				return err
			}
			o := report.Options{Location: loc}
			if len(geoDBs) > 0 {
				g, err := geoip.Load(cmd.Context(), &lazyS3Fetcher{}, "", geoDBs...)
				if err != nil {
					return err
				}
				defer g.Close()
				o.GeoIP = g
			}
			if len(args) == 0 {
				args = []string{"-"}
			}
			logins := report.NewLogins(o)
			st := readLogins(cmd.Context(), in, args, logins, in.errw(cmd.ErrOrStderr()))
			res := logins.Result()
			fmt.Fprintf(in.errw(cmd.ErrOrStderr()), "trailwatch: %s read, %s, %d skipped, %s\n",
				countOf(st.events, "event"), countOf(res.Totals.SignIns, "sign-in"), st.skipped, countOf(st.errors, "error"))
			if err := writeReport(cmd, res, format, locale, output); err != nil {
				return err
			}
			if st.err != nil {
				return st.err
			}
			if st.inputErrors > 0 {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	inputs.register(cmd)
	fs := cmd.Flags()
	fs.StringVar(&format, "format", "table", "output: table, csv, json or html")
	fs.StringVar(&tz, "timezone", "", `time zone of times and days, such as "Asia/Tokyo" (default: the configuration's, else UTC)`)
	fs.StringVar(&locale, "locale", "en", "language of the HTML page: en or ja (default: the configuration's, else en)")
	fs.StringVar(&cfgPath, "config", "", "take the time zone, locale and GeoIP databases from this trailwatch.yaml")
	fs.StringArrayVar(&geoDBs, "geoip", nil, "MaxMind-format GeoIP database (City or Country, and ASN), a path or s3://bucket/key; repeat for both")
	fs.StringVarP(&output, "output", "o", "", "write the report to this file instead of standard output")
	// --tz is a short spelling of --timezone.
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "tz" {
			name = "timezone"
		}
		return pflag.NormalizedName(name)
	})
	return cmd
}

// reportZone picks the time zone: --timezone, else the configuration's,
// else UTC.
func reportZone(cmd *cobra.Command, tz string, cfg *config.Config) (*time.Location, error) {
	switch {
	case tz != "":
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("unknown --timezone %q: use an IANA zone name such as UTC or Asia/Tokyo", tz)
		}
		return loc, nil
	case cfg != nil && cfg.Location != nil:
		return cfg.Location, nil
	}
	return time.UTC, nil
}

// readStats counts what a report read.
type readStats struct {
	readProblems
	events int
	err    error
}

// readLogins feeds every sign-in event of args to the report, printing
// input problems on errw. The events are read on every core (mapEvents);
// only the sign-ins come back, in input order.
func readLogins(ctx context.Context, in *inputs, args []string, l *report.Logins, errw io.Writer) readStats {
	var st readStats
	signIn := func(_ context.Context, ev *event.Event) (struct{}, bool) { return struct{}{}, report.IsSignIn(ev) }
	for res := range mapEvents(ctx, in, args, signIn) {
		if res.Err != nil {
			st.report(errw, res.Err)
			continue
		}
		st.events++
		if res.Event != nil {
			l.Add(res.Event)
		}
	}
	st.err = ctx.Err()
	return st
}

// writeReport writes the result in its format to standard output or to
// the --output file.
func writeReport(cmd *cobra.Command, res *report.Result, format, locale, output string) (err error) {
	w := cmd.OutOrStdout()
	if output != "" {
		f, err := os.Create(output)
		if err != nil {
			return fmt.Errorf("cannot write the report: %w", err)
		}
		defer func() {
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("cannot write the report: %w", cerr)
			}
		}()
		w = f
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	switch format {
	case "csv":
		err = res.WriteCSV(bw)
	case "json":
		err = res.WriteJSON(bw)
	case "html":
		err = res.WriteHTML(bw, locale)
	default:
		err = res.WriteTable(bw)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("cannot write the report: %w", err)
	}
	return nil
}
