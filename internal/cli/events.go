package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
)

func newEventsCmd() *cobra.Command {
	var (
		format, tz string
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

Skipped inputs and bad records are reported on standard error, followed by a
summary line. The exit status is 1 when an input could not be read at all.`,
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
			l := &eventLister{
				in:     in,
				errw:   in.errw(cmd.ErrOrStderr()),
				out:    newEventWriter(cmd.OutOrStdout(), format, loc),
				inputs: map[string]bool{},
			}
			runErr := l.run(cmd, args)
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
	return cmd
}

// eventLister prints the events of its inputs and counts what it saw.
type eventLister struct {
	in   *inputs
	errw io.Writer
	out  *eventWriter

	events, skipped, errors, inputErrors int
	inputs                               map[string]bool
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
			if err := l.out.write(ev); err != nil {
				return fmt.Errorf("cannot write events: %w", err)
			}
			if arg == "-" {
				// Standard input may be a live feed: show each event now.
				if err := l.out.flush(); err != nil {
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

// eventWriter prints events as an aligned table or as JSON lines.
type eventWriter struct {
	w      *bufio.Writer
	enc    *json.Encoder // nil for the table
	loc    *time.Location
	header bool
}

func newEventWriter(w io.Writer, format string, loc *time.Location) *eventWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	ew := &eventWriter{w: bw, loc: loc}
	if format == "json" {
		ew.enc = json.NewEncoder(bw)
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

// eventColumn is a table column; width 0 (the last column) is not padded.
type eventColumn struct {
	title string
	width int
}

func eventColumns() [7]eventColumn {
	return [...]eventColumn{
		{"TIME", 23}, {"EVENT", 32}, {"PRINCIPAL", 40}, {"SOURCE IP", 15}, {"REGION", 14}, {"ACCOUNT", 12}, {"RESULT", 0},
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
	if !w.header {
		w.header = true
		cols := eventColumns()
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = c.title
		}
		w.row(cells)
	}
	tm := "-"
	if t := ev.Time(); !t.IsZero() {
		tm = t.In(w.loc).Format("2006-01-02 15:04:05 MST")
	}
	result := ev.ErrorCode()
	if result == "" {
		result = ev.LoginResult()
	}
	if result == "" {
		result = "ok"
	}
	return w.row([]string{tm, ev.Name(), p.String(), ev.SourceIP(), ev.Region(), ev.Account(), result})
}

// row writes cells padded to the column widths. Cells hold attacker-chosen
// text: control characters are escaped and over-long cells shortened, so
// one event is always one line.
func (w *eventWriter) row(cells []string) error {
	cols := eventColumns()
	for i, c := range cells {
		c = clean(c)
		if c == "" {
			c = "-"
		}
		width := cols[i].width
		if width == 0 {
			w.w.WriteString(c)
			break
		}
		n := utf8.RuneCountInString(c)
		if n > width && (i == 1 || i == 2) {
			c = string([]rune(c)[:width-1]) + "…"
			n = width
		}
		w.w.WriteString(c)
		w.w.WriteString(strings.Repeat(" ", max(width-n, 0)+2))
	}
	return w.w.WriteByte('\n')
}

func (w *eventWriter) flush() error { return w.w.Flush() }
