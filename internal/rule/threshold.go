package rule

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/state"
	"github.com/trailwatch/trailwatch/internal/yamlnode"
)

// thresholdKeys are the keys of a rule's threshold, in the order the docs
// list them.
var thresholdKeys = []string{"count", "window", "by", "distinct"}

// threshold reads a rule's threshold:
//
//	threshold: {count: 20, window: 10m, by: [principal], distinct: [requestParameters.secretId]}
//
// nil when it is invalid (the errors are recorded).
func (p *fileParser) threshold(kv *ast.MappingValueNode, who string) *detect.ThresholdSpec {
	m, ok := kv.Value.(*ast.MappingNode)
	if !ok {
		p.errorf(line(kv.Key), "%sthreshold must be a mapping (threshold: {count: 20, window: 10m, by: [principal]}), found %s", who, yamlnode.Kind(kv.Value))
		return nil
	}
	tw := who + "threshold: "
	n := len(p.errs)
	spec := &detect.ThresholdSpec{}
	var countSeen, windowSeen bool
	for _, f := range p.entries(m, tw, thresholdKeys, "a threshold has the keys "+strings.Join(thresholdKeys, ", ")) {
		k, _ := keyText(f.Key)
		kl := line(f.Key)
		switch k {
		case "count":
			countSeen = true
			in, ok := f.Value.(*ast.IntegerNode)
			if !ok {
				p.errorf(kl, "%scount must be a whole number, found %s", tw, yamlnode.Kind(f.Value))
				continue
			}
			c, err := strconv.Atoi(in.GetToken().Value)
			if err != nil {
				p.errorf(kl, "%scount %s is not a whole number", tw, in.GetToken().Value)
				continue
			}
			spec.Count = c
		case "window":
			windowSeen = true
			s, ok := scalar(f.Value)
			if !ok || s == "" {
				p.errorf(kl, "%swindow must be a duration like 10m or 1h, found %s", tw, yamlnode.Kind(f.Value))
				continue
			}
			d, err := time.ParseDuration(s)
			if err != nil {
				p.errorf(kl, "%swindow %q is not a duration (like 10m or 1h)", tw, s)
				continue
			}
			spec.Window = d
		case "by":
			spec.By = p.texts(f, tw)
		case "distinct":
			spec.Distinct = p.texts(f, tw)
		}
	}
	if !countSeen {
		p.errorf(line(kv.Key), "%smissing key \"count\"", tw)
	}
	if !windowSeen {
		p.errorf(line(kv.Key), "%smissing key \"window\"", tw)
	}
	if len(p.errs) > n {
		return nil
	}
	for _, msg := range spec.Check() {
		p.errorf(line(kv.Key), "%s%s", tw, msg)
	}
	if len(p.errs) > n {
		return nil
	}
	return spec
}

// WithStore returns a Set with the same rules whose thresholds count in
// store, shared by every process using it (the pipeline's state store). A
// Set from NewSet counts in memory, over its own life: one run of
// `trailwatch check`.
func (s *Set) WithStore(store state.Store, now func() time.Time) *Set {
	c := *s
	if c.counter != nil {
		c.counter = detect.NewThresholds(store, now)
	}
	return &c
}

// WithoutThresholds returns a Set with the same rules that alerts on every
// match, thresholds or not: for previews of one event (`route test`,
// `render`), which should show where a thresholded rule's alert would go
// and how it would read rather than nothing.
func (s *Set) WithoutThresholds() *Set {
	c := *s
	c.counter = nil
	return &c
}

// hasThresholds reports whether any rule has a threshold.
func hasThresholds(rules []*Rule) bool {
	for _, r := range rules {
		if r.Threshold != nil {
			return true
		}
	}
	return false
}

// counted passes a thresholded rule's match through the set's counter: it
// returns the alert's annotations when this match reaches the threshold,
// and ok false when the match only counts.
func (s *Set) counted(ctx context.Context, r *Rule, ev *event.Event, ann string) (text string, local map[string]string, facts map[string]string, ok bool, err error) {
	c, err := s.counter.Observe(ctx, r.ID, r.Threshold, ev)
	if err != nil || c == nil {
		return "", nil, nil, false, err
	}
	text, local = c.Annotation(), c.Annotations()
	if ann != "" {
		text = ann + "; " + text
		for loc, v := range local {
			local[loc] = ann + "; " + v
		}
	}
	return text, local, c.Context(), true, nil
}
