package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/state"
)

// Threshold limits.
const (
	MinThresholdCount  = 2
	MaxThresholdCount  = 10000
	MinThresholdWindow = 10 * time.Second
	MaxThresholdWindow = 24 * time.Hour
)

// thresholdBuckets is how many sub-windows a threshold window is counted
// in. The count at an event covers the buckets of the last window: between
// 9/10 of the window and the whole window before it, never more.
const thresholdBuckets = 10

// thresholdSamples is how many of a burst's first events an alert lists.
const thresholdSamples = 3

// maxDistinctPerEvent bounds the values one event adds to a distinct count
// (the names of one GetParameters call), and so the state writes it costs.
const maxDistinctPerEvent = 20

// ThresholdLabels are the label names a threshold's by and distinct may use,
// besides dotted event fields; they read what the alert label of the same
// name shows, except principal, which names the principal uniquely (its
// ARN, or account, type and name) where the label shows a short name.
var ThresholdLabels = []string{"principal", "principal_arn", "principal_type", "account", "region", "source_ip", "user_agent", "event_name", "event_source", "error_code"}

var thresholdPath = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_:-]+)+$`)

// ThresholdSpec says when a rule's matches alert: when Count matches of one
// key (the values By names) fall within Window. With Distinct, the count is
// of distinct values of those fields instead of matches: secrets read, not
// reads.
type ThresholdSpec struct {
	Count  int
	Window time.Duration
	// By are label names (ThresholdLabels) or dotted event fields whose
	// values together form the key; empty counts every match of the rule
	// together.
	By []string
	// Distinct are label names or dotted event fields; a list value counts
	// each element (at most 20 per event). An event with none of them
	// counts once, as itself.
	Distinct []string
}

// Check returns one message per problem, naming the key.
func (s *ThresholdSpec) Check() []string {
	var out []string
	if s.Count < MinThresholdCount || s.Count > MaxThresholdCount {
		out = append(out, fmt.Sprintf("count must be between %d and %d, got %d", MinThresholdCount, MaxThresholdCount, s.Count))
	}
	if s.Window < MinThresholdWindow || s.Window > MaxThresholdWindow {
		out = append(out, fmt.Sprintf("window must be between %s and %s, got %s", shortDuration(MinThresholdWindow), shortDuration(MaxThresholdWindow), shortDuration(s.Window)))
	}
	for _, f := range []struct {
		key   string
		names []string
	}{{"by", s.By}, {"distinct", s.Distinct}} {
		for _, n := range f.names {
			if !slices.Contains(ThresholdLabels, n) && !thresholdPath.MatchString(n) {
				out = append(out, fmt.Sprintf("%s: %q is neither a label (%s) nor a dotted event field (like requestParameters.secretId)", f.key, n, strings.Join(ThresholdLabels, ", ")))
			}
		}
	}
	return out
}

// Describe says the threshold in English: "20 matches in 10m per principal".
func (s *ThresholdSpec) Describe() string {
	what := "matches"
	if len(s.Distinct) > 0 {
		what = "distinct " + strings.Join(s.Distinct, "/")
	}
	d := fmt.Sprintf("%d %s in %s", s.Count, what, shortDuration(s.Window))
	if len(s.By) > 0 {
		d += " per " + strings.Join(s.By, ", ")
	}
	return d
}

// Thresholds counts the matches of thresholded rules in a state store and
// says which match crosses a threshold. Safe for concurrent use: every
// change is a conditional write, so many processes sharing a DynamoDB table
// count each event once and raise each crossing once.
type Thresholds struct {
	store state.Store
	now   func() time.Time
}

// NewThresholds returns a counter keeping its state in store; now is the
// clock (nil means time.Now).
func NewThresholds(store state.Store, now func() time.Time) *Thresholds {
	if now == nil {
		now = time.Now
	}
	return &Thresholds{store: store, now: now}
}

// Crossing is a threshold reached: what the alert says.
type Crossing struct {
	// Count is the count when the threshold was reached.
	Count int
	// Window is the threshold's window.
	Window time.Duration
	// First lists the first few counted events of the window, oldest first.
	First []Sample
	// Distinct is set when the count is of distinct values.
	Distinct []string
}

// Sample is one counted event, as an alert lists it.
type Sample struct {
	Time     time.Time `json:"t"`
	ID       string    `json:"id,omitempty"`
	Name     string    `json:"n,omitempty"`
	SourceIP string    `json:"ip,omitempty"`
}

// Annotation says the crossing in English: "20 matches in 10m".
func (c *Crossing) Annotation() string {
	if len(c.Distinct) > 0 {
		return fmt.Sprintf("%d distinct %s in %s", c.Count, strings.Join(c.Distinct, "/"), shortDuration(c.Window))
	}
	return fmt.Sprintf("%d matches in %s", c.Count, shortDuration(c.Window))
}

// Annotations says the crossing in the other locales, keyed by locale.
func (c *Crossing) Annotations() map[string]string {
	ja := fmt.Sprintf("%s以内に%d件一致", jaDuration(c.Window), c.Count)
	if len(c.Distinct) > 0 {
		ja = fmt.Sprintf("%s以内に異なる %s が%d件", jaDuration(c.Window), strings.Join(c.Distinct, "/"), c.Count)
	}
	return map[string]string{"ja": ja}
}

// Context lists the facts an alert shows: the threshold and the first
// counted events.
func (c *Crossing) Context() map[string]string {
	out := map[string]string{"window": shortDuration(c.Window), "count": strconv.Itoa(c.Count)}
	for i, s := range c.First {
		// Event data only, so the line reads the same in every locale.
		parts := []string{s.Time.UTC().Format(time.RFC3339), s.Name, s.SourceIP, s.ID}
		out["first_"+strconv.Itoa(i+1)] = strings.Join(slices.DeleteFunc(parts, func(p string) bool { return p == "" }), " ")
	}
	return out
}

// ThresholdError is a threshold's state store failing. A retry can succeed,
// so it reports itself Temporary: the Lambda face then retries the event's
// message rather than lose the count.
type ThresholdError struct{ Err error }

func (e *ThresholdError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *ThresholdError) Unwrap() error { return e.Err }

// Temporary reports that a retry may succeed.
func (e *ThresholdError) Temporary() bool { return true }

// thresholdState is what the store holds per rule and key.
type thresholdState struct {
	// Buckets holds [bucket index, count] pairs of the recent buckets.
	Buckets [][2]int64 `json:"b"`
	// Quiet is the event time (Unix ns) before which no new alert is
	// raised: the end of the window of the last alert.
	Quiet int64 `json:"q,omitempty"`
	// Alert names the event whose match raised the last alert, so that a
	// retry of that event raises it again (delivery drops the copy).
	Alert string `json:"a,omitempty"`
	// AlertCount is the count the last alert reported.
	AlertCount int `json:"c,omitempty"`
	// First holds the first counted events of the recent window.
	First []Sample `json:"s,omitempty"`
}

// Observe counts ev, a match of rule id, against spec and returns the
// crossing when this match reaches the threshold outside a quiet period,
// else nil. An event seen before (redelivered, retried) is not counted
// again; if it was the one that raised the alert, the crossing is returned
// again. Store failures are *ThresholdError.
func (t *Thresholds) Observe(ctx context.Context, id string, spec *ThresholdSpec, ev *event.Event) (*Crossing, error) {
	c, err := t.observe(ctx, id, spec, ev)
	if err != nil {
		return nil, &ThresholdError{Err: fmt.Errorf("threshold of rule %q on event %s: %w", id, eventName(ev), err)}
	}
	return c, nil
}

func (t *Thresholds) observe(ctx context.Context, id string, spec *ThresholdSpec, ev *event.Event) (*Crossing, error) {
	now := t.now()
	at := thresholdTime(ev, now)
	w := spec.Window
	width := max(w/thresholdBuckets, time.Second)
	idx := at.UnixNano() / int64(width)
	key := "threshold/" + safePart(id) + "/" + hash(thresholdValues(ev, spec.By))
	ttl := ttlFor(now, at.Add(2*w), w)
	evKey := eventKeyOf(ev)

	// 1. Which units does this event add: itself, or its distinct values
	// not yet counted in the window?
	var units []string
	if len(spec.Distinct) > 0 {
		units = thresholdUnits(ev, spec.Distinct)
	}
	if len(units) == 0 {
		units = []string{"e" + evKey}
	}
	type moved struct {
		key      string
		old, new []byte
	}
	var (
		added   int64
		claimed []string // markers this call created, undone if the count fails
		renewed []moved  // markers this call moved on, moved back if it fails
	)
	undo := func(err error) error {
		errs := []error{err}
		for _, k := range claimed {
			errs = append(errs, t.store.Delete(ctx, k))
		}
		for _, m := range renewed {
			if m.old == nil {
				errs = append(errs, t.store.Delete(ctx, m.key))
				continue
			}
			_, cerr := t.store.CompareAndSwap(ctx, m.key, m.new, m.old, ttl)
			errs = append(errs, cerr)
		}
		return errors.Join(errs...)
	}
	// A marker holds when its unit was counted and by which event, so that
	// a repeated value costs one read, and only a retry of the event that
	// counted it looks further.
	stamp := []byte(strconv.FormatInt(at.UnixNano(), 10) + "|" + hash(evKey))
	retry := false
	for _, u := range units {
		mkey := key + "/u/" + hash(u)
		if len(spec.Distinct) > 0 {
			old, ok, err := t.store.Get(ctx, mkey)
			if err != nil {
				return nil, undo(err)
			}
			if ok {
				counted, by := parseMarker(old)
				if by == hash(evKey) {
					retry = true
					continue
				}
				if at.Before(counted) || at.Sub(counted) < w {
					continue // counted in this window already, or later
				}
				// Counted a window ago or more: it counts again.
				swapped, err := t.store.CompareAndSwap(ctx, mkey, old, stamp, ttl)
				if err != nil {
					return nil, undo(err)
				}
				if swapped {
					added++
					renewed = append(renewed, moved{mkey, old, stamp})
				}
				continue
			}
		}
		stored, err := t.store.PutIfAbsent(ctx, mkey, stamp, ttl)
		if err != nil {
			return nil, undo(err)
		}
		if stored {
			added++
			claimed = append(claimed, mkey)
			continue
		}
		// Counted before: by this very event (delivered twice, retried), or
		// for a distinct value, by another at the same moment.
		if old, ok, err := t.store.Get(ctx, mkey); err != nil {
			return nil, undo(err)
		} else if _, by := parseMarker(old); ok && by == hash(evKey) {
			retry = true
		}
	}
	if added == 0 {
		if !retry {
			return nil, nil
		}
		// A retry: raise again only if this event raised the alert.
		cur, ok, err := t.store.Get(ctx, key)
		if err != nil || !ok {
			return nil, err
		}
		var st thresholdState
		if json.Unmarshal(cur, &st) != nil || st.Alert != evKey {
			return nil, nil
		}
		return &Crossing{Count: st.AlertCount, Window: w, First: st.First, Distinct: spec.Distinct}, nil
	}

	// 2. Add to the bucket of the event's time, with a compare-and-swap
	// loop: concurrent observers retry on each other's writes.
	sample := Sample{Time: at.UTC(), ID: clip(ev.ID(), 128), Name: clip(ev.Name(), 128), SourceIP: clip(ev.SourceIP(), 64)}
	for range 32 {
		cur, ok, err := t.store.Get(ctx, key)
		if err != nil {
			return nil, undo(err)
		}
		var st thresholdState
		if ok && json.Unmarshal(cur, &st) != nil {
			st = thresholdState{} // unreadable: start again
		}
		count, counted := st.add(idx, added)
		if !counted {
			return nil, nil // older than the recent window: not counted
		}
		st.keepSample(sample, at, w)
		var cross *Crossing
		if count >= int64(spec.Count) && at.UnixNano() >= st.Quiet {
			st.Quiet = at.Add(w).UnixNano()
			st.Alert, st.AlertCount = evKey, int(count)
			cross = &Crossing{Count: int(count), Window: w, First: slices.Clone(st.First), Distinct: spec.Distinct}
		}
		next, err := json.Marshal(&st)
		if err != nil {
			return nil, undo(err)
		}
		var swapped bool
		if ok {
			swapped, err = t.store.CompareAndSwap(ctx, key, cur, next, ttl)
		} else {
			swapped, err = t.store.PutIfAbsent(ctx, key, next, ttl)
		}
		if err != nil {
			return nil, undo(err)
		}
		if swapped {
			return cross, nil
		}
	}
	return nil, undo(errors.New("too much contention on one threshold counter"))
}

// add counts n at bucket idx and returns the count of the window ending at
// idx; counted is false for an event older than every kept bucket's
// window, which is dropped.
func (st *thresholdState) add(idx, n int64) (count int64, counted bool) {
	newest := idx
	for _, b := range st.Buckets {
		newest = max(newest, b[0])
	}
	if idx <= newest-thresholdBuckets {
		return 0, false
	}
	kept := st.Buckets[:0]
	found := false
	for _, b := range st.Buckets {
		if b[0] <= newest-thresholdBuckets {
			continue
		}
		if b[0] == idx {
			b[1] += n
			found = true
		}
		kept = append(kept, b)
	}
	if !found {
		kept = append(kept, [2]int64{idx, n})
	}
	st.Buckets = kept
	for _, b := range st.Buckets {
		if b[0] > idx-thresholdBuckets && b[0] <= idx {
			count += b[1]
		}
	}
	return count, true
}

// keepSample drops samples that left the window and keeps s when there is
// room, so the alert lists the first events of its window.
func (st *thresholdState) keepSample(s Sample, at time.Time, w time.Duration) {
	kept := st.First[:0]
	for _, x := range st.First {
		if at.Sub(x.Time) < w {
			kept = append(kept, x)
		}
	}
	st.First = kept
	if len(st.First) < thresholdSamples {
		st.First = append(st.First, s)
		slices.SortStableFunc(st.First, func(a, b Sample) int { return a.Time.Compare(b.Time) })
	}
}

// thresholdTime is the time a match counts at: the event's own time, so
// that a replay of archived logs counts as the live events did, but the
// clock's time for an event without one or dated further ahead of the clock
// than the detectors believe (DefaultMaxSkew), so that no record can hold a
// window open or keep state alive by claiming to come from the future.
func thresholdTime(ev *event.Event, now time.Time) time.Time {
	t := ev.Time()
	if t.IsZero() || t.After(now.Add(DefaultMaxSkew)) {
		return now
	}
	return t
}

// parseMarker reads a unit marker: when it was counted and a digest of the
// event that counted it. A marker that does not parse counts as long ago.
func parseMarker(b []byte) (time.Time, string) {
	ts, by, _ := strings.Cut(string(b), "|")
	ns, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, by
	}
	return time.Unix(0, ns), by
}

// ttlFor is the TTL that makes an item expire at until, on the store's
// clock, and never less than floor.
func ttlFor(now, until time.Time, floor time.Duration) time.Duration {
	return max(until.Sub(now), floor)
}

// eventKeyOf identifies an event: its id, else a digest of its bytes.
func eventKeyOf(ev *event.Event) string {
	if id := ev.ID(); id != "" {
		return id
	}
	return "raw:" + hash(string(ev.Raw()))
}

// thresholdValues joins the values of names (labels or dotted fields) into
// one text; list fields are taken whole.
func thresholdValues(ev *event.Event, names []string) string {
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(thresholdValue(ev, n))
		b.WriteByte(0)
	}
	return b.String()
}

// thresholdValue reads one label or dotted field of ev.
func thresholdValue(ev *event.Event, name string) string {
	switch name {
	case "principal":
		p := ev.Principal()
		if p.ARN != "" && p.Type != event.PrincipalIAMUser && p.Type != event.PrincipalRoot {
			return p.ARN
		}
		acct := p.AccountID
		if acct == "" {
			acct = ev.Account()
		}
		return acct + "|" + p.Type + "|" + p.Name
	case "principal_arn":
		return ev.Principal().ARN
	case "principal_type":
		return ev.Principal().Type
	case "account":
		return ev.Account()
	case "region":
		return ev.Region()
	case "source_ip":
		return ev.SourceIP()
	case "user_agent":
		return ev.UserAgent()
	case "event_name":
		return ev.Name()
	case "event_source":
		return ev.Source()
	case "error_code":
		return ev.ErrorCode()
	}
	return ev.Field(name)
}

// thresholdUnits returns the distinct values an event adds: each field's
// value, each element of a list, at most maxDistinctPerEvent in all.
func thresholdUnits(ev *event.Event, names []string) []string {
	var out []string
	add := func(name, v string) {
		if v != "" && len(out) < maxDistinctPerEvent {
			out = append(out, name+"="+v)
		}
	}
	for _, n := range names {
		if slices.Contains(ThresholdLabels, n) {
			add(n, thresholdValue(ev, n))
			continue
		}
		v := ev.Value().Get(strings.Split(n, ".")...)
		if v == nil {
			continue
		}
		if v.Type() == fastjson.TypeArray {
			items, _ := v.Array()
			for _, it := range items {
				add(n, jsonText(it))
			}
			continue
		}
		add(n, jsonText(v))
	}
	return out
}

// jsonText is a string's text, or any other value as compact JSON; null is
// "".
func jsonText(v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return string(b)
	case fastjson.TypeNull:
		return ""
	}
	return string(v.MarshalTo(nil))
}

// clip shortens attacker-controlled text kept in state, at a character
// boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// shortDuration writes d without zero units: "10m", "1h30m", "45s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// jaDuration writes d in Japanese: "10分", "1時間30分", "45秒".
func jaDuration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	var b strings.Builder
	if h > 0 {
		fmt.Fprintf(&b, "%d時間", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%d分", m)
	}
	if s > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%d秒", s)
	}
	return b.String()
}
