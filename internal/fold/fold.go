package fold

import (
	"cmp"
	"crypto/sha256"
	"slices"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/rule"
)

// DefaultBroadPacks are the packs whose rules rank last when
// Options.BroadPacks is nil: the CIS CloudWatch metric filters, kept
// verbatim for compliance, each of which covers a whole family of calls
// that focused rules describe better.
func DefaultBroadPacks() []string { return []string{"cis"} }

// Options configure a Folder.
type Options struct {
	// Rules are the loaded rules, in load order. Alerts of rules not listed
	// (detectors, thresholds) rank after listed rules of equal severity.
	Rules []*rule.Rule
	// BroadPacks name the packs of broad compliance filters; nil means
	// DefaultBroadPacks, an empty list none.
	BroadPacks []string
}

// Folder folds the alerts of one event into one message. It is immutable
// and safe for concurrent use.
type Folder struct {
	ranks map[string]rank
}

// rank is what a Folder knows of a rule when choosing a message's primary.
type rank struct {
	broad  bool // from a compliance pack
	any    bool // the match does not pin eventName
	fields int  // fields the match requires a value in
	order  int  // load order
}

// New returns a Folder ranking the rules of o.
func New(o Options) *Folder {
	broad := o.BroadPacks
	if broad == nil {
		broad = DefaultBroadPacks()
	}
	f := &Folder{ranks: make(map[string]rank, len(o.Rules))}
	for i, r := range o.Rules {
		if r == nil {
			continue
		}
		rk := rank{broad: slices.Contains(broad, r.Pack), fields: Fields(r.Language, r.Source), order: i}
		if m := r.Matcher(); m != nil {
			_, pinned := m.EventNames()
			rk.any = !pinned
		}
		f.ranks[r.ID] = rk
	}
	return f
}

// Compare orders two alerts of one event, the better primary first (see
// the package documentation). It returns a negative number when a comes
// first.
func (f *Folder) Compare(a, b *event.Alert) int {
	if c := cmp.Compare(b.Rule.Severity, a.Rule.Severity); c != 0 {
		return c
	}
	ra, knownA := f.ranks[a.Rule.ID]
	rb, knownB := f.ranks[b.Rule.ID]
	if c := compareBool(ra.broad, rb.broad); c != 0 {
		return c
	}
	if c := compareBool(ra.any, rb.any); c != 0 {
		return c
	}
	if c := cmp.Compare(rb.fields, ra.fields); c != 0 {
		return c
	}
	if c := compareBool(!knownA, !knownB); c != 0 {
		return c
	}
	if c := cmp.Compare(ra.order, rb.order); c != 0 {
		return c
	}
	return cmp.Compare(a.Rule.ID, b.Rule.ID)
}

// compareBool puts false before true.
func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// Fold returns the one alert standing for alerts, which must all be about
// one event: a copy of the primary with the others in Also, in Compare
// order, and with the context of all of them (the primary's value wins
// where two set the same key). One alert is returned as it is; an alert
// already folded counts as its parts. alerts itself is not changed.
func (f *Folder) Fold(alerts []*event.Alert) *event.Alert {
	parts := Parts(alerts)
	switch len(parts) {
	case 0:
		return nil
	case 1:
		return parts[0]
	}
	slices.SortStableFunc(parts, f.Compare)
	out := *parts[0]
	out.Also = parts[1:]
	merged := false // out.Context is still the primary's own map
	for _, o := range out.Also {
		for k, v := range o.Context {
			if _, ok := out.Context[k]; ok {
				continue
			}
			if !merged {
				c := make(map[string]string, len(out.Context)+len(o.Context))
				for pk, pv := range out.Context {
					c[pk] = pv
				}
				out.Context, merged = c, true
			}
			out.Context[k] = v
		}
	}
	return &out
}

// Parts returns the alerts that alerts stand for: each alert, and for a
// folded one its primary (without Also) followed by Also.
func Parts(alerts []*event.Alert) []*event.Alert {
	out := make([]*event.Alert, 0, len(alerts))
	for _, a := range alerts {
		if a == nil {
			continue
		}
		if len(a.Also) == 0 {
			out = append(out, a)
			continue
		}
		p := *a
		p.Also = nil
		out = append(out, &p)
		out = append(out, Parts(a.Also)...)
	}
	return out
}

// Item is one alert bound for one receiver, as the route stage hands it to
// Messages.
type Item struct {
	Alert    *event.Alert
	Receiver string
	// PerRule keeps the alert out of any fold: the route that reached the
	// receiver asked for one message per rule.
	PerRule bool
}

// Message is one message Messages made: the alert it shows (folded when it
// carries more than one item) and the items it stands for, indexes into
// the slice given to Messages, the primary's first.
type Message struct {
	Alert *event.Alert
	Items []int
}

// Messages decides which items travel together: the items for one receiver
// about one event become one message, except those marked PerRule, which
// stay alone. Messages come in the order of their first item.
func (f *Folder) Messages(items []Item) []Message {
	type key struct {
		receiver string
		id       string
		raw      [sha256.Size]byte
	}
	var out []Message
	at := map[key]int{} // index into out
	for i, it := range items {
		if it.Alert == nil || it.Alert.Event == nil {
			continue
		}
		if it.PerRule {
			out = append(out, Message{Alert: it.Alert, Items: []int{i}})
			continue
		}
		ev := it.Alert.Event
		k := key{receiver: it.Receiver, id: ev.ID(), raw: sha256.Sum256(ev.Raw())}
		if j, ok := at[k]; ok {
			out[j].Items = append(out[j].Items, i)
			continue
		}
		at[k] = len(out)
		out = append(out, Message{Alert: it.Alert, Items: []int{i}})
	}
	for j := range out {
		m := &out[j]
		if len(m.Items) == 1 {
			continue
		}
		slices.SortStableFunc(m.Items, func(a, b int) int { return f.Compare(items[a].Alert, items[b].Alert) })
		alerts := make([]*event.Alert, len(m.Items))
		for i, idx := range m.Items {
			alerts[i] = items[idx].Alert
		}
		m.Alert = f.Fold(alerts)
	}
	return out
}
