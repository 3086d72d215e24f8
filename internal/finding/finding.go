package finding

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/valyala/fastjson"

	"github.com/trailwatch/trailwatch/internal/event"
)

// The rules finding alerts are raised as. They are not rules of a pack:
// routes, silences and ignore rules name them like any rule id.
const (
	RuleGuardDuty   = "guardduty-finding"
	RuleSecurityHub = "securityhub-finding"
)

// DefaultMaxFindings is Options.MaxFindings when it is 0. Security Hub sends
// one finding per event and BatchImportFindings takes at most 100, so a
// longer list was not written by AWS.
const DefaultMaxFindings = 100

// Options configure a Stage.
type Options struct {
	// Logger receives one finding_skipped line per finding that raises no
	// alert on purpose; nil discards.
	Logger *slog.Logger
	// MaxFindings bounds the findings read from one event; the rest are
	// reported in the error. 0 means DefaultMaxFindings.
	MaxFindings int
}

// Stage turns finding events into alerts. It keeps no state and is safe
// for concurrent use.
type Stage struct {
	log *slog.Logger
	max int
}

// New returns a Stage.
func New(o Options) *Stage {
	s := &Stage{log: o.Logger, max: o.MaxFindings}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.max <= 0 {
		s.max = DefaultMaxFindings
	}
	return s
}

// Alerts returns one alert per finding ev carries, in order, leaving out
// the findings skipped on purpose (archived, resolved, suppressed, passed).
// Each alert's event is the finding's own record, a copy that may be kept,
// with ev's origin. A finding that cannot be read is named in the error,
// and the others still raise their alerts.
func (s *Stage) Alerts(ctx context.Context, ev *event.Event) ([]*event.Alert, error) {
	items, err := Read(ev, s.max)
	var alerts []*event.Alert
	for _, it := range items {
		if it.Skip != "" {
			s.log.InfoContext(ctx, "finding_skipped", "event_id", ev.Str("id"), "finding_id", it.Finding.ID,
				"source", it.Finding.Source.String(), "origin", ev.Origin().String(), "reason", it.Skip)
			continue
		}
		alerts = append(alerts, newAlert(it))
	}
	return alerts, err
}

// Item is one finding of an event.
type Item struct {
	// Finding is what was read of it.
	Finding *event.Finding
	// Record is the finding's own JSON (GuardDuty's detail, or one ASFF
	// finding), with the event's origin.
	Record *event.Event
	// Skip says why the finding raises no alert; "" when it does.
	Skip string
}

// Read returns the findings of ev, a GuardDuty or Security Hub event, at
// most max of them. Findings that cannot be read are left out and named,
// with their place in the event, in the error.
func Read(ev *event.Event, max int) ([]Item, error) {
	v := ev.Value()
	env := envelope{
		id:      text(v.Get("id"), maxID),
		account: text(v.Get("account"), maxID),
		region:  text(v.Get("region"), maxID),
	}
	o := ev.Origin()
	switch ev.Kind() {
	case event.KindGuardDuty:
		d := v.Get("detail")
		if d == nil || d.Type() != fastjson.TypeObject {
			return nil, fmt.Errorf("%s: the GuardDuty event has no detail object", o)
		}
		it, err := guardDuty(d, env, o)
		if err != nil {
			return nil, fmt.Errorf("%s: GuardDuty finding: %w", o, err)
		}
		return []Item{it}, nil
	case event.KindSecurityHub:
		list := v.Get("detail", "findings")
		if list == nil || list.Type() != fastjson.TypeArray {
			return nil, fmt.Errorf("%s: the Security Hub event's detail.findings is not a list", o)
		}
		arr, _ := list.Array()
		var (
			items []Item
			errs  []error
		)
		for i, f := range arr {
			if i == max {
				errs = append(errs, fmt.Errorf("%s: the Security Hub event carries %d findings; only the first %d were read", o, len(arr), max))
				break
			}
			if f.Type() != fastjson.TypeObject {
				errs = append(errs, fmt.Errorf("%s: Security Hub finding %d is not a JSON object", o, i))
				continue
			}
			it, err := securityHub(f, env, o)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: Security Hub finding %d: %w", o, i, err))
				continue
			}
			items = append(items, it)
		}
		return items, errors.Join(errs...)
	}
	return nil, fmt.Errorf("%s: the record is not a GuardDuty or Security Hub event (kind %s)", o, ev.Kind())
}

// envelope holds what the EventBridge event says around its findings,
// used where a finding leaves a fact out.
type envelope struct {
	id, account, region string
}

// errNoID is returned for a finding without an id: it could not be
// delivered once, nor found in the console.
var errNoID = errors.New("the finding has no id")

// record copies v into an event of its own with origin o.
func record(v *fastjson.Value, o event.Origin) (*event.Event, error) {
	return event.Parse(v.MarshalTo(nil), o)
}
