package route

import (
	"github.com/trailwatch/trailwatch/internal/fold"
)

// group folds the candidates left to deliver, the alerts of one event bound
// for one receiver into one message (unless the route asks for one message
// per rule), and gathers the messages into groups by route and group_by
// values. A folded message joins the group of its primary's route, with
// group_by read from the folded alert's labels; its rules are recorded as
// delivered with the group, each under its own delivery key.
func (d *Dispatcher) group(live []*candidate) []*group {
	items := make([]fold.Item, len(live))
	for i, c := range live {
		items[i] = fold.Item{Alert: c.alert, Receiver: c.route.Receiver, PerRule: c.route.PerRule}
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, m := range d.o.Folder.Messages(items) {
		primary := live[m.Items[0]]
		labels := primary.labels
		if len(m.Items) > 1 {
			labels = d.tree.Labels(m.Alert)
		}
		r := primary.route
		gl := groupLabels(r, labels)
		key := GroupKey(r, gl)
		g := byKey[key]
		if g == nil {
			g = &group{key: key, receiver: r.Receiver, route: r, labels: gl}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.msgs = append(g.msgs, m.Alert)
		for _, i := range m.Items {
			g.alerts = append(g.alerts, live[i].alert)
		}
	}
	return groups
}
