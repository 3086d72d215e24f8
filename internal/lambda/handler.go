package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
)

// Engine evaluates events and delivers the alerts they raise. The pipeline
// built from the configuration implements it (see pipelineEngine), and
// Scoper too: an engine that does has each message's events evaluated
// through a Scope of their own.
type Engine interface {
	// Alerts returns the alerts ev raises; their events are clones that may
	// be kept. An error is reported; it fails the event's message only when
	// it says it is Temporary (a state store that a retry may reach), since
	// retrying cannot fix a rule.
	Alerts(ctx context.Context, ev *event.Event) ([]*event.Alert, error)
	// NewBatch returns an empty Batch to collect alerts into.
	NewBatch() Batch
}

// Batch collects the alerts of an invocation for one delivery, so that a
// group is one message however many alerts it holds, while holding little
// of each (*pipeline.Batch).
type Batch interface {
	// Add routes alerts into the batch.
	Add(alerts ...*event.Alert)
	// Len returns how many alerts were added; Bytes about how much memory
	// the batch holds.
	Len() int
	Bytes() int
	// Deliver sends the batch and returns where the alerts that were not
	// delivered came from, with why. Alerts delivered before are skipped.
	Deliver(ctx context.Context) (failed []event.Origin, err error)
}

// Scoper is implemented by engines that evaluate the events of one message
// together: their state read and written in batches, and once the state
// store has failed, failing at once (*pipeline.Scope).
type Scoper interface {
	Scope() Scope
}

// Scope evaluates the events of one message.
type Scope interface {
	// Alerts is Engine.Alerts within the message.
	Alerts(ctx context.Context, ev *event.Event) ([]*event.Alert, error)
	// End ends the message: the state its events changed is written. An
	// error fails the message (a retry may succeed).
	End(ctx context.Context) error
}

// evaluator is what reads a message's events: a Scope, or the Engine.
type evaluator interface {
	Alerts(ctx context.Context, ev *event.Event) ([]*event.Alert, error)
}

// temporary is implemented by errors a retry may mend, such as a detector's
// state store being throttled.
type temporary interface{ Temporary() bool }

// refusal is implemented by ingest errors that refuse input on purpose, as
// hostile or too costly to read (too complex, too many records), rather
// than finding it unreadable. Refusal returns the reason, a phrase.
type refusal interface{ Refusal() string }

// EngineSource returns the engine for the current configuration.
type EngineSource interface {
	Engine(ctx context.Context) (Engine, error)
}

// Defaults of HandlerOptions.
const (
	// DefaultMaxHeldBytes is how much a batch of alerts may hold before it
	// is delivered early.
	DefaultMaxHeldBytes = 16 << 20
	// DefaultAnswerReserve is the time kept before the deadline to answer.
	DefaultAnswerReserve = time.Second
	// MinDeliveryReserve and MaxDeliveryReserve bound the time kept for
	// delivery after reading: a quarter of the invocation, within them.
	MinDeliveryReserve = 4 * time.Second
	MaxDeliveryReserve = 30 * time.Second
)

// Handler serves every trigger. It implements the aws-lambda-go Handler
// interface (Invoke) and is safe for concurrent use.
type Handler struct {
	reader          *ingest.Reader
	engines         EngineSource
	log             *slog.Logger
	metrics         *Metrics
	now             func() time.Time
	maxHeld         int
	answerReserve   time.Duration
	deliveryReserve time.Duration
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
	// MaxHeldBytes bounds the alerts held before delivery; a batch that
	// grows past it is delivered at once (its groups may then become two
	// messages). 0 means DefaultMaxHeldBytes.
	MaxHeldBytes int
	// AnswerReserve is how long before the invocation's deadline every
	// stage must have stopped; the handler answers by half of it whatever
	// a stage does. 0 means DefaultAnswerReserve.
	AnswerReserve time.Duration
	// DeliveryReserve is how long before the deadline reading stops, so
	// that what was read can be delivered. 0 means a quarter of the time
	// the invocation has, within MinDeliveryReserve and MaxDeliveryReserve.
	DeliveryReserve time.Duration
}

// NewHandler returns a Handler.
func NewHandler(o HandlerOptions) *Handler {
	h := &Handler{reader: o.Reader, engines: o.Engines, log: o.Logger, metrics: o.Metrics, now: o.Now,
		maxHeld: o.MaxHeldBytes, answerReserve: o.AnswerReserve, deliveryReserve: o.DeliveryReserve}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.maxHeld <= 0 {
		h.maxHeld = DefaultMaxHeldBytes
	}
	if h.answerReserve <= 0 {
		h.answerReserve = DefaultAnswerReserve
	}
	return h
}

// Counts summarise one invocation.
type Counts struct {
	Events, Alerts, Skipped, RecordErrors, RuleErrors, FailedDeliveries, FailedMessages, RefusedInputs int
}

// message is one SQS message of the batch, or the whole payload of any
// other trigger.
type message struct {
	id       string // SQS message id; "" outside SQS
	payload  []byte // a one-message SQS event, or the payload
	read     bool   // every record was read and evaluated
	failed   bool   // reported as failed whatever else happens
	inBatch  bool   // some alert of it awaits delivery
	timedOut bool   // its last reading ran out of time
	input    string // what it was reading then (s3://bucket/key)
}

// invocation is the state of one Invoke call. The reading goroutine and the
// watchdog share it under mu; once the watchdog has answered (frozen), the
// reading goroutine's later findings change nothing.
type invocation struct {
	h      *Handler
	engine Engine
	sqs    bool

	mu     sync.Mutex
	frozen bool
	msgs   []*message
	byID   map[string]*message
	errs   []error // failures outside SQS messages
	counts Counts

	batch Batch // the reading goroutine's only
}

// Invoke handles one Lambda payload.
//
// Time. With a deadline, reading stops DeliveryReserve before it, and the
// messages of an SQS batch share the reading time: each gets an equal share
// of what is left when it starts (what one leaves unused goes to the
// rest), so one hostile message cannot starve the others; a message that
// runs out of its share is read again from the start with whatever time
// remains once every other message is done. Every stage (ingest, rules,
// detectors and their store, delivery) takes its deadline from the
// context; and should one not stop in time, the handler answers anyway
// AnswerReserve/2 before the deadline, reporting every message not
// completely handled as failed.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	start := h.now()
	engine, err := h.engines.Engine(ctx)
	if err != nil {
		h.log.ErrorContext(ctx, "config_unavailable", "error", err)
		return nil, fmt.Errorf("trailwatch has no usable configuration: %w", err)
	}
	inv := &invocation{h: h, engine: engine, byID: map[string]*message{}}
	inv.split(payload)

	dl, ok := ctx.Deadline()
	if !ok {
		inv.run(ctx, time.Time{})
		return inv.answer(ctx, start)
	}
	runCtx, cancel := context.WithDeadline(ctx, dl.Add(-h.answerReserve))
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		inv.run(runCtx, dl.Add(-h.answerReserve))
	}()
	watchdog := time.NewTimer(time.Until(dl.Add(-h.answerReserve / 2)))
	defer watchdog.Stop()
	select {
	case <-done:
	case <-watchdog.C:
		inv.mu.Lock()
		inv.frozen = true
		inv.mu.Unlock()
		h.log.ErrorContext(ctx, "invocation_overran", "consequence", "answered before the deadline; every message not completely handled is reported as failed")
	}
	return inv.answer(ctx, start)
}

// split finds the messages of an SQS batch, each re-wrapped as a
// one-message SQS event so that ingest names it; any other payload is one
// message. The batch is scanned, not parsed whole (ingest.SplitSQS), so
// what it costs is bounded by its largest record. An SQS batch that cannot
// be split (a record that is not a message, or has no id) is read as one
// message without an id: should any of it fail, the whole batch is retried.
func (inv *invocation) split(payload []byte) {
	msgs, ok, err := ingest.SplitSQS(payload)
	if !ok || err != nil {
		if err != nil {
			inv.h.log.Warn("sqs_batch_unsplit", "error", err, "consequence", "the batch is read as one message; a failure retries all of it")
		}
		inv.msgs = []*message{{payload: payload}}
		return
	}
	inv.sqs = true
	for _, sm := range msgs {
		m := &message{id: sm.ID, payload: sm.Payload}
		if inv.byID[sm.ID] != nil {
			// Two messages under one id cannot be told apart: either
			// failing fails the whole batch.
			m.id = ""
		} else {
			inv.byID[sm.ID] = m
		}
		inv.msgs = append(inv.msgs, m)
	}
}

// run reads every message, evaluates its events and delivers their
// alerts. end is when every stage must have stopped (zero: no deadline).
func (inv *invocation) run(ctx context.Context, end time.Time) {
	h := inv.h
	readBy := end
	if !end.IsZero() {
		reserve := h.deliveryReserve
		if reserve <= 0 {
			reserve = min(max(time.Until(end)/4, MinDeliveryReserve), MaxDeliveryReserve)
		}
		readBy = end.Add(-reserve)
	}
	inv.batch = inv.engine.NewBatch()

	// First pass: each message its share of the reading time.
	for i, m := range inv.msgs {
		mctx, cancel := ctx, context.CancelFunc(func() {})
		if !readBy.IsZero() {
			left := time.Until(readBy)
			if left <= 0 {
				cancel()
				break
			}
			mctx, cancel = context.WithDeadline(ctx, time.Now().Add(left/time.Duration(len(inv.msgs)-i)))
		}
		inv.read(ctx, mctx, m, false)
		cancel()
		if inv.batch.Bytes() > h.maxHeld {
			inv.deliver(ctx)
		}
	}
	// Second pass: what ran out of its share gets the time left over.
	for _, m := range inv.msgs {
		if !m.timedOut || m.failed || readBy.IsZero() || time.Until(readBy) <= 0 {
			// A message already failed (a bad record) is retried anyway.
			continue
		}
		mctx, cancel := context.WithDeadline(ctx, readBy)
		inv.read(ctx, mctx, m, true)
		cancel()
		if inv.batch.Bytes() > h.maxHeld {
			inv.deliver(ctx)
		}
	}
	for _, m := range inv.msgs {
		switch {
		case m.timedOut:
			// Out of its share, and no time was left over for it.
			inv.fail(m, errors.New("not read within its share of the invocation's time"))
			inv.refuse(ctx, m, m.input, "not read within its share of the invocation's time")
		case !m.read && !m.failed:
			inv.fail(m, errors.New("not read: the invocation ran out of time"))
		}
	}
	inv.deliver(ctx)
}

// read reads one message within mctx (ctx is the invocation's). A message
// whose reading ends early for a failure a retry may mend (its detectors'
// store) is failed at the first such failure, without reading on. One that
// runs out of time is marked timedOut on its first reading, and failed
// (and reported to the security team as refused) on its second.
func (inv *invocation) read(ctx, mctx context.Context, m *message, again bool) {
	h := inv.h
	m.timedOut = false
	var eval evaluator = inv.engine
	if sc, ok := inv.engine.(Scoper); ok {
		scope := sc.Scope()
		eval = scope
		defer func() {
			// With the invocation's context: what was counted is worth
			// writing even when the message ran out of its share.
			if err := scope.End(ctx); err != nil {
				h.log.ErrorContext(ctx, "state_not_written", "message_id", m.id, "error", err)
				inv.fail(m, err)
			}
		}()
	}
	var stopped error
	var refusedInput string
	for ev, err := range h.reader.Payload(mctx, "payload", m.payload) {
		if err != nil {
			if mctx.Err() != nil && errors.Is(err, mctx.Err()) {
				stopped = err
				var in *ingest.InputError
				if errors.As(err, &in) {
					refusedInput = in.Input
				}
				break
			}
			inv.inputProblem(ctx, m, err)
			continue
		}
		inv.count(func(c *Counts) { c.Events++ })
		alerts, err := eval.Alerts(mctx, ev)
		if len(alerts) > 0 {
			inv.batch.Add(alerts...)
			inv.mark(func() { m.inBatch = true })
			inv.count(func(c *Counts) { c.Alerts += len(alerts) })
		}
		if err != nil {
			// A temporary failure (the detectors' store) fails the message
			// at once; a bare end of its context (context.DeadlineExceeded
			// says Temporary too) means it ran out of time.
			var t temporary
			isTemp := errors.As(err, &t) && t.Temporary() && any(t) != any(context.DeadlineExceeded)
			if mctx.Err() != nil && !isTemp {
				stopped = err
				break
			}
			inv.count(func(c *Counts) { c.RuleErrors++ })
			h.log.ErrorContext(ctx, "rule_failed", "event_id", ev.ID(), "origin", ev.Origin().String(), "error", err)
			if isTemp {
				// A failure a retry can mend (state store throttled or
				// unreachable): the message is retried rather than its
				// alert lost, and the rest of it is left for that retry
				// instead of hammering the store.
				inv.fail(m, err)
				return
			}
		}
	}
	if stopped == nil && mctx.Err() != nil {
		stopped = mctx.Err()
	}
	if stopped == nil {
		inv.mark(func() { m.read = true })
		return
	}
	if refusedInput == "" {
		refusedInput = "payload"
	}
	m.timedOut, m.input = true, refusedInput
	if !again {
		h.log.WarnContext(ctx, "message_out_of_time", "message_id", m.id, "input", refusedInput, "error", stopped,
			"consequence", "read again if time is left once the other messages are done")
	}
}

// inputProblem records a skipped input or an unreadable record.
func (inv *invocation) inputProblem(ctx context.Context, m *message, err error) {
	log := inv.h.log
	var skip *ingest.SkipError
	var rec *ingest.RecordError
	var in *ingest.InputError
	var r refusal
	switch {
	case errors.As(err, &skip):
		inv.count(func(c *Counts) { c.Skipped++ })
		log.InfoContext(ctx, "input_skipped", "input", skip.Input, "index", skip.Index, "message_id", skip.MessageID, "reason", skip.Reason)
		return
	case errors.As(err, &rec):
		log.ErrorContext(ctx, "record_unreadable", "input", rec.Input, "index", rec.Index, "message_id", rec.MessageID, "error", rec.Err)
		if errors.As(err, &r) {
			inv.refuse(ctx, m, rec.Input, r.Refusal())
		}
	case errors.As(err, &in):
		log.ErrorContext(ctx, "input_unreadable", "input", in.Input, "message_id", in.MessageID, "error", in.Err)
		if errors.As(err, &r) {
			inv.refuse(ctx, m, in.Input, r.Refusal())
		}
	default:
		log.ErrorContext(ctx, "input_unreadable", "error", err)
	}
	inv.count(func(c *Counts) { c.RecordErrors++ })
	inv.fail(m, err)
}

// InputRefusedRuleID is the rule id of the alert trailwatch raises when it
// refuses input: too costly to read in time, or refused by ingest as hostile
// (too complex, too many records). The security team should know: whoever
// can write to the log bucket or the queue may be trying to blind it.
const InputRefusedRuleID = "trailwatch-input-refused"

// refuse raises the input-refused alert for input, read from m.
func (inv *invocation) refuse(ctx context.Context, m *message, input, reason string) {
	inv.count(func(c *Counts) { c.RefusedInputs++ })
	inv.h.log.WarnContext(ctx, "input_refused", "input", input, "message_id", m.id, "reason", reason)
	facts := map[string]string{"input": input, "reason": reason}
	origin := event.Origin{Input: input, Path: "payload", MessageID: m.id}
	if m.id != "" {
		facts["message_id"] = m.id
		origin.Path = "sqs"
	}
	a := event.SelfAlert(event.RuleInfo{
		ID:       InputRefusedRuleID,
		Title:    "trailwatch refused input",
		Severity: event.SeverityHigh,
		Description: "trailwatch could not read this input: it was too costly to read in time, or built to be (too complex, too many records). " +
			"Whoever can write to the trail's bucket or the queue can send such input to hide events among it. " +
			"Find who wrote the object or message; the input is retried and, if it keeps failing, lands in the dead-letter queue.",
		Tags: []string{"trailwatch", "self"},
		Locales: map[string]event.LocalText{"ja": {
			Title:       "trailwatch が入力を拒否しました",
			Description: "この入力を読めませんでした。時間内に読めないほど重いか、そのように作られた入力です（複雑すぎる、レコードが多すぎる）。トレイルのバケットやキューに書き込める者は、このような入力でイベントを隠せます。オブジェクトやメッセージを書いた者を確認してください。入力は再試行され、失敗が続けばデッドレターキューに入ります。",
		}},
	}, "InputRefused", inv.h.now(), facts, origin)
	a.Summary = fmt.Sprintf("Refused %s: %s", input, reason)
	a.Summaries = map[string]string{"ja": fmt.Sprintf("%s を拒否しました: %s", input, reason)}
	inv.batch.Add(a)
	inv.mark(func() { m.inBatch = true })
}

func (inv *invocation) mark(f func()) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if !inv.frozen {
		f()
	}
}

func (inv *invocation) count(f func(*Counts)) {
	inv.mark(func() { f(&inv.counts) })
}

// fail reports m as failed; outside SQS (or for a message without an id)
// the failure fails the invocation.
func (inv *invocation) fail(m *message, err error) {
	inv.mark(func() {
		m.failed = true
		if !inv.sqs || m.id == "" {
			inv.errs = append(inv.errs, err)
		}
	})
}

// deliver sends the batch and blames failures on their messages; every
// message with alerts in it is then settled either way.
func (inv *invocation) deliver(ctx context.Context) {
	b := inv.batch
	inv.batch = inv.engine.NewBatch()
	if b.Len() == 0 {
		return
	}
	failed, err := b.Deliver(ctx)
	inv.mark(func() {
		defer func() {
			for _, m := range inv.msgs {
				m.inBatch = false
			}
		}()
		if err == nil && len(failed) == 0 {
			return
		}
		inv.counts.FailedDeliveries += max(len(failed), 1)
		inv.h.log.ErrorContext(ctx, "delivery_failed", "inputs", len(failed), "error", err)
		if err == nil {
			err = fmt.Errorf("alerts from %d inputs were not delivered", len(failed))
		}
		blamed := false
		for _, o := range failed {
			if m := inv.byID[o.MessageID]; inv.sqs && m != nil {
				m.failed = true
				continue
			}
			blamed = true
		}
		if len(failed) == 0 {
			// The failure names no input: every message with alerts in the
			// batch is in doubt.
			for _, m := range inv.msgs {
				if m.inBatch {
					m.failed = true
					blamed = blamed || !inv.sqs || m.id == ""
				}
			}
		}
		if blamed {
			inv.errs = append(inv.errs, err)
		}
	})
}

// answer logs the invocation, emits its metrics and builds the reply: for
// SQS a partial batch response naming every message not completely handled
// (not read, read in part, alerts not delivered); otherwise an error when
// anything failed.
func (inv *invocation) answer(ctx context.Context, start time.Time) ([]byte, error) {
	h := inv.h
	inv.mu.Lock()
	inv.frozen = true
	var failed []string
	whole := len(inv.errs) > 0
	for _, m := range inv.msgs {
		if m.read && !m.failed && !m.inBatch {
			continue
		}
		if m.id == "" {
			whole = true
			continue
		}
		failed = append(failed, m.id)
	}
	errs := slices.Clone(inv.errs)
	c := inv.counts
	inv.mu.Unlock()
	c.FailedMessages = len(failed)

	h.log.InfoContext(ctx, "invocation_done",
		"events", c.Events, "alerts", c.Alerts, "skipped", c.Skipped,
		"record_errors", c.RecordErrors, "rule_errors", c.RuleErrors,
		"failed_deliveries", c.FailedDeliveries, "failed_messages", c.FailedMessages,
		"refused_inputs", c.RefusedInputs, "duration_ms", h.now().Sub(start).Milliseconds())
	if h.metrics != nil {
		h.metrics.Emit(c, h.now().Sub(start))
	}

	if inv.sqs {
		if whole {
			// A message without an id cannot be named: fail them all.
			failed = failed[:0]
			for _, m := range inv.msgs {
				if m.id != "" {
					failed = append(failed, m.id)
				}
			}
			h.log.ErrorContext(ctx, "batch_failed", "error", errors.Join(errs...), "consequence", "every message of the batch is reported as failed")
		}
		return json.Marshal(batchResponse(failed))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(failed) > 0 || whole {
		return nil, errors.New("the payload was not completely handled in time")
	}
	return nil, nil
}

func batchResponse(failed []string) events.SQSEventResponse {
	ids := slices.Clone(failed)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	resp := events.SQSEventResponse{BatchItemFailures: make([]events.SQSBatchItemFailure, 0, len(ids))}
	for _, id := range ids {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
	}
	return resp
}
