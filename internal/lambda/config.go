package lambda

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/config/source"
)

// ConfigSource loads the configuration and every file it names (rule,
// network and template files), from where it lives.
type ConfigSource interface {
	Load(ctx context.Context) (*config.Config, error)
	// String names the source for logs: "ssm:/trailwatch/config".
	String() string
}

// ParseConfigSource reads TRAILWATCH_CONFIG: "ssm:/name", "s3://bucket/key",
// a file path (such as the bundle in the function's zip,
// /var/task/trailwatch/trailwatch.yaml), or "" for the embedded defaults
// (nil source). The configuration and the files it names are read through
// the same loader the CLI uses (internal/config/source), so `trailwatch
// validate` checks exactly what the function loads.
func ParseConfigSource(ref string, ssmc source.SSMAPI, s3c source.S3API) (ConfigSource, error) {
	if ref == "" {
		return nil, nil
	}
	loc, err := source.Parse(ref)
	switch {
	case err != nil:
		return nil, fmt.Errorf("config source %q: %w", ref, err)
	case loc.Kind == source.S3 && (loc.Path == "" || loc.Folder()):
		return nil, fmt.Errorf("config source %q: want s3://bucket/key", ref)
	case loc.Folder():
		return nil, fmt.Errorf("config source %q names a folder; name the configuration file", ref)
	}
	return &loaderSource{ref: ref, l: &source.Loader{S3: s3c, SSM: ssmc}}, nil
}

// loaderSource reads a configuration through a source.Loader.
type loaderSource struct {
	ref string
	l   *source.Loader
}

func (s *loaderSource) Load(ctx context.Context) (*config.Config, error) { return s.l.Load(ctx, s.ref) }
func (s *loaderSource) String() string                                   { return s.ref }

// BuildFunc compiles a configuration into an Engine; nil means the
// embedded defaults.
type BuildFunc func(ctx context.Context, c *config.Config) (Engine, error)

// Reloader is an EngineSource that loads the configuration once per
// container and re-reads it, with every file it names, at most every
// Interval, rebuilding the engine only when something read changed (the
// configuration's Digest). A configuration that fails to load or build
// after a good one (a rule file that no longer parses, a glob that matches
// nothing, a template with a typo) is logged with the reason and the good
// one kept, rules and all, so a bad edit does not stop alerting.
type Reloader struct {
	src      ConfigSource
	build    BuildFunc
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger

	mu      sync.Mutex
	engine  Engine
	digest  string
	checked time.Time
}

// NewReloader returns a Reloader; src nil means the embedded defaults.
func NewReloader(src ConfigSource, build BuildFunc, interval time.Duration, now func() time.Time, log *slog.Logger) *Reloader {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reloader{src: src, build: build, interval: interval, now: now, log: log}
}

// Engine implements EngineSource.
func (r *Reloader) Engine(ctx context.Context) (Engine, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.engine != nil && (r.src == nil || r.now().Sub(r.checked) < r.interval) {
		return r.engine, nil
	}
	r.checked = r.now()
	var c *config.Config
	digest := "embedded defaults"
	if r.src != nil {
		var err error
		if c, err = r.src.Load(ctx); err != nil {
			return r.keep(ctx, err)
		}
		digest = c.Digest
	}
	if r.engine != nil && digest == r.digest && digest != "" {
		return r.engine, nil
	}
	e, err := r.build(ctx, c)
	if err != nil {
		return r.keep(ctx, err)
	}
	if r.engine != nil {
		r.log.InfoContext(ctx, "config_reloaded", "source", r.srcName())
		// Invocations run one at a time in a container and each asks for
		// the engine at its start, so the replaced one is idle: release
		// what it holds (a GeoIP database and its temporary file).
		if c, ok := r.engine.(io.Closer); ok {
			if err := c.Close(); err != nil {
				r.log.WarnContext(ctx, "config_close_failed", "error", err)
			}
		}
	}
	r.engine, r.digest = e, digest
	return e, nil
}

func (r *Reloader) keep(ctx context.Context, err error) (Engine, error) {
	if r.engine == nil {
		return nil, err
	}
	r.log.ErrorContext(ctx, "config_reload_failed", "source", r.srcName(), "error", err, "action", "keeping the previous configuration and its rules")
	return r.engine, nil
}

func (r *Reloader) srcName() string {
	if r.src == nil {
		return "embedded defaults"
	}
	return r.src.String()
}
