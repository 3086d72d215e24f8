package route

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
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

// Batch collects alerts for one delivery, such as every alert of one Lambda
// invocation, so that each group becomes one message however many alerts it
// holds. Add routes an alert at once (ignore rules, silences, routes,
// group) and keeps of it only what the message needs: the first few alerts
// of each group in full (cut to a bounded size, see event.Alert.Bound) and,
// for every alert, 32 bytes (its delivery record's key and its input).
// Bytes says how much the batch holds, so a caller can deliver early when
// it holds too much. A Batch is for one goroutine.
type Batch struct {
	d       *Dispatcher
	now     time.Time
	holdAll bool // Dispatch: the caller holds every alert anyway

	res    Result
	errs   []error
	seen   map[[16]byte]bool // delivery records of the alerts added
	groups map[string]*group
	order  []*group
	bytes  int

	origins  []event.Origin
	originAt map[originKey]int32

	store *failFast // during Dispatch

	mu      sync.Mutex
	written []*group // groups whose delivery records were written
}

// originKey names an input for blame: every record of one SQS message,
// file or payload shares it.
type originKey struct{ input, path, msgID string }

// group is the alerts of one batch bound for one (receiver, route,
// group_by values).
type group struct {
	key      string
	receiver string
	route    *Route
	labels   map[string]string
	first    int // arrival order
	sev      event.Severity

	held     []heldMessage // the first messages, shown in the message
	members  []member      // every alert
	messages int32         // how many messages (events) the members make

	// Set by Dispatch: the members not delivered before, how many
	// messages they make, and the alerts the message shows.
	fresh     []member
	freshMsgs int
	examples  []*event.Alert
}

// member is one alert of a group, as little as delivery needs. The alerts
// of one event bound for one receiver share a message (msg).
type member struct {
	sum    [16]byte     // its delivery record (deliveredSum)
	origin int32        // index into Batch.origins
	seq    int32        // arrival order within the group
	msg    int32        // the message it is part of, within the group
	alert  *event.Alert // only when the batch holds every alert
}

// heldMessage is one message a group keeps to show: the alert of each rule
// folded into it, most important first, with its delivery record.
type heldMessage struct {
	parts []*event.Alert
	sums  [][16]byte
}

// candidate is one alert bound for one receiver by one route, before the
// alerts of its event are folded.
type candidate struct {
	route  *Route
	labels map[string]string
	sum    [16]byte
	origin int32
}

// What a Batch counts for each thing it holds, in bytes: a member, a group
// (key, labels, maps), and a full alert on top of its record's size (the
// parsed tree is about as large again as the text).
const (
	memberBytes = 48
	groupBytes  = 1 << 10
	alertBytes  = 2 << 10
)

// NewBatch returns an empty Batch; routing uses the clock's time now.
func (d *Dispatcher) NewBatch() *Batch { return d.newBatch(false) }

func (d *Dispatcher) newBatch(holdAll bool) *Batch {
	return &Batch{d: d, now: d.o.Now(), holdAll: holdAll, seen: map[[16]byte]bool{}, groups: map[string]*group{}, originAt: map[originKey]int32{}}
}

// Len returns how many alerts were added.
func (b *Batch) Len() int { return b.res.Alerts }

// Bytes returns about how much memory the batch holds.
func (b *Batch) Bytes() int { return b.bytes }

func (b *Batch) origin(o event.Origin) int32 {
	k := originKey{o.Input, o.Path, o.MessageID}
	if i, ok := b.originAt[k]; ok {
		return i
	}
	i := int32(len(b.origins))
	b.origins = append(b.origins, o)
	b.originAt[k] = i
	b.bytes += memberBytes + len(o.Input) + len(o.MessageID)
	return i
}

// Add routes alerts into the batch, usually the alerts of one event: an
// ignored or silenced alert is counted and logged, and the others join the
// group of every receiver they reach. The alerts of one event bound for one
// receiver become one message (see internal/fold) unless their route asks
// for one message per rule; each keeps its own delivery record, and the
// message joins the group its primary's route gives it, with group_by read
// from the folded alert's labels. Only the first messages of a group are
// kept; their alerts are cut to a bounded size first, after their key and
// labels were read.
func (b *Batch) Add(alerts ...*event.Alert) {
	t, log := b.d.tree, b.d.o.Logger
	var (
		items []fold.Item
		cands []candidate
	)
	for _, a := range alerts {
		b.res.Alerts++
		labels := t.Labels(a)
		if ig := t.Ignored(labels, b.now); ig != nil {
			b.res.Ignored++
			log.Info("alert_ignored", "event_id", a.Event.ID(), "rule_id", a.Rule.ID, "ignore", ig.String())
			continue
		}
		if s := t.Silenced(labels, b.now); s != nil {
			b.res.Silenced++
			log.Info("alert_silenced", "event_id", a.Event.ID(), "rule_id", a.Rule.ID, "silence", s.String())
			continue
		}
		key := a.Key()
		oi := b.origin(a.Event.Origin())
		var reached []string
		for _, r := range t.Match(labels) {
			if slices.Contains(reached, r.Receiver) {
				continue // two routes to one receiver deliver once
			}
			reached = append(reached, r.Receiver)
			sum := deliveredSum(r.Receiver, key)
			if b.seen[sum] {
				// The same event's alert for this receiver, added again
				// (the event came by two paths, or twice in one input):
				// it is delivered once, and listed once.
				b.res.Duplicate++
				continue
			}
			b.seen[sum] = true
			b.bytes += memberBytes
			items = append(items, fold.Item{Alert: a, Receiver: r.Receiver, PerRule: r.PerRule})
			cands = append(cands, candidate{route: r, labels: labels, sum: sum, origin: oi})
		}
	}
	bounded := map[*event.Alert]bool{}
	for _, m := range b.d.o.Folder.Messages(items) {
		primary := cands[m.Items[0]]
		labels := primary.labels
		if len(m.Items) > 1 {
			labels = t.Labels(m.Alert)
		}
		r := primary.route
		gl := groupLabels(r, labels)
		gk := GroupKey(r, gl)
		g := b.groups[gk]
		if g == nil {
			g = &group{key: gk, receiver: r.Receiver, route: r, labels: gl, first: len(b.order), sev: m.Alert.Rule.Severity}
			b.groups[gk] = g
			b.order = append(b.order, g)
			b.bytes += groupBytes + len(gk)
		}
		msg := g.messages
		g.messages++
		g.sev = max(g.sev, m.Alert.Rule.Severity)
		hold := b.holdAll || len(g.held) < b.d.o.MaxAlerts
		var h heldMessage
		for _, i := range m.Items {
			c, a := cands[i], items[i].Alert
			mem := member{sum: c.sum, origin: c.origin, seq: int32(len(g.members)), msg: msg}
			if b.holdAll {
				mem.alert = a
			}
			g.members = append(g.members, mem)
			b.bytes += memberBytes
			if hold {
				h.parts = append(h.parts, a)
				h.sums = append(h.sums, c.sum)
			}
		}
		if !hold {
			continue
		}
		if !b.holdAll {
			for _, a := range h.parts {
				if !bounded[a] {
					bounded[a] = true
					a.Bound()
					b.bytes += alertBytes + 2*len(a.Event.Raw()) + len(a.Summary)
				}
			}
		}
		g.held = append(g.held, h)
	}
}

// example is the message h shows when only the parts whose records are in
// fresh are still to deliver: those parts folded again, or nil when none
// is. A part delivered before (by another path, or in an earlier try) is
// not sent again.
func (b *Batch) example(h heldMessage, fresh func([16]byte) bool) *event.Alert {
	var parts []*event.Alert
	for i, a := range h.parts {
		if fresh(h.sums[i]) {
			parts = append(parts, a)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return b.d.o.Folder.Fold(parts)
}

// Dispatch delivers what the batch holds, as Dispatcher.Dispatch describes,
// and empties nothing: a Batch is dispatched once.
func (b *Batch) Dispatch(ctx context.Context) (Result, error) {
	d := b.d
	res, errs := b.res, b.errs
	b.store = &failFast{Store: d.o.Store}

	// Drop what this batch holds twice (one event arriving by two paths in
	// one invocation) and what was delivered before: every delivery record
	// in one read (one transaction, or BatchGetItem calls of 100 keys).
	type read struct {
		g *group
		i int
	}
	var (
		reads []read
		keys  []string
	)
	for _, g := range b.order {
		slices.SortStableFunc(g.members, func(x, y member) int { return bytes.Compare(x.sum[:], y.sum[:]) })
		before := len(g.members)
		g.members = slices.CompactFunc(g.members, func(x, y member) bool { return x.sum == y.sum })
		res.Duplicate += before - len(g.members)
		for i := range g.members {
			reads = append(reads, read{g, i})
			keys = append(keys, deliveredKey(g.members[i].sum))
		}
	}
	var (
		delivered map[string][]byte
		readErr   error
	)
	if len(keys) > 0 {
		delivered, readErr = state.GetMany(ctx, b.store, keys)
	}
	var ready []*group
	for i := 0; i < len(reads); {
		g := reads[i].g
		var gerr error
		g.fresh = g.fresh[:0]
		for ; i < len(reads) && reads[i].g == g; i++ {
			_, done := delivered[keys[i]]
			switch {
			case readErr != nil:
				gerr = readErr
			case done:
				res.Duplicate++
			default:
				g.fresh = append(g.fresh, g.members[reads[i].i])
			}
		}
		if gerr != nil {
			// What was delivered before is unknown: the whole group waits
			// for a retry.
			g.fresh = slices.Clone(g.members)
			res.Failed += len(g.fresh)
			errs = append(errs, b.groupError(g, false, fmt.Errorf("read delivery records: %w", gerr)))
			continue
		}
		if len(g.fresh) == 0 {
			continue
		}
		isFresh := func(sum [16]byte) bool {
			_, ok := slices.BinarySearchFunc(g.fresh, sum, func(m member, s [16]byte) int { return bytes.Compare(m.sum[:], s[:]) })
			return ok
		}
		msgs := map[int32]bool{}
		for _, m := range g.fresh {
			msgs[m.msg] = true
		}
		g.freshMsgs = len(msgs)
		for _, h := range g.held {
			if len(g.examples) == d.o.MaxAlerts {
				break
			}
			if ex := b.example(h, isFresh); ex != nil {
				g.examples = append(g.examples, ex)
			}
		}
		if len(g.examples) == 0 {
			// Every kept message was delivered before (by another path):
			// they still show what the group is about.
			for _, h := range g.held[:min(len(g.held), d.o.MaxAlerts)] {
				g.examples = append(g.examples, b.d.o.Folder.Fold(h.parts))
			}
		}
		ready = append(ready, g)
	}

	// The most severe groups first, so that a receiver short of sends
	// gets them on their own and folds the rest.
	slices.SortStableFunc(ready, func(x, y *group) int { return cmp.Or(cmp.Compare(y.sev, x.sev), cmp.Compare(x.first, y.first)) })
	outcomes := make([]outcome, len(ready))
	parallel(len(ready), d.o.Parallel, func(i int) { outcomes[i] = d.prepareGroup(ctx, b, ready[i], b.now) })

	// Each receiver sends as many groups as its Pacer allows, most severe
	// first, and one summary of the rest.
	sends := b.sendSlots(ctx, ready)
	var toSend []int
	folded := map[string][]int{}
	var foldOrder []string
	for i, o := range outcomes {
		g := ready[i]
		switch {
		case o.err != nil:
			res.Failed += len(g.fresh)
			errs = append(errs, o.err)
		case o.throttled:
			res.Throttled += len(g.fresh)
		case sends.take(g.receiver):
			toSend = append(toSend, i)
		default:
			if folded[g.receiver] == nil {
				foldOrder = append(foldOrder, g.receiver)
			}
			folded[g.receiver] = append(folded[g.receiver], i)
		}
	}
	sendErrs := make([]error, len(toSend))
	parallel(len(toSend), d.o.Parallel, func(j int) {
		i := toSend[j]
		sendErrs[j] = d.sendGroup(ctx, b, ready[i], outcomes[i])
	})
	for j, i := range toSend {
		g := ready[i]
		var de *DeliveryError
		switch err := sendErrs[j]; {
		case err == nil:
			res.Sent += len(g.fresh)
			res.Groups++
		case errors.As(err, &de) && de.Delivered:
			res.Sent += len(g.fresh)
			res.Groups++
			errs = append(errs, err)
		default:
			res.Failed += len(g.fresh)
			errs = append(errs, err)
		}
	}
	for _, receiver := range foldOrder {
		idx := folded[receiver]
		err := b.sendFolded(ctx, receiver, ready, outcomes, idx)
		for _, i := range idx {
			g := ready[i]
			switch {
			case err != nil:
				res.Failed += len(g.fresh)
				errs = append(errs, b.groupError(g, false, errors.Join(err, outcomes[i].release())))
			default:
				res.Sent += len(g.fresh)
				if rerr := outcomes[i].record("folded"); rerr != nil {
					errs = append(errs, b.groupError(g, true, rerr))
				}
			}
		}
		if err == nil {
			res.Groups++
		}
	}
	// The records of this delivery reach the store's file together, once
	// every send is done (see state.Flusher): a crash before this loses
	// records of alerts that were sent, which are then sent again, never
	// one of an alert that was not.
	fctx, cancel := bookkeeping(ctx)
	defer cancel()
	if err := state.Flush(fctx, d.o.Store); err != nil {
		b.mu.Lock()
		for _, g := range b.written {
			errs = append(errs, b.groupError(g, true, fmt.Errorf("write delivery records: %w", err)))
		}
		b.mu.Unlock()
		if len(b.written) == 0 {
			errs = append(errs, fmt.Errorf("route: write the state of this delivery: %w", err))
		}
	}
	return res, errors.Join(errs...)
}

// groupError is the DeliveryError of g: its undelivered alerts, by input.
func (b *Batch) groupError(g *group, delivered bool, err error) *DeliveryError {
	de := &DeliveryError{Receiver: g.receiver, GroupKey: g.key, Delivered: delivered, Err: err, Count: len(g.fresh)}
	seen := map[int32]bool{}
	for _, m := range g.fresh {
		if !seen[m.origin] {
			seen[m.origin] = true
			de.Origins = append(de.Origins, b.origins[m.origin])
		}
		if m.alert != nil {
			de.Alerts = append(de.Alerts, m.alert)
		}
	}
	if !b.holdAll {
		de.Alerts = g.examples
	}
	return de
}

// deliveredItems are the records that every fresh alert of g was handled
// for its receiver ("sent", "folded" into a summary, or "counted" into a
// throttled group).
func (b *Batch) deliveredItems(g *group, how string) []state.Item {
	items := make([]state.Item, len(g.fresh))
	for i, m := range g.fresh {
		items[i] = state.Item{Key: deliveredKey(m.sum), Value: []byte(how), TTL: b.d.o.TTL}
	}
	return items
}

// markDelivered records every fresh alert of g as handled for its
// receiver, with any more records given, in one write. It goes to the
// store itself, past the fail-fast guard: after a send, a record is worth
// trying for. A failure names the inputs whose records were not written.
func (b *Batch) markDelivered(ctx context.Context, g *group, how string, more ...state.Item) error {
	items := append(more, b.deliveredItems(g, how)...)
	if err := state.PutMany(ctx, b.d.o.Store, items); err != nil {
		seen := map[int32]bool{}
		var from []string
		for _, m := range g.fresh {
			if !seen[m.origin] {
				seen[m.origin] = true
				from = append(from, b.origins[m.origin].String())
			}
		}
		return fmt.Errorf("record delivery of %d alerts from %s: %w", len(g.fresh), strings.Join(from, ", "), err)
	}
	b.mu.Lock()
	b.written = append(b.written, g)
	b.mu.Unlock()
	return nil
}

// FoldedRuleID is the rule id of the summary message that carries the
// groups a receiver had no sends left for.
const FoldedRuleID = "trailwatch-alerts-folded"

// sendFolded sends the groups at idx of one receiver as one message: the
// group itself when it is alone, else a summary showing one alert of each
// group (the most severe first) and counting them all.
func (b *Batch) sendFolded(ctx context.Context, receiver string, ready []*group, outcomes []outcome, idx []int) error {
	d := b.d
	kind := d.tree.Kind(receiver)
	if len(idx) == 1 {
		rg := outcomes[idx[0]].rg
		p, err := d.o.Renderer.Render(kind, receiver, rg)
		if err == nil {
			err = d.o.Deliverer.Deliver(ctx, receiver, p, rg)
		}
		return err
	}
	total, sev := 0, event.SeverityInfo
	for _, i := range idx {
		total += outcomes[i].rg.Count
		sev = max(sev, ready[i].sev)
	}
	facts := map[string]string{
		"receiver": receiver,
		"groups":   strconv.Itoa(len(idx)),
		"alerts":   strconv.Itoa(total),
	}
	summary := event.SelfAlert(event.RuleInfo{
		ID: FoldedRuleID, Title: "More alerts than this receiver can take in time", Severity: sev,
		Description: "The receiver's rate limit allows fewer messages than there were alert groups, so the groups beyond it are folded into this one message; one alert of each is shown. Look them up with trailwatch check or in CloudTrail.",
		Tags:        []string{"trailwatch"},
		Locales: map[string]event.LocalText{"ja": {
			Title:       "受信先が時間内に受け取れる件数を超えたアラート",
			Description: "受信先のレート制限で送れるメッセージ数よりアラートのグループが多かったため、超えた分を 1 件のメッセージにまとめました。各グループのアラートを 1 件ずつ示します。",
		}},
	}, "AlertsFolded", b.now, facts, event.Origin{Input: "trailwatch"})
	summary.Summary = fmt.Sprintf("%d groups (%d alerts) for %s were folded into this message", len(idx), total, receiver)
	summary.Summaries = map[string]string{"ja": fmt.Sprintf("%s 宛ての %d グループ（アラート %d 件）をこのメッセージにまとめました", receiver, len(idx), total)}
	alerts := []*event.Alert{summary}
	for _, i := range idx {
		if len(alerts) == d.o.MaxAlerts {
			break
		}
		if ex := outcomes[i].rg.Alerts; len(ex) > 0 {
			alerts = append(alerts, ex[0])
		}
	}
	rg := &render.Group{
		Key:      receiver + "/" + FoldedRuleID,
		Receiver: receiver,
		Alerts:   alerts,
		Count:    total + 1,
		Labels:   map[string]string{"rule": FoldedRuleID},
	}
	p, err := d.o.Renderer.Render(kind, receiver, rg)
	if err == nil {
		err = d.o.Deliverer.Deliver(ctx, receiver, p, rg)
	}
	if err == nil {
		d.o.Logger.Warn("groups_folded", "receiver", receiver, "groups", len(idx), "alerts", total)
	}
	return err
}

// sendSlots counts the messages each receiver may still be sent in one
// Dispatch: the Pacer's capacity less one, kept for the summary of what
// does not fit. A nil *sendSlots allows every send.
type sendSlots struct {
	mu   sync.Mutex
	left map[string]int
}

func (b *Batch) sendSlots(ctx context.Context, ready []*group) *sendSlots {
	p := b.d.o.Pacer
	if p == nil {
		return nil
	}
	until, ok := ctx.Deadline()
	if !ok {
		until = b.d.o.Now().Add(DefaultPaceWindow)
	}
	s := &sendSlots{left: map[string]int{}}
	for _, g := range ready {
		if _, ok := s.left[g.receiver]; !ok {
			s.left[g.receiver] = max(p.Capacity(g.receiver, until)-1, 0)
		}
	}
	return s
}

// DefaultPaceWindow is the time a Dispatch without a deadline asks the
// Pacer about.
const DefaultPaceWindow = time.Minute

func (s *sendSlots) take(receiver string) bool {
	if s == nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.left[receiver] <= 0 {
		return false
	}
	s.left[receiver]--
	return true
}

// failFast is the store as one Dispatch sees it: once a call has failed,
// the calls after it fail at once with the same error, so an unreachable
// store costs one timeout per Dispatch, not one per alert.
type failFast struct {
	state.Store
	mu  sync.Mutex
	err error
}

func (f *failFast) check() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *failFast) note(err error) error {
	if err != nil {
		f.mu.Lock()
		if f.err == nil {
			f.err = err
		}
		f.mu.Unlock()
	}
	return err
}

func (f *failFast) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := f.check(); err != nil {
		return nil, false, err
	}
	v, ok, err := f.Store.Get(ctx, key)
	return v, ok, f.note(err)
}

func (f *failFast) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := f.check(); err != nil {
		return err
	}
	return f.note(f.Store.Put(ctx, key, value, ttl))
}

func (f *failFast) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := f.check(); err != nil {
		return false, err
	}
	ok, err := f.Store.PutIfAbsent(ctx, key, value, ttl)
	return ok, f.note(err)
}

func (f *failFast) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	out, err := state.GetMany(ctx, f.Store, keys)
	return out, f.note(err)
}

func (f *failFast) PutMany(ctx context.Context, items []state.Item) error {
	if err := f.check(); err != nil {
		return err
	}
	return f.note(state.PutMany(ctx, f.Store, items))
}

func (f *failFast) Add(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error) {
	if err := f.check(); err != nil {
		return 0, err
	}
	n, err := f.Store.Add(ctx, key, delta, ttl)
	return n, f.note(err)
}
