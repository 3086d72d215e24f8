package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/finding"
	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/textwidth"
)

func newEventsCmd() *cobra.Command {
	var (
		format, tz string
		wide       bool
		maxRecords int
		inputs     inputFlags
	)
	cmd := &cobra.Command{
		Use:   "events [PATH|-|s3://BUCKET/PREFIX|cloudtrail://REGION]...",
		Short: "Print the CloudTrail events in files, folders, S3 objects or standard input",
		Long: `events reads CloudTrail events from every kind of input trailwatch understands
and prints one line per event: log files ({"Records":[...]}, gzip or not),
single events, JSON Lines, EventBridge, SNS, SQS and CloudWatch Logs payloads,
and S3 event notifications (whose objects are fetched). A folder is read
recursively (.json, .json.gz, .jsonl, .ndjson and .gz files); "-" or no
argument reads standard input; s3://bucket/key.json.gz reads one object and
s3://bucket/prefix/ the CloudTrail log files under a prefix, with the default
AWS credentials; cloudtrail://us-east-1 (or cloudtrail://all) reads
CloudTrail's event history. --since, --until, --account and --region narrow
every input.

The table fits the terminal (long principals are shortened in the middle;
region, account and source address are left out when it is too narrow);
--wide prints every column in full, and COLUMNS sets the width. On a
terminal, a line on standard error shows how a long read is going.

Skipped inputs and bad records are reported on standard error (the first ten
of each input one by one, the rest counted in one line), followed by a
summary line. The exit status is 1 when an input could not be read at all or
was not read to its end (over --max-records, or over 1 GiB decompressed).`,
		Example: `  trailwatch events testdata/sample
  trailwatch events --format json --timezone Asia/Tokyo AWSLogs/ | jq .event_name
  aws s3 cp s3://trail/AWSLogs/.../file.json.gz - | trailwatch events -`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("unknown --format %q: use table or json", format)
			}
			loc, err := time.LoadLocation(tz)
			if err != nil {
				return fmt.Errorf("unknown --timezone %q: use an IANA zone name such as UTC or Asia/Tokyo", tz)
			}
			if len(args) == 0 {
				args = []string{"-"}
			}
			in, err := inputs.open(cmd)
			if err != nil {
				return err
			}
			in.reader = ingest.New(ingest.Options{Fetcher: &lazyS3Fetcher{}, Limits: ingest.Limits{MaxRecords: recordLimit(maxRecords)}})
			prog := newProgress(cmd.ErrOrStderr(), false)
			in.prog = prog
			stdout := cmd.OutOrStdout()
			view := outputOf(stdout, os.Getenv)
			if view.terminal {
				// Events share the terminal with the progress line.
				stdout = prog.writer(stdout)
			}
			l := &eventLister{
				in:     in,
				errw:   prog.writer(cmd.ErrOrStderr()),
				out:    newEventWriter(stdout, format, loc, view, wide),
				inputs: map[string]bool{},
				prog:   prog,
			}
			runErr := l.run(cmd, args)
			prog.clear()
			fmt.Fprintf(l.errw, "trailwatch: %s from %s, %d skipped, %s\n",
				countOf(l.events, "event"), countOf(len(l.inputs), "input"), l.skipped, countOf(l.errors, "error"))
			if runErr != nil {
				return runErr
			}
			if l.inputErrors > 0 {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, or json (one object per event per line)")
	cmd.Flags().StringVar(&tz, "timezone", "UTC", `IANA time zone for event times, such as "Asia/Tokyo"`)
	inputs.register(cmd)
	cmd.Flags().IntVar(&maxRecords, "max-records", ingest.DefaultMaxRecords, "most records read from one input (file, S3 object, message); 0 reads them all")
	cmd.Flags().BoolVar(&wide, "wide", false, "print every column of the table in full, whatever the terminal's width")
	return cmd
}

// recordLimit maps the --max-records flag onto ingest.Limits, where 0
// means the default and a negative value no limit.
func recordLimit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// eventLister prints the events of its inputs and counts what it saw.
type eventLister struct {
	in   *inputs
	errw io.Writer
	out  *eventWriter

	events, skipped, errors, inputErrors int
	inputs                               map[string]bool
	prog                                 *progress // nil when standard error is not a terminal
}

func (l *eventLister) run(cmd *cobra.Command, args []string) error {
	ctx := cmd.Context()
	for _, arg := range args {
		for ev, err := range l.in.events(ctx, arg) {
			if err != nil {
				l.report(err)
				continue
			}
			l.events++
			l.inputs[ev.Origin().Input] = true
			l.prog.event(ev.Origin().Input)
			if ev.Kind().Finding() {
				// A GuardDuty or Security Hub event: one line per finding.
				items, err := finding.Read(ev, finding.DefaultMaxFindings)
				if err != nil {
					l.report(err)
				}
				for _, it := range items {
					if err := l.out.writeFinding(it.Finding); err != nil {
						return fmt.Errorf("cannot write events: %w", err)
					}
				}
			} else if err := l.out.write(ev); err != nil {
				return fmt.Errorf("cannot write events: %w", err)
			}
			if arg == "-" {
				// Standard input may be a live feed: show each event now.
				if err := l.out.flush(); err != nil {
					return fmt.Errorf("cannot write events: %w", err)
				}
			} else if l.events%tickEvery == 0 {
				l.prog.tick()
				if err := l.out.tick(); err != nil {
					return fmt.Errorf("cannot write events: %w", err)
				}
			}
		}
		if err := l.out.flush(); err != nil {
			return fmt.Errorf("cannot write events: %w", err)
		}
	}
	return nil
}

// report prints an ingest problem on standard error and counts it.
func (l *eventLister) report(err error) {
	var (
		skip *ingest.SkipError
		rec  *ingest.RecordError
		in   *ingest.InputError
	)
	switch {
	case errors.As(err, &skip):
		l.skipped++
		l.inputs[skip.Input] = true
	case errors.As(err, &rec):
		l.errors++
		var om *ingest.OmittedError
		if errors.As(rec, &om) {
			l.errors += om.Count - 1 // the summary stands for Count errors
		}
		l.inputs[rec.Input] = true
	case errors.As(err, &in):
		l.errors++
		l.inputErrors++
		l.inputs[in.Input] = true
	default:
		l.errors++
	}
	fmt.Fprintf(l.errw, "trailwatch: %s\n", clean(err.Error()))
}

// lazyS3Fetcher loads the AWS configuration when the first S3 object is
// opened (an s3:// argument, or an S3 notification in a saved payload), so
// runs over local files never touch it.
type lazyS3Fetcher struct {
	once sync.Once
	f    *ingest.S3Fetcher
	err  error
}

func (l *lazyS3Fetcher) Open(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	l.once.Do(func() { l.f, l.err = ingest.NewDefaultS3Fetcher(ctx) })
	if l.err != nil {
		return nil, l.err
	}
	return l.f.Open(ctx, bucket, key)
}

func countOf(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// eventWriter prints events as an aligned table or as JSON lines, through
// one buffer written when it fills, when a person watching has waited a
// second, and at the end.
type eventWriter struct {
	w       *bufio.Writer
	enc     *json.Encoder // nil for the table
	table   *table
	loc     *time.Location
	now     func() time.Time
	written time.Time // when the buffer was last written out
}

func newEventWriter(w io.Writer, format string, loc *time.Location, o output, wide bool) *eventWriter {
	bw := bufio.NewWriterSize(w, outputBuffer)
	ew := &eventWriter{w: bw, loc: loc, now: time.Now}
	ew.written = ew.now()
	if format == "json" {
		ew.enc = json.NewEncoder(bw)
	} else {
		ew.table = newTable(bw, eventColumns(), o.width, wide, true)
	}
	return ew
}

// eventJSON is one line of --format json; the field order is the output's.
type eventJSON struct {
	EventID       string  `json:"event_id"`
	Time          string  `json:"time"`
	EventName     string  `json:"event_name"`
	EventSource   string  `json:"event_source"`
	EventType     string  `json:"event_type"`
	Account       string  `json:"account"`
	Region        string  `json:"region"`
	Principal     string  `json:"principal"`
	PrincipalType string  `json:"principal_type"`
	SourceIP      string  `json:"source_ip"`
	UserAgent     string  `json:"user_agent"`
	ErrorCode     string  `json:"error_code"`
	MFA           *bool   `json:"mfa"`
	LoginResult   *string `json:"login_result"`
	ReadOnly      *bool   `json:"read_only"`
	ConsoleURL    string  `json:"console_url"`
}

// eventColumns are the columns of the events table, at fixed widths so
// that each line is written as it is read. When the terminal is too
// narrow, time, principal, event and result shrink first, and region, account
// and source address go, in that order.
func eventColumns() []column {
	return []column{
		{title: "TIME", width: 23, min: 14, shrink: 0, cut: shortTime},
		{title: "EVENT", width: 32, min: 14, shrink: 2, clip: true},
		{title: "PRINCIPAL", width: 40, min: 16, shrink: 1, clip: true, cut: textwidth.CutMiddle},
		{title: "SOURCE IP", width: 15, min: 15, shrink: 8, drop: 3},
		{title: "REGION", width: 14, min: 9, shrink: 8, drop: 1},
		{title: "ACCOUNT", width: 12, min: 12, shrink: 8, drop: 2},
		{title: "RESULT", width: 16, min: 12, shrink: 4},
	}
}

func (w *eventWriter) write(ev *event.Event) error {
	p := ev.Principal()
	if w.enc != nil {
		j := eventJSON{
			EventID:       ev.ID(),
			EventName:     ev.Name(),
			EventSource:   ev.Source(),
			EventType:     ev.Type(),
			Account:       ev.Account(),
			Region:        ev.Region(),
			Principal:     p.String(),
			PrincipalType: p.Type,
			SourceIP:      ev.SourceIP(),
			UserAgent:     ev.UserAgent(),
			ErrorCode:     ev.ErrorCode(),
			ConsoleURL:    ev.ConsoleURL(),
		}
		if t := ev.Time(); !t.IsZero() {
			j.Time = t.In(w.loc).Format(time.RFC3339)
		}
		if used, known := ev.MFAUsed(); known {
			j.MFA = &used
		}
		if r := ev.LoginResult(); r != "" {
			j.LoginResult = &r
		}
		if ro, ok := ev.ReadOnly(); ok {
			j.ReadOnly = &ro
		}
		return w.enc.Encode(&j)
	}
	tm := ""
	if t := ev.Time(); !t.IsZero() {
		tm = t.In(w.loc).Format(timeLayout)
	}
	result := ev.ErrorCode()
	if result == "" {
		result = ev.LoginResult()
	}
	if result == "" {
		result = "ok"
	}
	w.table.row(tm, ev.Name(), p.String(), ev.SourceIP(), ev.Region(), ev.Account(), result)
	return nil
}

// writeFinding prints one finding of a GuardDuty or Security Hub event in
// the events' columns: GuardDuty's finding type or a Security Hub
// finding's title as the event, its principal and
// remote address, and its severity as the result. In JSON, event_source
// names the service and event_type is "GuardDutyFinding" or
// "SecurityHubFinding".
func (w *eventWriter) writeFinding(f *event.Finding) error {
	t := f.UpdatedAt
	if t.IsZero() {
		t = f.CreatedAt
	}
	if w.enc != nil {
		j := eventJSON{
			EventID:     f.ID,
			EventName:   f.Type,
			EventSource: f.Source.String() + ".amazonaws.com",
			EventType:   map[event.Kind]string{event.KindGuardDuty: "GuardDutyFinding", event.KindSecurityHub: "SecurityHubFinding"}[f.Source],
			Account:     f.Account,
			Region:      f.Region,
			Principal:   f.Principal,
			SourceIP:    f.RemoteIP,
			ConsoleURL:  f.URL,
		}
		if !t.IsZero() {
			j.Time = t.In(w.loc).Format(time.RFC3339)
		}
		return w.enc.Encode(&j)
	}
	tm := ""
	if !t.IsZero() {
		tm = t.In(w.loc).Format(timeLayout)
	}
	what := f.Type
	if f.Source == event.KindSecurityHub && f.Title != "" {
		what = f.Title
	}
	w.table.row(tm, what, f.Principal, f.RemoteIP, f.Region, f.Account, "finding "+f.Severity.String())
	return nil
}

// tick writes the buffer out when it has held rows for a second, so that
// a slow input's events show.
func (w *eventWriter) tick() error {
	if now := w.now(); now.Sub(w.written) >= flushAfter && w.w.Buffered() > 0 {
		w.written = now
		return w.w.Flush()
	}
	return nil
}

func (w *eventWriter) flush() error {
	w.written = w.now()
	return w.w.Flush()
}
