package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/valyala/fastjson"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
)

// Engine evaluates events and delivers the alerts they raise. The pipeline
// built from the configuration implements it.
type Engine interface {
	// Alerts returns the alerts ev raises; their events are clones that may
	// be kept. An error is reported; it fails the event's message only when
	// it says it is Temporary (a state store that a retry may reach), since
	// retrying cannot fix a rule.
	Alerts(ctx context.Context, ev *event.Event) ([]*event.Alert, error)
	// Deliver routes and sends alerts, returning those that could not be
	// delivered and why. Alerts already delivered before are skipped.
	Deliver(ctx context.Context, alerts []*event.Alert) (failed []*event.Alert, err error)
}

// temporary is implemented by errors a retry may mend, such as a detector's
// state store being throttled.
type temporary interface{ Temporary() bool }

// EngineSource returns the engine for the current configuration.
type EngineSource interface {
	Engine(ctx context.Context) (Engine, error)
}

// Handler serves every trigger. It implements the aws-lambda-go Handler
// interface (Invoke) and is safe for concurrent use.
type Handler struct {
	reader  *ingest.Reader
	engines EngineSource
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time
	// flushAt bounds the alerts held before delivery, so a file in which
	// every record alerts does not hold them all.
	flushAt int
}

// HandlerOptions configure a Handler.
type HandlerOptions struct {
	Reader  *ingest.Reader
	Engines EngineSource
	Logger  *slog.Logger
	// Metrics receives one CloudWatch embedded-metric line per invocation;
	// nil disables them.
	Metrics *Metrics
	Now     func() time.Time
}

// NewHandler returns a Handler.
func NewHandler(o HandlerOptions) *Handler {
	h := &Handler{reader: o.Reader, engines: o.Engines, log: o.Logger, metrics: o.Metrics, now: o.Now, flushAt: 1000}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h
}

// Counts summarise one invocation.
type Counts struct {
	Events, Alerts, Skipped, RecordErrors, RuleErrors, FailedDeliveries, FailedMessages int
}

// invocation is the state of one Invoke call.
type invocation struct {
	h       *Handler
	engine  Engine
	sqs     bool
	failed  map[string]bool // SQS message ids to report
	errs    []error         // failures outside SQS messages
	pending []*event.Alert
	counts  Counts
}

// Invoke handles one Lambda payload.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	start := h.now()
	engine, err := h.engines.Engine(ctx)
	if err != nil {
		h.log.ErrorContext(ctx, "config_unavailable", "error", err)
		return nil, fmt.Errorf("trailwatch has no usable configuration: %w", err)
	}
	inv := &invocation{h: h, engine: engine, sqs: isSQS(payload), failed: map[string]bool{}}
	for ev, err := range h.reader.Payload(ctx, "payload", payload) {
		if err != nil {
			inv.inputProblem(ctx, err)
			continue
		}
		inv.counts.Events++
		alerts, err := engine.Alerts(ctx, ev)
		if err != nil {
			inv.counts.RuleErrors++
			h.log.ErrorContext(ctx, "rule_failed", "event_id", ev.ID(), "origin", ev.Origin().String(), "error", err)
			var t temporary
			if errors.As(err, &t) && t.Temporary() {
				// A failure a retry can mend (state store throttled):
				// the message is retried rather than its alert lost.
				inv.fail(ev.Origin().MessageID, err)
			}
		}
		inv.counts.Alerts += len(alerts)
		inv.pending = append(inv.pending, alerts...)
		if len(inv.pending) >= h.flushAt {
			inv.deliver(ctx)
		}
	}
	inv.deliver(ctx)
	inv.counts.FailedMessages = len(inv.failed)

	h.log.InfoContext(ctx, "invocation_done",
		"events", inv.counts.Events, "alerts", inv.counts.Alerts, "skipped", inv.counts.Skipped,
		"record_errors", inv.counts.RecordErrors, "rule_errors", inv.counts.RuleErrors,
		"failed_deliveries", inv.counts.FailedDeliveries, "failed_messages", inv.counts.FailedMessages,
		"duration_ms", h.now().Sub(start).Milliseconds())
	if h.metrics != nil {
		h.metrics.Emit(inv.counts, h.now().Sub(start))
	}

	if inv.sqs {
		if len(inv.errs) > 0 {
			// Failures no message can be blamed for: fail the batch.
			return nil, errors.Join(inv.errs...)
		}
		return json.Marshal(batchResponse(inv.failed))
	}
	// Outside SQS every failure is in errs: fail blames messages only
	// when it can report them in a batch response.
	if len(inv.errs) > 0 {
		return nil, errors.Join(inv.errs...)
	}
	return nil, nil
}

// inputProblem records a skipped input or an unreadable record.
func (inv *invocation) inputProblem(ctx context.Context, err error) {
	log := inv.h.log
	var skip *ingest.SkipError
	var rec *ingest.RecordError
	var in *ingest.InputError
	switch {
	case errors.As(err, &skip):
		inv.counts.Skipped++
		log.InfoContext(ctx, "input_skipped", "input", skip.Input, "index", skip.Index, "message_id", skip.MessageID, "reason", skip.Reason)
	case errors.As(err, &rec):
		inv.counts.RecordErrors++
		log.ErrorContext(ctx, "record_unreadable", "input", rec.Input, "index", rec.Index, "message_id", rec.MessageID, "error", rec.Err)
		inv.fail(rec.MessageID, err)
	case errors.As(err, &in):
		inv.counts.RecordErrors++
		log.ErrorContext(ctx, "input_unreadable", "input", in.Input, "message_id", in.MessageID, "error", in.Err)
		inv.fail(in.MessageID, err)
	default:
		inv.counts.RecordErrors++
		log.ErrorContext(ctx, "input_unreadable", "error", err)
		inv.fail("", err)
	}
}

// fail blames msgID when there is one, else the whole invocation.
func (inv *invocation) fail(msgID string, err error) {
	if inv.sqs && msgID != "" {
		inv.failed[msgID] = true
		return
	}
	inv.errs = append(inv.errs, err)
}

// deliver sends the pending alerts and blames failures on their messages.
func (inv *invocation) deliver(ctx context.Context) {
	if len(inv.pending) == 0 {
		return
	}
	alerts := inv.pending
	inv.pending = nil
	failed, err := inv.engine.Deliver(ctx, alerts)
	if err == nil && len(failed) == 0 {
		return
	}
	if len(failed) == 0 {
		// The engine failed without naming alerts: all of them are in doubt.
		failed = alerts
	}
	inv.counts.FailedDeliveries += len(failed)
	inv.h.log.ErrorContext(ctx, "delivery_failed", "alerts", len(failed), "error", err)
	if err == nil {
		err = fmt.Errorf("%d alerts were not delivered", len(failed))
	}
	blamed := false
	for _, a := range failed {
		if id := a.Event.Origin().MessageID; inv.sqs && id != "" {
			inv.failed[id] = true
			continue
		}
		blamed = true
	}
	if blamed {
		inv.errs = append(inv.errs, err)
	}
}

func batchResponse(failed map[string]bool) events.SQSEventResponse {
	ids := make([]string, 0, len(failed))
	for id := range failed {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	resp := events.SQSEventResponse{BatchItemFailures: make([]events.SQSBatchItemFailure, 0, len(ids))}
	for _, id := range ids {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
	}
	return resp
}

// isSQS reports whether payload is a Lambda SQS event.
func isSQS(payload []byte) bool {
	var p fastjson.Parser
	v, err := p.ParseBytes(payload)
	if err != nil {
		return false
	}
	recs := v.GetArray("Records")
	return len(recs) > 0 && string(recs[0].GetStringBytes("eventSource")) == "aws:sqs"
}

// Metrics writes CloudWatch embedded-metric-format lines, one per
// invocation, which CloudWatch turns into metrics without API calls.
type Metrics struct {
	w        io.Writer
	function string
	now      func() time.Time
}

// NewMetrics returns a Metrics writing to w (the function's stdout).
func NewMetrics(w io.Writer, function string, now func() time.Time) *Metrics {
	if now == nil {
		now = time.Now
	}
	return &Metrics{w: w, function: function, now: now}
}

// Emit writes one line.
func (m *Metrics) Emit(c Counts, d time.Duration) {
	names := []string{"Events", "Alerts", "SkippedInputs", "RecordErrors", "RuleErrors", "FailedDeliveries", "FailedMessages"}
	defs := make([]map[string]string, 0, len(names)+1)
	for _, n := range names {
		defs = append(defs, map[string]string{"Name": n, "Unit": "Count"})
	}
	defs = append(defs, map[string]string{"Name": "Duration", "Unit": "Milliseconds"})
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": m.now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  "trailwatch",
				"Dimensions": [][]string{{"Function"}},
				"Metrics":    defs,
			}},
		},
		"Function":         m.function,
		"Events":           c.Events,
		"Alerts":           c.Alerts,
		"SkippedInputs":    c.Skipped,
		"RecordErrors":     c.RecordErrors,
		"RuleErrors":       c.RuleErrors,
		"FailedDeliveries": c.FailedDeliveries,
		"FailedMessages":   c.FailedMessages,
		"Duration":         d.Milliseconds(),
	}
	b, _ := json.Marshal(line)
	m.w.Write(append(b, '\n'))
}
