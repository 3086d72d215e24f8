package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/pipeline"
)

// deliverBatch bounds the alerts held before they are delivered, so a long
// replay delivers as it goes and holds little.
const deliverBatch = 1000

// pipelineRun is `trailwatch check --config`: events through the whole
// pipeline of the configuration (rules, detectors, routes, receivers),
// delivered for real, or rendered only with --dry-run, or only learnt from
// with --learn.
type pipelineRun struct {
	*checker
	p       *pipeline.Pipeline
	learn   bool
	pending []*event.Alert
	failed  int
	// printer prints a dry run's messages after each delivery; nil when
	// messages are sent.
	printer *messagePrinter
}

// newPipeline builds the configuration's pipeline for the CLI: the state
// store the configuration names (the file store by default), AWS clients
// only when loading their configuration works, and for a dry run each
// message handed to show instead of being sent (nil drops them).
func newPipeline(ctx context.Context, path string, dryRun bool, show func(pipeline.Message), errw io.Writer) (*pipeline.Pipeline, error) {
	cfg, err := config.Load(path, config.Options{})
	if err != nil {
		return nil, err
	}
	deps := pipeline.Deps{
		ConfigName: path,
		Logger:     slog.New(slog.NewTextHandler(errw, &slog.HandlerOptions{Level: slog.LevelWarn})),
		DryRun:     dryRun,
	}
	if dryRun {
		if show == nil {
			show = func(pipeline.Message) {}
		}
		deps.OnMessage = show
	} else if awsCfg, err := awsconfig.LoadDefaultConfig(ctx); err == nil {
		// Receivers and secrets that need AWS say so at build time when
		// no configuration could be loaded.
		deps.AWS = &awsCfg
	}
	return pipeline.New(ctx, cfg, deps)
}

// run reads every input in order through the pipeline. The rules keep no
// state, so they run where the events are read, on every core (their
// alerts carry clones of the events, kept until delivery); the detectors,
// whose state follows each principal's events in order, run here, on one
// goroutine, in input order, after the rules of each event as
// Pipeline.Alerts runs them.
func (r *pipelineRun) run(ctx context.Context, args []string) (checkStats, error) {
	var st checkStats
	if r.learn && r.p.Detect() == nil {
		return st, errors.New("--learn: the configuration runs no detectors")
	}
	rules := func(ctx context.Context, ev *event.Event) (checked, bool) {
		if r.learn {
			return checked{}, true
		}
		alerts, err := r.p.Rules().Alerts(ctx, ev)
		return checked{alerts: alerts, err: err}, true
	}
	for res := range r.read(ctx, args, rules) {
		if res.Err != nil {
			r.report(&st, res.Err)
			continue
		}
		ev := res.Event
		st.events++
		r.prog.event(res.Origin.Input)
		if st.events%tickEvery == 0 {
			if err := r.tick(); err != nil {
				return st, fmt.Errorf("cannot write alerts: %w", err)
			}
		}
		if r.learn {
			if err := r.p.Detect().Learn(ctx, ev); err != nil {
				st.errors++
				fmt.Fprintf(r.errw, "trailwatch: %s\n", clean(err.Error()))
			}
			continue
		}
		more, derr := r.p.Observe(ctx, ev)
		alerts := append(res.Value.alerts, more...)
		if err := errors.Join(res.Value.err, derr); err != nil {
			st.errors++
			fmt.Fprintf(r.errw, "trailwatch: %s\n", clean(err.Error()))
		}
		for _, a := range alerts {
			st.alerts++
			r.prog.alert()
			st.maxSeverity = max(st.maxSeverity, a.Rule.Severity)
			if r.out != nil {
				if err := r.out.write(a); err != nil {
					return st, fmt.Errorf("cannot write alerts: %w", err)
				}
			}
		}
		if live(res.Origin) && r.out != nil && r.out.pending > 0 {
			// A live feed: show each event's alerts at once.
			if err := r.out.flush(); err != nil {
				return st, fmt.Errorf("cannot write alerts: %w", err)
			}
		}
		r.pending = append(r.pending, alerts...)
		if len(r.pending) >= deliverBatch {
			r.deliver(ctx)
		}
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	r.deliver(ctx)
	if r.out != nil {
		if err := r.out.flush(); err != nil {
			return st, fmt.Errorf("cannot write alerts: %w", err)
		}
	}
	return st, nil
}

// deliver sends the pending alerts and reports what could not be sent.
func (r *pipelineRun) deliver(ctx context.Context) {
	if len(r.pending) == 0 {
		return
	}
	failed, err := r.p.Deliver(ctx, r.pending)
	r.pending = r.pending[:0]
	r.printer.print()
	if err != nil && len(failed) == 0 {
		fmt.Fprintf(r.errw, "trailwatch: %s\n", clean(err.Error()))
		r.failed++
		return
	}
	if len(failed) > 0 {
		r.failed += len(failed)
		fmt.Fprintf(r.errw, "trailwatch: %d alerts not delivered: %s\n", len(failed), clean(fmt.Sprint(err)))
	}
}
