package route

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fold"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/state"
)

// Renderer builds the payload a receiver sends for a group;
// *render.Renderer and Renderers implement it. The Dispatcher calls it from
// several goroutines at once.
type Renderer interface {
	Render(kind, receiver string, g *render.Group) (*render.Payload, error)
}

// RenderFunc adapts a function to Renderer.
type RenderFunc func(kind, receiver string, g *render.Group) (*render.Payload, error)

// Render implements Renderer.
func (f RenderFunc) Render(kind, receiver string, g *render.Group) (*render.Payload, error) {
	return f(kind, receiver, g)
}

// Deliverer sends a payload to the named receiver, retrying what can
// succeed later; a returned error means the group was not delivered. The
// Dispatcher calls it from several goroutines at once.
type Deliverer interface {
	Deliver(ctx context.Context, receiver string, p *render.Payload, g *render.Group) error
}

// DeliverFunc adapts a function to Deliverer.
type DeliverFunc func(ctx context.Context, receiver string, p *render.Payload, g *render.Group) error

// Deliver implements Deliverer.
func (f DeliverFunc) Deliver(ctx context.Context, receiver string, p *render.Payload, g *render.Group) error {
	return f(ctx, receiver, p, g)
}

// Defaults of DispatcherOptions.
const (
	DefaultTTL      = 7 * 24 * time.Hour
	DefaultParallel = 4
)

// DispatcherOptions configure a Dispatcher. Store, Renderer and Deliverer
// are required.
type DispatcherOptions struct {
	Store     state.Store
	Renderer  Renderer
	Deliverer Deliverer
	// Now is the clock for silences, ignore rules and repeat intervals; nil
	// means time.Now.
	Now func() time.Time
	// Logger receives one line per dropped alert and per group; nil
	// discards.
	Logger *slog.Logger
	// MaxAlerts is how many alerts of a group are handed to the renderer
	// (the rest are counted); 0 means render.DefaultMaxAlerts.
	MaxAlerts int
	// TTL is how long delivery and group records are kept (config
	// state.ttl); 0 means DefaultTTL. It must outlast any redelivery of
	// the same event, such as an SQS retry.
	TTL time.Duration
	// Parallel is how many groups are delivered at once; 0 means
	// DefaultParallel.
	Parallel int
	// Folder folds the alerts of one event bound for one receiver into one
	// message; nil folds ranking by severity and rule id alone.
	Folder *fold.Folder
	// Pacer, when set, says how many messages each receiver can still be
	// sent before the delivery's deadline; groups beyond that are folded
	// into one summary message per receiver. Nil sends every group.
	Pacer Pacer
}

// Pacer says how many more messages a receiver may be sent before until;
// the notify layer's per-receiver rate limiter implements it. A Dispatch
// sends a receiver at most that many messages: the most severe groups on
// their own, the rest folded into one summary (a flood is neither sent in
// full nor dropped).
type Pacer interface {
	Capacity(receiver string, until time.Time) int
}

// Dispatcher routes batches of alerts to receivers. It is safe for
// concurrent use, and concurrent Dispatchers in other processes sharing the
// same store agree on what was delivered and what is throttled.
type Dispatcher struct {
	tree *Tree
	o    DispatcherOptions
}

// NewDispatcher returns a Dispatcher for t.
func NewDispatcher(t *Tree, o DispatcherOptions) (*Dispatcher, error) {
	var errs []error
	if t == nil {
		errs = append(errs, errors.New("route: dispatcher needs a routing tree"))
	}
	if o.Store == nil {
		errs = append(errs, errors.New("route: dispatcher needs a state store"))
	}
	if o.Renderer == nil {
		errs = append(errs, errors.New("route: dispatcher needs a renderer"))
	}
	if o.Deliverer == nil {
		errs = append(errs, errors.New("route: dispatcher needs a deliverer"))
	}
	if o.MaxAlerts < 0 || o.TTL < 0 || o.Parallel < 0 {
		errs = append(errs, errors.New("route: dispatcher MaxAlerts, TTL and Parallel must not be negative"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.MaxAlerts == 0 {
		o.MaxAlerts = render.DefaultMaxAlerts
	}
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.Parallel == 0 {
		o.Parallel = DefaultParallel
	}
	if o.Folder == nil {
		o.Folder = fold.New(fold.Options{})
	}
	return &Dispatcher{tree: t, o: o}, nil
}

// Result counts what one Dispatch did with its alerts. An alert routed to
// two receivers counts once per receiver in Duplicate, Throttled, Sent and
// Failed.
type Result struct {
	Alerts    int // alerts in the batch
	Ignored   int // dropped by an ignore rule
	Silenced  int // dropped by a silence
	Duplicate int // already delivered to the receiver
	Throttled int // counted into a group notified within its repeat interval
	Sent      int // delivered
	Failed    int // in a group whose rendering or delivery failed
	Groups    int // groups delivered
}

// DeliveryError is one group that could not be rendered, delivered or
// recorded. Origins names the input of every alert of the group that was
// not delivered (an SQS message id is in each), so a caller can name the
// inputs to retry; Alerts holds those alerts themselves when the
// Dispatcher was handed them all (Dispatch), or the few a Batch keeps.
type DeliveryError struct {
	Receiver string
	GroupKey string
	Alerts   []*event.Alert
	Origins  []event.Origin
	// Count is how many alerts of the group were not delivered.
	Count int
	// Delivered is set when the group was sent but recording that failed:
	// a retry may send it again.
	Delivered bool
	Err       error
}

// Error implements error. When the cause already names the receiver and
// the group (as notify.DeliveryError does), it is returned as is.
func (e *DeliveryError) Error() string {
	msg := e.Err.Error()
	if strings.Contains(msg, strconv.Quote(e.Receiver)) && (strings.Contains(msg, e.GroupKey) || strings.Contains(msg, strconv.Quote(e.GroupKey))) {
		return msg // the notifier's error already names both
	}
	what := "could not deliver"
	if e.Delivered {
		what = "delivered but could not record"
	}
	return fmt.Sprintf("receiver %q %s group %q (%d alerts): %v", e.Receiver, what, e.GroupKey, max(e.Count, len(e.Alerts)), msg)
}

// Unwrap returns the cause.
func (e *DeliveryError) Unwrap() error { return e.Err }

// Dispatch routes alerts, drops ignored, silenced and already delivered
// ones, groups the rest per receiver and group_by values, holds back groups
// notified within their repeat interval (adding to their count), and
// delivers the others. A failed group is returned as a *DeliveryError
// (joined with errors.Join) naming every alert of it that was not
// delivered, so dispatching them again retries exactly those. Result is
// valid even with an error. Dispatch keeps a reference to every alert until
// it returns; to hold many alerts in little memory, use a Batch.
func (d *Dispatcher) Dispatch(ctx context.Context, alerts []*event.Alert) (Result, error) {
	b := d.newBatch(true)
	valid := make([]*event.Alert, 0, len(alerts))
	for i, a := range alerts {
		if a == nil || a.Event == nil {
			b.errs = append(b.errs, fmt.Errorf("route: alert %d of the batch has no event", i))
			b.res.Alerts++
			continue
		}
		valid = append(valid, a)
	}
	// One Add, so that the alerts of each event fold into one message
	// whatever their order in the slice.
	b.Add(valid...)
	return b.Dispatch(ctx)
}

type outcome struct {
	throttled bool
	err       error
	// rg is the message a prepared group sends; release gives its repeat
	// interval back after a failure, and record marks it delivered
	// ("sent", or "folded" into a summary).
	rg      *render.Group
	release func() error
	record  func(how string) error
}

// prepareGroup takes one group up to its send: the repeat interval (a
// group notified within it is counted and recorded here), the pending
// count, and the message to send.
func (d *Dispatcher) prepareGroup(ctx context.Context, b *Batch, g *group, now time.Time) outcome {
	// st fails fast once any call of this Dispatch failed; raw is the
	// store itself, for the bookkeeping that must be tried all the same.
	st, raw, log := b.store, d.o.Store, d.o.Logger
	h := hashKey(g.key)
	n := g.freshMsgs
	fail := func(delivered bool, err error) outcome {
		log.Error("group_failed", "receiver", g.receiver, "group", g.key, "alerts", n, "error", err)
		return outcome{err: b.groupError(g, delivered, err)}
	}

	after := func() (context.Context, context.CancelFunc) { return bookkeeping(ctx) }

	// Repeat interval: whoever stores the lease sends; the others add their
	// alerts to the pending count the next sender reports.
	var pending int64
	lease, pend := "notified:"+h, "pending:"+h
	pendTTL := 2 * g.route.RepeatInterval
	release := func() error {
		if g.route.RepeatInterval <= 0 {
			return nil
		}
		actx, cancel := after()
		defer cancel()
		var errs []error
		if err := raw.Delete(actx, lease); err != nil {
			errs = append(errs, fmt.Errorf("release repeat interval of the group: %w", err))
		}
		if pending > 0 {
			if _, err := raw.Add(actx, pend, pending, pendTTL); err != nil {
				errs = append(errs, fmt.Errorf("give back %d pending alerts of the group: %w", pending, err))
			}
		}
		return errors.Join(errs...)
	}
	if g.route.RepeatInterval > 0 {
		stored, err := st.PutIfAbsent(ctx, lease, []byte(now.UTC().Format(time.RFC3339Nano)), g.route.RepeatInterval)
		if err != nil {
			return fail(false, fmt.Errorf("check repeat interval: %w", err))
		}
		if !stored {
			if _, err := st.Add(ctx, pend, int64(n), pendTTL); err != nil {
				return fail(false, fmt.Errorf("count throttled alerts: %w", err))
			}
			if err := b.markDelivered(ctx, g, "counted"); err != nil {
				return fail(true, err)
			}
			log.Info("group_throttled", "receiver", g.receiver, "group", g.key, "alerts", n,
				"repeat_interval", g.route.RepeatInterval.String())
			return outcome{throttled: true}
		}
		// A read, not an Add of 0: most groups have nothing pending, and
		// then nothing is written.
		var p int64
		v, ok, err := st.Get(ctx, pend)
		if err == nil && ok {
			if p, err = strconv.ParseInt(string(v), 10, 64); err != nil {
				err = &state.NotCounterError{Key: pend}
			}
		}
		if err == nil && p > 0 {
			_, err = st.Add(ctx, pend, -p, pendTTL)
			if err == nil {
				pending = p
			}
		}
		if err != nil {
			return fail(false, errors.Join(fmt.Errorf("take pending count: %w", err), release()))
		}
	}

	_, repeat, err := st.Get(ctx, "group:"+h)
	if err != nil {
		return fail(false, errors.Join(fmt.Errorf("read group record: %w", err), release()))
	}
	rg := &render.Group{
		Key:      g.key,
		Receiver: g.receiver,
		Alerts:   g.examples,
		Count:    n + int(pending),
		Labels:   g.labels,
		Repeat:   repeat,
	}
	record := func(how string) error {
		actx, cancel := after()
		defer cancel()
		// The group's record and its alerts' in one write.
		return b.markDelivered(actx, g, how, state.Item{Key: "group:" + h, Value: []byte(now.UTC().Format(time.RFC3339Nano)), TTL: d.o.TTL})
	}
	return outcome{rg: rg, release: release, record: record}
}

// bookkeeping is the context of what follows a send (or a failure): it
// must happen even when ctx has just run out, since a lease left behind
// would hold the group's retry back, and a send not recorded would be
// repeated. It may run a little past ctx's deadline (recordGrace, less
// than the reserve the pipeline keeps before the invocation's end), never
// longer.
func bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	dl := time.Now().Add(recordTimeout)
	if cd, ok := ctx.Deadline(); ok && cd.Add(recordGrace).Before(dl) {
		dl = cd.Add(recordGrace)
	}
	return context.WithDeadline(context.WithoutCancel(ctx), dl)
}

// sendGroup renders, sends and records a prepared group.
func (d *Dispatcher) sendGroup(ctx context.Context, b *Batch, g *group, o outcome) error {
	fail := func(delivered bool, err error) error {
		d.o.Logger.Error("group_failed", "receiver", g.receiver, "group", g.key, "alerts", len(g.fresh), "error", err)
		return b.groupError(g, delivered, err)
	}
	p, err := d.o.Renderer.Render(d.tree.Kind(g.receiver), g.receiver, o.rg)
	if err != nil {
		return fail(false, errors.Join(err, o.release()))
	}
	if err := d.o.Deliverer.Deliver(ctx, g.receiver, p, o.rg); err != nil {
		return fail(false, errors.Join(err, o.release()))
	}
	d.o.Logger.Info("group_sent", "receiver", g.receiver, "group", g.key, "alerts", len(g.fresh), "count", o.rg.Count, "repeat", o.rg.Repeat)
	if err := o.record("sent"); err != nil {
		return fail(true, err)
	}
	return nil
}

// recordTimeout bounds the bookkeeping done after a send or a failure, and
// recordGrace how far past the send deadline it may run.
const (
	recordTimeout = 10 * time.Second
	recordGrace   = time.Second
)

// parallel calls fn(0) ... fn(n-1), at most limit at a time, and waits for
// all of them.
func parallel(n, limit int, fn func(i int)) {
	if n == 1 {
		fn(0)
		return
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}

// deliveredSum names the record that alert key reached receiver. Event ids
// come from the input, so the store key is a hash of bounded length.
func deliveredSum(receiver, alertKey string) [16]byte {
	sum := sha256.Sum256([]byte(receiver + "\x00" + alertKey))
	return [16]byte(sum[:16])
}

// deliveredKey is the store key of a deliveredSum.
func deliveredKey(sum [16]byte) string {
	return "delivered:" + hex.EncodeToString(sum[:])
}

func hashKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// groupLabels picks the group_by labels of r from labels.
func groupLabels(r *Route, labels map[string]string) map[string]string {
	if r.GroupByAll {
		return maps.Clone(labels)
	}
	out := make(map[string]string, len(r.GroupBy))
	for _, name := range r.GroupBy {
		out[name] = labels[name]
	}
	return out
}

// GroupKey names a group: receiver, route and the group_by label values,
// as `slack-ja/route.routes[0]/{account=123456789012, rule=root-login}`.
// A value with characters outside letters, digits and _ . : @ / + - = is
// quoted, so text from an event cannot break the key's shape.
func GroupKey(r *Route, groupLabels map[string]string) string {
	var b strings.Builder
	b.WriteString(r.Receiver)
	b.WriteByte('/')
	b.WriteString(r.ID)
	b.WriteString("/{")
	for i, k := range slices.Sorted(maps.Keys(groupLabels)) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(quoteValue(groupLabels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

func quoteValue(v string) string {
	if v == "" {
		return `""`
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.:@/+-=", c) >= 0) {
			return strconv.Quote(v)
		}
	}
	return v
}
