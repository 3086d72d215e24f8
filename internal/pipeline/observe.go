package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
)

// Observe runs the detectors alone on ev: the stateful half of Alerts.
// Alerts(ctx, ev) is Rules().Alerts(ctx, ev) followed by Observe(ctx, ev),
// their alerts in that order and their errors joined; the split lets a
// caller run the rules, which keep no state, on many goroutines and the
// detectors on one, in input order, as their state needs.
func (p *Pipeline) Observe(ctx context.Context, ev *event.Event) ([]*event.Alert, error) {
	var (
		alerts []*event.Alert
		errs   []error
	)
	for _, d := range p.detectors {
		more, err := d.Observe(ctx, ev)
		alerts = append(alerts, more...)
		if err != nil {
			errs = append(errs, &DetectorError{Err: fmt.Errorf("detectors on %s: %w", ev.Origin(), err)})
		}
	}
	return alerts, errors.Join(errs...)
}
