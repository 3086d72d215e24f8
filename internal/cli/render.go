package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fold"
	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/rule"
)

// renderOptions are the flags of `trailwatch render`.
type renderOptions struct {
	rules     ruleFlags
	eventFile string
	index     int
	kinds     []string
	locale    string
	tz        string
	accounts  []string
	templates []string
	channel   string
	count     int
	maxAlerts int
	pretty    bool
	raw       bool
	config    string

	ruleID, severity, title, summary string
}

func newRenderCmd() *cobra.Command {
	var o renderOptions
	cmd := &cobra.Command{
		Use:   "render --event FILE",
		Short: "Print the message each receiver would send for an event, without sending it",
		Long: `Run the rules over one CloudTrail event and print the message each receiver
kind would send, as the person receiving it reads it: the Slack message laid
out as Slack shows it (mention, colour, fields, button), the Teams card, the
email's subject and text, the SNS subject, attributes and text, the webhook
document's headline. The rules that fire on the event travel in one message,
as they are delivered. --raw prints the exact payloads instead: the Slack and
Teams JSON, the webhook document, the SNS message, subject and attributes,
the email subject, text and HTML, and the stdout line. Nothing is sent.

--event names a file holding the event in any shape "check" reads: one
record, a log file (gzip or not), JSON Lines, an EventBridge event, an SNS or
SQS message, a CloudWatch Logs subscription payload. When it holds several
events, --index picks one. The built-in packs run by default; --packs and --rules
choose rules as for "check". --rule-id (with --severity, --title, --summary)
skips the rules and renders one alert of that description instead, to preview
a message for any event. --count previews a group: the alert stands for that
many, as when a burst is throttled into one message.

With --config, the configuration decides everything: its rules and
detectors, its routes, and its receivers' locale, time zone, templates and
mentions; --receiver then names receivers of the configuration, and each
message is printed as that receiver would send it. No secret is resolved.

With --raw, JSON bodies are indented for reading; --pretty=false prints them
byte for byte as they would be sent.`,
		Example: `  trailwatch render --event login.json
  trailwatch render --event login.json --receiver slack --locale ja --timezone Asia/Tokyo
  trailwatch render --event denied.json --rule-id access-denied --severity high --count 300
  trailwatch render --event login.json --template email.subject=subject.tmpl --account-name 111122223333=prod
  trailwatch render --config trailwatch.yaml --event login.json --receiver slack-root`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRender(cmd, &o)
		},
	}
	f := cmd.Flags()
	o.rules.register(cmd)
	f.StringVar(&o.eventFile, "event", "", "file holding the CloudTrail event, in any shape check reads (required)")
	f.IntVar(&o.index, "index", -1, "when --event holds several events, the one to render (0-based, in the order read)")
	f.StringSliceVar(&o.kinds, "receiver", nil, "receiver kinds to render, comma-separated: "+strings.Join(render.Kinds(), ", ")+" (default all); with --config, receiver names")
	f.StringVar(&o.config, "config", "", "render as the receivers of this configuration file would")
	f.StringVar(&o.locale, "locale", "en", "message language: en or ja")
	f.StringVar(&o.tz, "timezone", "UTC", `time zone for times in messages, such as "Asia/Tokyo" or "Local"`)
	f.StringArrayVar(&o.accounts, "account-name", nil, "an account alias as ID=NAME (repeatable)")
	f.StringArrayVar(&o.templates, "template", nil, "a user template as FIELD=FILE, such as slack.title=title.tmpl (repeatable)")
	f.StringVar(&o.channel, "channel", "", "channel written into the slackbot body")
	f.IntVar(&o.count, "count", 1, "number of alerts the group stands for")
	f.IntVar(&o.maxAlerts, "max-alerts", 0, fmt.Sprintf("alerts of a group a message shows (default %d)", render.DefaultMaxAlerts))
	f.BoolVar(&o.pretty, "pretty", true, "indent JSON bodies (with --raw)")
	f.BoolVar(&o.raw, "raw", false, "print the exact payloads instead of the messages as a person reads them")
	f.StringVar(&o.ruleID, "rule-id", "", "render one alert with this rule id instead of running the rules")
	f.StringVar(&o.severity, "severity", "medium", "severity of the --rule-id alert")
	f.StringVar(&o.title, "title", "", "title of the --rule-id alert (default the rule id)")
	f.StringVar(&o.summary, "summary", "", "summary of the --rule-id alert")
	return cmd
}

func runRender(cmd *cobra.Command, o *renderOptions) error {
	if o.eventFile == "" {
		return fmt.Errorf("--event is required: name a file holding one CloudTrail event")
	}
	if o.config != "" {
		return renderWithConfig(cmd, o)
	}
	kinds, err := renderKinds(o.kinds)
	if err != nil {
		return err
	}
	if o.count < 1 {
		return fmt.Errorf("--count is %d; it must be at least 1", o.count)
	}
	loc, err := time.LoadLocation(o.tz)
	if err != nil {
		return fmt.Errorf("--timezone %q: %w", o.tz, err)
	}
	opts := render.Options{
		Locale:       o.locale,
		Location:     loc,
		AccountNames: map[string]string{},
		Templates:    map[string]string{},
		MaxAlerts:    o.maxAlerts,
	}
	for _, a := range o.accounts {
		id, name, ok := strings.Cut(a, "=")
		if !ok || id == "" || name == "" {
			return fmt.Errorf("--account-name %q: want ID=NAME, such as 111122223333=prod", a)
		}
		opts.AccountNames[id] = name
	}
	for _, t := range o.templates {
		field, file, ok := strings.Cut(t, "=")
		if !ok || field == "" || file == "" {
			return fmt.Errorf("--template %q: want FIELD=FILE, such as slack.title=title.tmpl", t)
		}
		src, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("--template %s: %w", field, err)
		}
		opts.Templates[field] = string(src)
	}
	const receiver = "preview"
	if o.channel != "" {
		opts.SlackChannels = map[string]string{receiver: o.channel}
	}
	r, err := render.New(opts)
	if err != nil {
		return err
	}

	ev, err := readRenderEvent(cmd.Context(), o.eventFile, o.index)
	if err != nil {
		return err
	}
	alerts, err := renderAlerts(cmd, o, ev)
	if err != nil {
		return err
	}

	out := cmd.OutOrStdout()
	headers := len(alerts)*len(kinds) > 1
	for _, a := range alerts {
		g := &render.Group{
			Key:      receiver + "/" + a.Rule.ID,
			Receiver: receiver,
			Alerts:   []*event.Alert{a},
			Count:    o.count,
			Labels:   map[string]string{"rule": a.Rule.ID},
		}
		for _, kind := range kinds {
			p, err := r.Render(kind, receiver, g)
			if err != nil {
				return fmt.Errorf("rule %s: %w", a.Rule.ID, err)
			}
			if headers {
				fmt.Fprintf(out, "==> %s (rule %s) <==\n", kind, a.Rule.ID)
			}
			if err := printPayload(out, p, o.raw, o.pretty); err != nil {
				return err
			}
			if headers {
				fmt.Fprintln(out)
			}
		}
	}
	return nil
}

// renderWithConfig renders the event as the configuration's pipeline would
// deliver it, for the receivers named by --receiver (default all).
func renderWithConfig(cmd *cobra.Command, o *renderOptions) error {
	var ignored []string
	for _, f := range []string{"packs", "rules", "rule-id", "severity", "title", "summary", "locale", "timezone",
		"account-name", "template", "channel", "count", "max-alerts"} {
		if cmd.Flags().Changed(f) {
			ignored = append(ignored, "--"+f)
		}
	}
	if len(ignored) > 0 {
		return fmt.Errorf("with --config, the configuration decides rules, locale, time zone, templates and the rest; drop %s", strings.Join(ignored, ", "))
	}
	ctx := cmd.Context()
	p, err := newPipeline(ctx, o.config, true, nil, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	defer p.Close()
	for _, name := range o.kinds {
		if p.Config().ReceiverByName(name) == nil {
			return fmt.Errorf("--receiver %q: %s has no receiver of that name", name, o.config)
		}
	}
	ev, err := readRenderEvent(cmd.Context(), o.eventFile, o.index)
	if err != nil {
		return err
	}
	alerts, err := p.PreviewAlerts(ctx, ev)
	if err != nil {
		return err
	}
	if len(alerts) == 0 {
		return fmt.Errorf("no rule or detector fired on %s in %s", ev.Name(), o.eventFile)
	}
	msgs, err := p.Preview(ctx, alerts)
	if err != nil {
		return err
	}
	out, shown := cmd.OutOrStdout(), 0
	for _, m := range msgs {
		if len(o.kinds) > 0 && !slices.Contains(o.kinds, m.Payload.Receiver) {
			continue
		}
		writeMessage(out, m, o.raw, o.pretty)
		shown++
	}
	if shown == 0 {
		return fmt.Errorf("the alerts on %s reach none of the receivers asked for (try trailwatch route test)", o.eventFile)
	}
	return nil
}

// renderKinds checks --receiver; none means every kind.
func renderKinds(kinds []string) ([]string, error) {
	if len(kinds) == 0 {
		return render.Kinds(), nil
	}
	known := map[string]bool{}
	for _, k := range render.Kinds() {
		known[k] = true
	}
	for _, k := range kinds {
		if !known[k] {
			return nil, fmt.Errorf("--receiver %q: unknown receiver kind (want %s)", k, strings.Join(render.Kinds(), ", "))
		}
	}
	return kinds, nil
}

// readRenderEvent reads the CloudTrail event to render from file, in any
// shape check reads: one record, a log file ({"Records": [...]}, gzip or
// not), JSON Lines, an EventBridge event, an SNS or SQS message, a
// CloudWatch Logs subscription payload, an S3 notification (whose objects
// are fetched). The file must hold one event, or index (0-based, in the
// order read; -1 when not given) picks one.
func readRenderEvent(ctx context.Context, file string, index int) (*event.Event, error) {
	r := ingest.New(ingest.Options{Fetcher: &lazyS3Fetcher{}})
	var (
		picked  *event.Event
		n       int
		skipped []string
	)
	for ev, err := range r.Paths(ctx, []string{file}) {
		if err != nil {
			var skip *ingest.SkipError
			if errors.As(err, &skip) {
				skipped = append(skipped, skip.Reason)
				continue
			}
			return nil, fmt.Errorf("--event: %w", err)
		}
		if n == index || (index < 0 && n == 0) {
			picked = ev.Clone()
		}
		n++
	}
	switch {
	case n == 0 && len(skipped) > 0:
		return nil, fmt.Errorf("--event %s holds no CloudTrail event (skipped: %s)", file, strings.Join(skipped, "; "))
	case n == 0:
		return nil, fmt.Errorf("--event %s holds no CloudTrail event", file)
	case index < 0 && n > 1:
		return nil, fmt.Errorf("--event %s holds %d events; pick one with --index 0 to %d, or run \"trailwatch check\" over the whole file", file, n, n-1)
	case index >= n:
		return nil, fmt.Errorf("--index %d: %s holds %d events (0 to %d)", index, file, n, n-1)
	}
	if picked.Name() == "" && !picked.Kind().Finding() {
		return nil, fmt.Errorf("--event %s: the record has no eventName; is it a CloudTrail event?", file)
	}
	return picked, nil
}

// renderAlerts returns the alerts to preview: one described by --rule-id,
// or those the rules raise on ev.
func renderAlerts(cmd *cobra.Command, o *renderOptions, ev *event.Event) ([]*event.Alert, error) {
	if o.ruleID != "" {
		sev, err := event.ParseSeverity(o.severity)
		if err != nil {
			return nil, fmt.Errorf("--severity: %w", err)
		}
		title := o.title
		if title == "" {
			title = o.ruleID
		}
		return []*event.Alert{{
			Rule:    event.RuleInfo{ID: o.ruleID, Title: title, Severity: sev},
			Event:   ev,
			Summary: o.summary,
		}}, nil
	}
	for _, name := range []string{"severity", "title", "summary"} {
		if cmd.Flags().Changed(name) {
			return nil, fmt.Errorf("--%s describes a --rule-id alert; give --rule-id too, or leave it out to run the rules", name)
		}
	}
	rs, err := o.rules.loadToRun()
	if err != nil {
		return nil, err
	}
	set, err := rule.NewSet(rs...)
	if err != nil {
		return nil, err
	}
	// A preview of one event shows a rule with a threshold as the message
	// it sends once its count is reached; a finding event, its findings.
	alerts, err := statelessAlerts(cmd.Context(), set.WithoutThresholds(), ev)
	if err != nil {
		// Rule failures still leave the other alerts; say what failed.
		fmt.Fprintln(cmd.ErrOrStderr(), "trailwatch: warning:", err)
	}
	if len(alerts) == 0 {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("no rule matched %s in %s (%d rules loaded); pass --rule-id and --severity to preview a message for it anyway", ev.Name(), o.eventFile, set.Len())
	}
	// The rules of one event travel in one message, as they are sent.
	return []*event.Alert{fold.New(fold.Options{Rules: rs}).Fold(alerts)}, nil
}

// writePayload prints p: the body for JSON kinds, the parts for email, and
// subject, attributes, message and text for SNS.
func writePayload(w io.Writer, p *render.Payload, pretty bool) error {
	body := func(b []byte) error {
		if pretty && json.Valid(b) {
			var buf bytes.Buffer
			if err := json.Indent(&buf, b, "", "  "); err != nil {
				return err
			}
			b = buf.Bytes()
		}
		_, err := w.Write(b)
		if err == nil && !bytes.HasSuffix(b, []byte("\n")) {
			_, err = io.WriteString(w, "\n")
		}
		return err
	}
	switch p.Kind {
	case render.KindEmail:
		_, err := fmt.Fprintf(w, "Subject: %s\n\n%s\n--- html ---\n%s", p.Subject, strings.TrimRight(p.Text, "\n"), p.HTML)
		return err
	case render.KindSNS:
		keys := make([]string, 0, len(p.Attributes))
		for k := range p.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(w, "Subject: %s\n", p.Subject)
		for _, k := range keys {
			fmt.Fprintf(w, "Attribute: %s=%s\n", k, p.Attributes[k])
		}
		fmt.Fprintln(w, "Message (MessageStructure=json):")
		if err := body(p.Body); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "--- text ---\n%s\n", strings.TrimRight(p.Text, "\n"))
		return err
	case render.KindStdout:
		if _, err := w.Write(p.Body); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "--- text ---\n%s\n", strings.TrimRight(p.Text, "\n"))
		return err
	}
	return body(p.Body)
}
