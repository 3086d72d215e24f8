package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/state"
)

// deliverBatch bounds the alerts held before they are delivered, so a long
// replay delivers as it goes and holds little.
const deliverBatch = 1000

// The detectors' and thresholds' state is read and written in batches
// (pipeline.Scope) of stateBatch events, across inputs: a batch per input
// would cost a file store transaction per small log file. What a batch
// wrote is also flushed every stateEvery, so that a slow input (a live
// standard input) holds no write longer. A crash loses at most the writes
// since the last flush, and reading those events again counts them once.
const (
	stateBatch = 10000
	stateEvery = time.Second
)

// pipelineRun is `trailwatch check --config`: events through the whole
// pipeline of the configuration (rules, detectors, routes, receivers),
// delivered for real, or rendered only with --dry-run, or only learnt from
// with --learn.
type pipelineRun struct {
	*checker
	p     *pipeline.Pipeline
	learn bool
	// pending holds the alerts not yet delivered, little of each (see
	// pipeline.Batch); nil when none is.
	pending *pipeline.Batch
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
	cfg, err := loadConfig(ctx, path, nil)
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

// run reads every input in order through the pipeline (the rules on every
// core, see mapEvents; the state in order, here). The first failure
// of the state store ends the run: reading on would fail on every event
// the detectors or thresholds look at (each after the store's timeout),
// and count nothing.
func (r *pipelineRun) run(ctx context.Context, args []string) (checkStats, error) {
	var st checkStats
	if r.learn && r.p.Detect() == nil {
		return st, errors.New("--learn: the configuration runs no detectors")
	}
	sc := r.p.NewScope()
	defer r.flushEvery(stateEvery)()
	batched := 0 // events in the batch
	endBatch := func() {
		if err := sc.End(ctx); err != nil {
			st.errors++
			fmt.Fprintf(r.errw, "trailwatch: %s\n", clean(err.Error()))
		}
	}
	// The rules are tried where the events are read, on every core; their
	// alerts, the thresholds and the detectors, whose state follows each
	// principal's events in order, run here, in input order.
	// An event that matched no rule and that no detector needs is not
	// kept: it is counted, and its parser reused at once.
	match := func(ctx context.Context, ev *event.Event) (checked, bool) {
		if r.learn {
			return checked{}, r.p.Needs(ev)
		}
		m, err := r.p.Match(ctx, ev)
		return checked{m: m, err: err}, m.Len() > 0 || err != nil || r.p.Needs(ev)
	}
	for res := range mapEvents(ctx, r.in, args, match) {
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
		if ev == nil {
			continue // nothing to do with it (see match)
		}
		if batched == stateBatch {
			endBatch()
			batched = 0
		}
		batched++
		var (
			alerts []*event.Alert
			err    error
		)
		if r.learn {
			err = sc.Learn(ctx, ev)
		} else {
			alerts, err = sc.AlertsOf(ctx, ev, res.Value.m, res.Value.err)
		}
		if err != nil {
			st.errors++
			if serr := sc.Err(); serr != nil {
				fmt.Fprintf(r.errw, "trailwatch: stopped at %s: the state store failed: %s; run the same command again once the store answers (events already counted and alerts already delivered are recognised)\n",
					res.Origin, clean(serr.Error()))
				break
			}
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
		if len(alerts) > 0 {
			if r.pending == nil {
				r.pending = r.p.NewBatch()
			}
			r.pending.AddEvent(alerts...)
			// A live feed is delivered as it comes: its next event may
			// be hours away.
			if r.pending.Len() >= deliverBatch || live(res.Origin) {
				r.deliver(ctx)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return st, errors.Join(err, sc.End(context.WithoutCancel(ctx)))
	}
	if batched > 0 {
		endBatch()
	}
	r.deliver(ctx)
	if r.out != nil {
		if err := r.out.flush(); err != nil {
			return st, fmt.Errorf("cannot write alerts: %w", err)
		}
	}
	return st, nil
}

// flushEvery flushes the state store every d until the returned function
// is called. A failed flush keeps the writes held, and the next batch's
// end reports it.
func (r *pipelineRun) flushEvery(d time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				state.Flush(context.Background(), r.p.Store())
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// deliver sends the pending alerts and reports what could not be sent.
func (r *pipelineRun) deliver(ctx context.Context) {
	b := r.pending
	if b == nil {
		return
	}
	r.pending = nil
	_, err := b.Deliver(ctx)
	r.printer.print()
	switch n := b.Undelivered(); {
	case n > 0:
		r.failed += n
		fmt.Fprintf(r.errw, "trailwatch: %d alerts not delivered: %s\n", n, clean(fmt.Sprint(err)))
	case err != nil:
		fmt.Fprintf(r.errw, "trailwatch: %s\n", clean(err.Error()))
		r.failed++
	}
}
