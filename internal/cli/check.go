package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // --timezone works where the system has no zone database (Lambda, scratch images)
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/rule"
)

func newCheckCmd() *cobra.Command {
	var (
		flags  ruleFlags
		format string
		tz     string
		failOn string
		cfg    string
		dryRun bool
		learn  bool
	)
	cmd := &cobra.Command{
		Use:   "check [PATH|-]...",
		Short: "Run the rules over CloudTrail events and print the alerts",
		Long: `Read CloudTrail events from files, folders (recursively), standard input ("-",
the default) or s3://bucket/key, in any shape trailwatch understands (log
files, gzip or not, JSON Lines, EventBridge, SNS, SQS and CloudWatch Logs
payloads), run the rules over them and print one line per alert.

The built-in packs run by default; --packs chooses some of them ("none" for
none) and --rules adds rule files or folders.

With --config, events go through the whole pipeline the configuration
describes: its rules and the stateful detectors, its routes, silences and
throttling, and its receivers, which are sent to for real. --dry-run prints
each message instead of sending it (no secret is resolved, no state kept);
--learn only feeds the detectors' state (a baseline from archived logs) and
sends nothing.

Skipped inputs, bad records and rules that fail on an event are reported on
standard error, each naming the input, record and rule, followed by a
summary line. The exit status is 1 when an input or a record could not be
read or a rule (or detector) failed on an event, else 3 when alerts could
not be delivered, else 2 when --fail-on is given and an alert at or above
that severity fired, else 0.`,
		Example: `  trailwatch check AWSLogs/
  trailwatch check --packs signin,root --rules my-rules/ --format json log.json.gz
  aws s3 cp s3://trail-bucket/AWSLogs/.../file.json.gz - | trailwatch check --fail-on high
  trailwatch check --config trailwatch.yaml --dry-run testdata/sample
  trailwatch check --config trailwatch.yaml --learn last-month/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			loc, err := time.LoadLocation(tz)
			if err != nil {
				return fmt.Errorf("--timezone %q: %w", tz, err)
			}
			var threshold *event.Severity
			if failOn != "" {
				s, err := event.ParseSeverity(failOn)
				if err != nil {
					return fmt.Errorf("--fail-on: %w", err)
				}
				threshold = &s
			}
			if cfg == "" && (dryRun || learn) {
				return errors.New("--dry-run and --learn need --config")
			}
			if cfg != "" && (len(flags.packs) > 0 || len(flags.paths) > 0) {
				return errors.New("with --config, rules are chosen in the configuration's rules section, not with --packs or --rules")
			}
			var set *rule.Set
			if cfg == "" {
				rs, err := flags.load()
				if err != nil {
					return err
				}
				if set, err = rule.NewSet(rs...); err != nil {
					return err
				}
			}
			if len(args) == 0 {
				args = []string{"-"}
			}
			c := &checker{
				set: set,
				// S3 objects named by arguments or by saved notifications
				// are fetched with AWS configuration loaded on first use.
				reader: ingest.New(ingest.Options{Fetcher: &lazyS3Fetcher{}}),
				stdin:  cmd.InOrStdin(),
				errw:   cmd.ErrOrStderr(),
				out:    newAlertWriter(cmd.OutOrStdout(), format, loc),
			}
			var st checkStats
			undelivered := 0
			if cfg == "" {
				st, err = c.run(cmd.Context(), args)
			} else {
				p, perr := newPipeline(cmd.Context(), cfg, dryRun, cmd.OutOrStdout(), c.errw)
				if perr != nil {
					return perr
				}
				if dryRun || learn {
					c.out = nil // stdout shows the messages, or nothing
				}
				r := &pipelineRun{checker: c, p: p, learn: learn}
				st, err = r.run(cmd.Context(), args)
				undelivered = r.failed
				err = errors.Join(err, p.Close())
			}
			fmt.Fprintf(c.errw, "%d events, %d alerts, %d skipped, %d errors\n", st.events, st.alerts, st.skipped, st.errors)
			switch {
			case err != nil:
				return err
			case st.errors > 0:
				// Inputs, records or rules that failed: what was checked is
				// not everything that was asked for.
				return &ExitError{Code: 1}
			case undelivered > 0:
				return &ExitError{Code: 3, Err: fmt.Errorf("%d alerts could not be delivered", undelivered)}
			case threshold != nil && st.alerts > 0 && st.maxSeverity >= *threshold:
				return &ExitError{Code: 2}
			}
			return nil
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json (one object per alert per line)")
	cmd.Flags().StringVar(&tz, "timezone", "UTC", `time zone for event times, such as "Asia/Tokyo" or "Local"`)
	cmd.Flags().StringVar(&cfg, "config", "", "run the whole pipeline of this configuration file (trailwatch.yaml) and deliver alerts")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "with --config: print each message instead of sending it")
	cmd.Flags().BoolVar(&learn, "learn", false, "with --config: only record what the detectors see (a baseline), alert nothing")
	cmd.Flags().StringVar(&failOn, "fail-on", "", "exit with status 2 when an alert at or above this severity fires (info, low, medium, high, critical)")
	return cmd
}

// checker runs a rule set over inputs.
type checker struct {
	set    *rule.Set
	reader *ingest.Reader
	stdin  io.Reader
	errw   io.Writer
	out    *alertWriter // nil counts alerts without printing them
}

// checkStats counts what a check run saw.
type checkStats struct {
	events, alerts, skipped, errors, inputErrors int
	maxSeverity                                  event.Severity
}

// run reads every input in order. It returns an error only when alerts can
// no longer be written; input and record problems are reported and counted.
func (c *checker) run(ctx context.Context, args []string) (checkStats, error) {
	var st checkStats
	for _, arg := range args {
		var events iter.Seq2[*event.Event, error]
		if arg == "-" {
			events = c.reader.Stream(ctx, "-", c.stdin)
		} else {
			events = c.reader.Paths(ctx, []string{arg})
		}
		for ev, err := range events {
			if err != nil {
				c.report(&st, err)
				continue
			}
			st.events++
			// Alerts are printed while the event is current, so none is
			// cloned.
			var werr error
			err := c.set.Each(ctx, ev, func(a *event.Alert) bool {
				st.alerts++
				st.maxSeverity = max(st.maxSeverity, a.Rule.Severity)
				if c.out != nil {
					werr = c.out.write(a)
				}
				return werr == nil
			})
			if werr == nil && arg == "-" && c.out != nil && c.out.pending > 0 {
				// A live feed on standard input: show each event's alerts
				// at once rather than when a batch of rows fills.
				werr = c.out.flush()
			}
			if werr != nil {
				return st, fmt.Errorf("cannot write alerts: %w", werr)
			}
			if err != nil {
				st.errors++
				fmt.Fprintf(c.errw, "trailwatch: %s\n", clean(err.Error()))
			}
		}
		if err := ctx.Err(); err != nil {
			return st, err
		}
	}
	if c.out == nil {
		return st, nil
	}
	if err := c.out.flush(); err != nil {
		return st, fmt.Errorf("cannot write alerts: %w", err)
	}
	return st, nil
}

// report prints an ingest problem on standard error and counts it.
func (c *checker) report(st *checkStats, err error) {
	var (
		skip *ingest.SkipError
		in   *ingest.InputError
	)
	switch {
	case errors.As(err, &skip):
		st.skipped++
	case errors.As(err, &in):
		st.errors++
		st.inputErrors++
	default:
		st.errors++
	}
	fmt.Fprintf(c.errw, "trailwatch: %s\n", clean(err.Error()))
}

// alertWriter prints alerts as a table or as JSON lines.
type alertWriter struct {
	json    *bufio.Writer // JSON lines go here; nil for the table
	buf     []byte        // one JSON line, reused
	table   *tabwriter.Writer
	loc     *time.Location
	header  bool
	pending int // table rows not yet flushed
}

// flushEvery bounds how many table rows wait for column alignment, so that
// memory stays flat however many alerts a long input raises.
const flushEvery = 100

func newAlertWriter(w io.Writer, format string, loc *time.Location) *alertWriter {
	a := &alertWriter{loc: loc}
	if format == "json" {
		a.json = bufio.NewWriterSize(w, 64<<10)
	} else {
		a.table = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	}
	return a
}

func (w *alertWriter) write(a *event.Alert) error {
	ev := a.Event
	p := ev.Principal()
	ts := ev.Time()
	if w.json != nil {
		t := ""
		if !ts.IsZero() {
			t = ts.In(w.loc).Format(time.RFC3339)
		}
		w.buf = appendAlertJSON(w.buf[:0], a, p, t)
		if _, err := w.json.Write(w.buf); err != nil {
			return err
		}
		if w.pending++; w.pending >= flushEvery {
			return w.flush()
		}
		return nil
	}
	if !w.header {
		fmt.Fprintln(w.table, "TIME\tSEVERITY\tRULE\tEVENT\tPRINCIPAL\tSOURCE IP\tACCOUNT\tREGION\tSUMMARY")
		w.header = true
	}
	t := ""
	if !ts.IsZero() {
		t = ts.In(w.loc).Format("2006-01-02 15:04:05 MST")
	}
	summary := a.Summary
	if summary == "" {
		summary = a.Rule.Title
	}
	if a.Annotation != "" {
		summary += " [" + a.Annotation + "]"
	}
	_, err := fmt.Fprintf(w.table, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
		dash(t), a.Rule.Severity, a.Rule.ID, dash(clean(ev.Name())), dash(clean(p.String())),
		dash(clean(ev.SourceIP())), dash(clean(ev.Account())), dash(clean(ev.Region())), clean(summary))
	if err != nil {
		return err
	}
	if w.pending++; w.pending >= flushEvery {
		return w.flush()
	}
	return nil
}

// flush writes out what is buffered: table rows (aligned among
// themselves) or JSON lines.
func (w *alertWriter) flush() error {
	w.pending = 0
	if w.json != nil {
		return w.json.Flush()
	}
	return w.table.Flush()
}

// dash shows a missing value as "-" so that table columns stay aligned.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// appendAlertJSON appends one line of `trailwatch check --format json`: an
// object with the alert's rule, the event's main fields, the summary and
// the annotation. Built by hand because it runs for every alert; the text is
// escaped as encoding/json escapes it.
func appendAlertJSON(b []byte, a *event.Alert, p event.Principal, t string) []byte {
	ev := a.Event
	o := ev.Origin()
	b = append(b, '{')
	b = jsonField(b, "rule", a.Rule.ID, true)
	b = jsonField(b, "title", a.Rule.Title, false)
	b = jsonField(b, "severity", a.Rule.Severity.String(), false)
	if len(a.Rule.Tags) > 0 {
		b = append(b, `,"tags":[`...)
		for i, tag := range a.Rule.Tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, tag)
		}
		b = append(b, ']')
	}
	v := ev.Value()
	b = jsonField(b, "event_id", v.GetStringBytes("eventID"), false)
	b = jsonField(b, "event_name", v.GetStringBytes("eventName"), false)
	b = jsonField(b, "event_source", v.GetStringBytes("eventSource"), false)
	b = jsonField(b, "time", t, false)
	b = jsonField(b, "account", ev.Account(), false)
	b = jsonField(b, "region", v.GetStringBytes("awsRegion"), false)
	b = jsonField(b, "principal", p.String(), false)
	b = jsonField(b, "principal_type", p.Type, false)
	b = jsonOptional(b, "principal_arn", p.ARN)
	b = jsonField(b, "source_ip", v.GetStringBytes("sourceIPAddress"), false)
	b = jsonOptional(b, "user_agent", v.GetStringBytes("userAgent"))
	b = jsonOptional(b, "error_code", v.GetStringBytes("errorCode"))
	b = jsonField(b, "summary", a.Summary, false)
	b = jsonField(b, "annotation", a.Annotation, false)
	b = jsonOptional(b, "console_url", ev.ConsoleURL())
	b = jsonField(b, "input", o.Input, false)
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, int64(o.Index), 10)
	return append(b, '}', '\n')
}

func jsonField[T string | []byte](b []byte, key string, value T, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendJSONString(b, value)
}

// jsonOptional writes the field only when value is not empty.
func jsonOptional[T string | []byte](b []byte, key string, value T) []byte {
	if len(value) == 0 {
		return b
	}
	return jsonField(b, key, value, false)
}

// appendJSONString appends s as a JSON string the way encoding/json writes
// it: quotes, backslashes and control characters escaped, <, > and & as
// \u escapes, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendJSONString[T string | []byte](b []byte, s T) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func decodeRune[T string | []byte](s T) (rune, int) {
	switch s := any(s).(type) {
	case string:
		return utf8.DecodeRuneInString(s)
	case []byte:
		return utf8.DecodeRune(s)
	}
	return utf8.RuneError, 1
}
