package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
	_ "time/tzdata" // --timezone works where the system has no zone database (Lambda, scratch images)
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/finding"
	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/rule"
	"github.com/trailwatch/trailwatch/internal/textwidth"
)

func newCheckCmd() *cobra.Command {
	var (
		flags  ruleFlags
		inputs inputFlags
		format string
		tz     string
		failOn string
		cfg    string
		dryRun bool
		learn  bool
		raw    bool
		wide   bool
	)
	cmd := &cobra.Command{
		Use:   "check [PATH|-|s3://BUCKET/PREFIX|cloudtrail://REGION]...",
		Short: "Run the rules over CloudTrail events and print the alerts",
		Long: `Read CloudTrail events from files, folders (recursively), standard input ("-",
the default), one S3 object (s3://bucket/key.json.gz), the CloudTrail log
files under an S3 prefix (s3://bucket/prefix/) or CloudTrail's event history
(cloudtrail://us-east-1, cloudtrail://all), in any shape trailwatch
understands (log files, gzip or not, JSON Lines, EventBridge, SNS, SQS and
CloudWatch Logs payloads), run the rules over them and print one line per
alert. --since, --until, --account and --region narrow every input, and what
an S3 prefix lists (see docs/report.md).

The built-in packs run by default; --packs chooses some of them ("none" for
none) and --rules adds rule files or folders.

The table fits the terminal: long principals are shortened in the middle,
other cells at their end, and the least useful columns (region, account,
source address, event, principal) are left out when the terminal is too
narrow for them. --wide prints every column in full; COLUMNS sets the width.
On a terminal, a line on standard error shows how a long read is going.

With --config, events go through the whole pipeline the configuration
describes: its rules and the stateful detectors, its routes, silences and
throttling, and its receivers, which are sent to for real. Times are shown
in the configuration's time zone unless --timezone says otherwise.
--dry-run prints each message as the person receiving it will read it,
instead of sending it (no secret is resolved, no state kept); with --raw or
--format json, it prints the exact payloads instead. --learn only feeds
the detectors' state (a baseline from archived logs) and sends nothing.

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
  trailwatch check --config trailwatch.yaml --learn last-month/
  trailwatch check s3://org-trail/AWSLogs/ --since 30d --account 111122223333 --region us-east-1`,
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
			if raw && !dryRun {
				return errors.New("--raw prints the payloads of a dry run; give --config and --dry-run too")
			}
			if cfg != "" && (len(flags.packs) > 0 || len(flags.paths) > 0) {
				return errors.New("with --config, rules are chosen in the configuration's rules section, not with --packs or --rules")
			}
			var set *rule.Set
			if cfg == "" {
				rs, err := flags.loadToRun()
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
			in, err := inputs.open(cmd)
			if err != nil {
				return err
			}
			stdout := cmd.OutOrStdout()
			prog := newProgress(cmd.ErrOrStderr(), true)
			in.prog = prog
			c := &checker{
				set:  set,
				in:   in,
				errw: prog.writer(cmd.ErrOrStderr()),
				prog: prog,
			}
			view := outputOf(stdout, os.Getenv)
			if view.terminal {
				// Results share the terminal with the progress line.
				stdout = prog.writer(stdout)
			}
			var st checkStats
			undelivered := 0
			if cfg == "" {
				c.out = newAlertWriter(stdout, format, loc, view, wide)
				st, err = c.run(cmd.Context(), args)
			} else {
				var (
					printer *messagePrinter
					show    func(pipeline.Message)
				)
				if dryRun {
					printer = &messagePrinter{w: stdout, raw: raw || format == "json"}
					show = printer.add
				}
				p, perr := newPipeline(cmd.Context(), cfg, dryRun, show, c.errw)
				if perr != nil {
					return perr
				}
				if !cmd.Flags().Changed("timezone") && p.Config().Location != nil {
					loc = p.Config().Location
				}
				if !dryRun && !learn {
					// stdout shows the alerts; with --dry-run, the
					// messages, and with --learn nothing.
					c.out = newAlertWriter(stdout, format, loc, view, wide)
				}
				r := &pipelineRun{checker: c, p: p, learn: learn, printer: printer}
				st, err = r.run(cmd.Context(), args)
				undelivered = r.failed
				err = errors.Join(err, p.Close())
			}
			prog.clear()
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
	inputs.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json (one object per alert per line; with --dry-run, the exact payloads)")
	cmd.Flags().StringVar(&tz, "timezone", "UTC", `time zone for event times, such as "Asia/Tokyo" or "Local" (default UTC, or the configuration's with --config)`)
	cmd.Flags().BoolVar(&wide, "wide", false, "print every column of the table in full, whatever the terminal's width")
	cmd.Flags().BoolVar(&raw, "raw", false, "with --dry-run: print the exact payloads instead of the messages as a person reads them")
	cmd.Flags().StringVar(&cfg, "config", "", "run the whole pipeline of this configuration file (trailwatch.yaml) and deliver alerts")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "with --config: print each message as its reader will see it instead of sending it")
	cmd.Flags().BoolVar(&learn, "learn", false, "with --config: only record what the detectors see (a baseline), alert nothing")
	cmd.Flags().StringVar(&failOn, "fail-on", "", "exit with status 2 when an alert at or above this severity fires (info, low, medium, high, critical)")
	return cmd
}

// checker runs a rule set over inputs.
type checker struct {
	set      *rule.Set
	findings *finding.Stage // made on the first finding event
	in       *inputs
	errw     io.Writer
	out      *alertWriter // nil counts alerts without printing them
	prog     *progress    // nil when standard error is not a terminal
}

// checkStats counts what a check run saw.
type checkStats struct {
	readProblems
	events, alerts int
	maxSeverity    event.Severity
}

// readProblems counts the problems of reading inputs: skipped inputs, and
// errors, of which those that stopped an input.
type readProblems struct {
	skipped, errors, inputErrors int
}

// report prints an ingest problem on w and counts it.
func (p *readProblems) report(w io.Writer, err error) {
	var (
		skip *ingest.SkipError
		in   *ingest.InputError
	)
	switch {
	case errors.As(err, &skip):
		p.skipped++
	case errors.As(err, &in):
		p.errors++
		p.inputErrors++
	default:
		p.errors++
	}
	fmt.Fprintf(w, "trailwatch: %s\n", clean(err.Error()))
}

// checked is what a worker makes of one event: the rules that match it,
// in the order they are written, and the rules that failed on it.
type checked struct {
	m   rule.Matched
	err error
}

// live reports whether an event came from standard input, whose alerts are
// shown as soon as they come.
func live(o event.Origin) bool { return o.Input == "-" }

// tickEvery is how many events pass between looks at the clock, which
// redraws the progress line and shows table rows that have waited long.
const tickEvery = 64

// run reads every input in order. It returns an error only when alerts can
// no longer be written; input and record problems are reported and counted.
func (c *checker) run(ctx context.Context, args []string) (checkStats, error) {
	var st checkStats
	// The rules are tried where the event is read, on every core; the
	// alerts are made here, in input order (a rule with a threshold counts
	// in order), pointing at the event itself, not a clone, and printed
	// before the next result.
	match := func(ctx context.Context, ev *event.Event) (checked, bool) {
		if ev.Kind().Finding() {
			return checked{}, true
		}
		m, err := c.set.Matches(ctx, ev)
		return checked{m: m, err: err}, m.Len() > 0
	}
	for res := range mapEvents(ctx, c.in, args, match) {
		if res.Err != nil {
			c.report(&st, res.Err)
			continue
		}
		st.events++
		c.prog.event(res.Origin.Input)
		var werr error
		err := res.Value.err
		if ev := res.Event; ev != nil {
			err = errors.Join(err, c.eachAlert(ctx, ev, res.Value.m, func(a *event.Alert) bool {
				st.alerts++
				c.prog.alert()
				st.maxSeverity = max(st.maxSeverity, a.Rule.Severity)
				if c.out != nil {
					werr = c.out.write(a)
				}
				return werr == nil
			}))
		}
		if werr == nil && live(res.Origin) && c.out != nil && c.out.pending > 0 {
			// A live feed on standard input: show each event's alerts
			// at once rather than when a batch of rows fills.
			werr = c.out.flush()
		}
		if werr == nil && st.events%tickEvery == 0 {
			werr = c.tick()
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
	if c.out == nil {
		return st, nil
	}
	if err := c.out.flush(); err != nil {
		return st, fmt.Errorf("cannot write alerts: %w", err)
	}
	return st, nil
}

// tick redraws the progress line and shows rows that waited too long.
func (c *checker) tick() error {
	c.prog.tick()
	if c.out != nil {
		return c.out.tick()
	}
	return nil
}

// report prints an ingest problem on standard error and counts it.
func (c *checker) report(st *checkStats, err error) { st.report(c.errw, err) }

// alertWriter prints alerts as a table fitted to the terminal or as JSON
// lines, through one buffer: a block of rows reaches the output in one
// write, not one per cell.
type alertWriter struct {
	w     *bufio.Writer
	json  bool
	buf   []byte // one JSON line, reused
	table *table
	loc   *time.Location
	// terminal is set when a person watches the output: each block is
	// shown as soon as it is laid out. Elsewhere the buffer is written
	// when it fills.
	terminal bool
	now      func() time.Time
	pending  int       // rows since the last block
	oldest   time.Time // when the first of them came
}

// Output buffering: flushEvery bounds the table rows laid out together
// (memory stays flat however many alerts a long input raises); rows that
// have waited flushAfter are shown anyway, so a slow input's alerts do not
// sit in the buffer; outputBuffer is the write buffer.
const (
	flushEvery   = 100
	flushAfter   = time.Second
	outputBuffer = 64 << 10
)

// alertColumns are the columns of the check table. When the terminal is
// too narrow, time and principal shrink first and region, account, source
// address, event and principal go, in that order.
func alertColumns() []column {
	return []column{
		{title: "TIME", min: 14, shrink: 0, cut: shortTime},
		{title: "SEVERITY", min: 8, shrink: 9},
		{title: "RULE", min: 20, shrink: 3},
		{title: "EVENT", min: 16, shrink: 2, drop: 4},
		{title: "PRINCIPAL", min: 20, shrink: 1, drop: 5, cut: textwidth.CutMiddle},
		{title: "SOURCE IP", min: 15, shrink: 8, drop: 3},
		{title: "ACCOUNT", min: 12, shrink: 8, drop: 2},
		{title: "REGION", min: 9, shrink: 8, drop: 1},
		{title: "SUMMARY", min: 36, shrink: 5},
	}
}

// timeLayout formats event times in tables; shortTime drops its zone,
// then its year, to fit a narrow column.
const timeLayout = "2006-01-02 15:04:05 MST"

func shortTime(s string, w int) string {
	switch {
	case len(s) < len("2006-01-02 15:04:05"):
		return textwidth.Cut(s, w)
	case w >= len("2006-01-02 15:04:05"):
		return s[:len("2006-01-02 15:04:05")]
	case w >= len("01-02 15:04:05"):
		return s[len("2006-"):len("2006-01-02 15:04:05")]
	}
	return textwidth.Cut(s, w)
}

func newAlertWriter(w io.Writer, format string, loc *time.Location, o output, wide bool) *alertWriter {
	a := &alertWriter{w: bufio.NewWriterSize(w, outputBuffer), loc: loc, terminal: o.terminal, now: time.Now}
	if format == "json" {
		a.json = true
	} else {
		a.table = newTable(a.w, alertColumns(), o.width, wide, false)
	}
	return a
}

func (w *alertWriter) write(a *event.Alert) error {
	if a.Finding != nil {
		return w.writeFinding(a)
	}
	ev := a.Event
	p := ev.Principal()
	ts := ev.Time()
	if w.pending == 0 {
		w.oldest = w.now()
	}
	w.pending++
	if w.json {
		t := ""
		if !ts.IsZero() {
			t = ts.In(w.loc).Format(time.RFC3339)
		}
		w.buf = appendAlertJSON(w.buf[:0], a, p, t)
		if _, err := w.w.Write(w.buf); err != nil {
			return err
		}
	} else {
		t := ""
		if !ts.IsZero() {
			t = ts.In(w.loc).Format(timeLayout)
		}
		summary := a.Summary
		if summary == "" {
			summary = a.Rule.Title
		}
		if a.Annotation != "" {
			summary += " [" + a.Annotation + "]"
		}
		w.table.row(t, a.Rule.Severity.String(), a.Rule.ID, ev.Name(), p.String(),
			ev.SourceIP(), ev.Account(), ev.Region(), summary)
	}
	if w.pending >= flushEvery {
		return w.block()
	}
	return nil
}

// block lays out the rows waiting and, for a person watching, shows them.
func (w *alertWriter) block() error {
	w.pending = 0
	if w.table != nil {
		w.table.emit()
	}
	if w.terminal {
		return w.w.Flush()
	}
	return nil
}

// tick shows rows that have waited longer than flushAfter.
func (w *alertWriter) tick() error {
	if w.pending == 0 || w.now().Sub(w.oldest) < flushAfter {
		return nil
	}
	return w.flush()
}

// flush lays out and writes out everything buffered.
func (w *alertWriter) flush() error {
	w.pending = 0
	if w.table != nil {
		w.table.emit()
	}
	return w.w.Flush()
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
