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
// recorded. Alerts holds every alert of the group, so a caller can name the
// inputs to retry (an SQS message id is in each event's Origin).
type DeliveryError struct {
	Receiver string
	GroupKey string
	Alerts   []*event.Alert
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
	return fmt.Sprintf("receiver %q %s group %q (%d alerts): %v", e.Receiver, what, e.GroupKey, len(e.Alerts), msg)
}

// Unwrap returns the cause.
func (e *DeliveryError) Unwrap() error { return e.Err }

// group is the alerts of one batch bound for one (receiver, route,
// group_by values).
type group struct {
	key      string
	receiver string
	route    *Route
	labels   map[string]string
	// alerts are every rule's alert, as routed and recorded; msgs the
	// messages they make, the alerts of one event folded into one.
	alerts []*event.Alert
	msgs   []*event.Alert
}

// candidate is one alert bound for one receiver by one route.
type candidate struct {
	alert  *event.Alert
	route  *Route
	labels map[string]string
	done   bool
	err    error
}

// Dispatch routes alerts, drops ignored, silenced and already delivered
// ones, groups the rest per receiver and group_by values, holds back groups
// notified within their repeat interval (adding to their count), and
// delivers the others. A failed group is returned as a *DeliveryError
// (joined with errors.Join) and its alerts stay undelivered, so dispatching
// them again retries exactly those. Result is valid even with an error.
func (d *Dispatcher) Dispatch(ctx context.Context, alerts []*event.Alert) (Result, error) {
	res := Result{Alerts: len(alerts)}
	now := d.o.Now()
	log := d.o.Logger
	var errs []error

	// Route every alert; keep one candidate per (alert, receiver).
	var cands []*candidate
	seen := map[string]bool{} // receiver|alert key, within this batch
	for i, a := range alerts {
		if a == nil || a.Event == nil {
			errs = append(errs, fmt.Errorf("route: alert %d of the batch has no event", i))
			continue
		}
		labels := d.tree.Labels(a)
		if ig := d.tree.Ignored(labels, now); ig != nil {
			res.Ignored++
			log.Info("alert_ignored", "event_id", a.Event.ID(), "rule_id", a.Rule.ID, "ignore", ig.String())
			continue
		}
		if s := d.tree.Silenced(labels, now); s != nil {
			res.Silenced++
			log.Info("alert_silenced", "event_id", a.Event.ID(), "rule_id", a.Rule.ID, "silence", s.String())
			continue
		}
		reached := map[string]bool{}
		for _, r := range d.tree.Match(labels) {
			if reached[r.Receiver] {
				continue // two routes to one receiver deliver once
			}
			reached[r.Receiver] = true
			dk := r.Receiver + "|" + a.Key()
			if seen[dk] {
				res.Duplicate++
				continue
			}
			seen[dk] = true
			cands = append(cands, &candidate{alert: a, route: r, labels: labels})
		}
	}

	// Drop what was delivered before. The reads run concurrently: against
	// DynamoDB each is a round trip.
	parallel(len(cands), storeParallel, func(i int) {
		c := cands[i]
		_, c.done, c.err = d.o.Store.Get(ctx, deliveredKey(c.route.Receiver, c.alert))
	})
	var live []*candidate
	for _, c := range cands {
		a, r := c.alert, c.route
		switch {
		case c.err != nil:
			errs = append(errs, &DeliveryError{Receiver: r.Receiver, GroupKey: "-", Alerts: []*event.Alert{a},
				Err: fmt.Errorf("read delivery record of event %s rule %s: %w", a.Event.ID(), a.Rule.ID, c.err)})
			res.Failed++
			continue
		case c.done:
			res.Duplicate++
			log.Debug("alert_duplicate", "event_id", a.Event.ID(), "rule_id", a.Rule.ID, "receiver", r.Receiver)
			continue
		}
		live = append(live, c)
	}
	groups := d.group(live)

	outcomes := make([]outcome, len(groups))
	parallel(len(groups), d.o.Parallel, func(i int) { outcomes[i] = d.deliverGroup(ctx, groups[i], now) })
	for i, o := range outcomes {
		g := groups[i]
		switch {
		case o.err != nil:
			res.Failed += len(g.alerts)
			errs = append(errs, o.err)
		case o.throttled:
			res.Throttled += len(g.alerts)
		default:
			res.Sent += len(g.alerts)
			res.Groups++
		}
	}
	return res, errors.Join(errs...)
}

type outcome struct {
	throttled bool
	err       error
}

// deliverGroup throttles, renders, delivers and records one group.
func (d *Dispatcher) deliverGroup(ctx context.Context, g *group, now time.Time) outcome {
	st, log := d.o.Store, d.o.Logger
	h := hashKey(g.key)
	n := len(g.msgs)
	fail := func(delivered bool, err error) outcome {
		log.Error("group_failed", "receiver", g.receiver, "group", g.key, "alerts", len(g.alerts), "messages", n, "error", err)
		return outcome{err: &DeliveryError{Receiver: g.receiver, GroupKey: g.key, Alerts: g.alerts, Delivered: delivered, Err: err}}
	}

	// Bookkeeping after the send (or after a failure) must happen even when
	// ctx has just run out: a lease left behind would hold the group's
	// retry back, and a send not recorded would be repeated.
	after := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	}

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
		if err := st.Delete(actx, lease); err != nil {
			errs = append(errs, fmt.Errorf("release repeat interval of the group: %w", err))
		}
		if pending > 0 {
			if _, err := st.Add(actx, pend, pending, pendTTL); err != nil {
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
			if err := d.markDelivered(ctx, g, "counted"); err != nil {
				return fail(true, err)
			}
			log.Info("group_throttled", "receiver", g.receiver, "group", g.key, "alerts", len(g.alerts), "messages", n,
				"repeat_interval", g.route.RepeatInterval.String())
			return outcome{throttled: true}
		}
		p, err := st.Add(ctx, pend, 0, pendTTL)
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
		Alerts:   g.msgs[:min(n, d.o.MaxAlerts)],
		Count:    n + int(pending),
		Labels:   g.labels,
		Repeat:   repeat,
	}
	p, err := d.o.Renderer.Render(d.tree.Kind(g.receiver), g.receiver, rg)
	if err != nil {
		return fail(false, errors.Join(err, release()))
	}
	if err := d.o.Deliverer.Deliver(ctx, g.receiver, p, rg); err != nil {
		return fail(false, errors.Join(err, release()))
	}
	log.Info("group_sent", "receiver", g.receiver, "group", g.key, "alerts", len(g.alerts), "messages", n, "count", rg.Count, "repeat", repeat)
	actx, cancel := after()
	defer cancel()
	var errs []error
	if err := st.Put(actx, "group:"+h, []byte(now.UTC().Format(time.RFC3339Nano)), d.o.TTL); err != nil {
		errs = append(errs, fmt.Errorf("record group: %w", err))
	}
	if err := d.markDelivered(actx, g, "sent"); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fail(true, errors.Join(errs...))
	}
	return outcome{}
}

// markDelivered records every alert of g as handled for its receiver. The
// writes run concurrently; every failure is returned.
func (d *Dispatcher) markDelivered(ctx context.Context, g *group, how string) error {
	errs := make([]error, len(g.alerts))
	parallel(len(g.alerts), storeParallel, func(i int) {
		a := g.alerts[i]
		if err := d.o.Store.Put(ctx, deliveredKey(g.receiver, a), []byte(how), d.o.TTL); err != nil {
			errs[i] = fmt.Errorf("record delivery of event %s rule %s: %w", a.Event.ID(), a.Rule.ID, err)
		}
	})
	return errors.Join(errs...)
}

// storeParallel bounds concurrent store calls of one batch step;
// recordTimeout bounds the bookkeeping done after a send or a failure.
const (
	storeParallel = 16
	recordTimeout = 10 * time.Second
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

// deliveredKey is the store key recording that alert a reached receiver.
// Event ids come from the input, so the key is a hash of bounded length.
func deliveredKey(receiver string, a *event.Alert) string {
	return "delivered:" + hashKey(receiver+"\x00"+a.Key())
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
