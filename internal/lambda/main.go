package lambda

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/logging"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/pipeline"
)

// The environment variables the function reads. The AWS SDK reads its own
// (AWS_REGION, credentials, AWS_ENDPOINT_URL_<SERVICE>).
const (
	EnvConfig     = "TRAILWATCH_CONFIG"                 // ssm:/name, s3://bucket/key, a file path, or unset for the defaults
	EnvStateTable = "TRAILWATCH_STATE_TABLE"            // the DynamoDB state table
	EnvLogLevel   = "TRAILWATCH_LOG_LEVEL"              // debug, info (default), warn or error
	EnvReload     = "TRAILWATCH_CONFIG_RELOAD_INTERVAL" // how often the configuration is re-read; default 60s
	EnvFunction   = "AWS_LAMBDA_FUNCTION_NAME"
	EnvMemory     = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" // MiB, set by Lambda
	EnvGoMemLimit = "GOMEMLIMIT"
)

// pipelineEngine is the engine the function runs: the pipeline, whose
// batches are the handler's.
type pipelineEngine struct{ *pipeline.Pipeline }

// NewBatch implements Engine.
func (e pipelineEngine) NewBatch() Batch { return e.Pipeline.NewBatch() }

// Scope implements Scoper: each message's events share a pipeline.Scope.
func (e pipelineEngine) Scope() Scope { return e.Pipeline.NewScope() }

// ReloadInterval is how often a warm container re-reads its configuration
// and the files it names, unless TRAILWATCH_CONFIG_RELOAD_INTERVAL says
// otherwise.
const ReloadInterval = 60 * time.Second

// Env is what the function reads from its environment.
type Env struct {
	Config     string
	StateTable string
	Function   string
	LogLevel   slog.Level
	// MemoryMiB is the function's memory size; 0 when unknown.
	MemoryMiB int
	// GoMemLimitSet reports that GOMEMLIMIT was given explicitly.
	GoMemLimitSet bool
	// Reload is how often the configuration is re-read; 0 means
	// ReloadInterval.
	Reload time.Duration
}

// ReadEnv reads the environment through getenv (os.Getenv in production).
func ReadEnv(getenv func(string) string) (Env, error) {
	e := Env{
		Config:        strings.TrimSpace(getenv(EnvConfig)),
		StateTable:    strings.TrimSpace(getenv(EnvStateTable)),
		Function:      getenv(EnvFunction),
		GoMemLimitSet: getenv(EnvGoMemLimit) != "",
	}
	if e.Function == "" {
		e.Function = "trailwatch"
	}
	if lv := getenv(EnvLogLevel); lv != "" {
		if err := e.LogLevel.UnmarshalText([]byte(lv)); err != nil {
			return e, fmt.Errorf("%s=%q is not a log level (want debug, info, warn or error)", EnvLogLevel, lv)
		}
	}
	if v := getenv(EnvReload); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 24*time.Hour {
			return e, fmt.Errorf("%s=%q is not a duration from 1s to 24h, such as 60s or 5m", EnvReload, v)
		}
		e.Reload = d
	}
	if m := getenv(EnvMemory); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n <= 0 {
			return e, fmt.Errorf("%s=%q is not a memory size in MiB", EnvMemory, m)
		}
		e.MemoryMiB = n
	}
	return e, nil
}

// MemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit) for a
// function of the given size: 85% of it, leaving room for the runtime's own
// memory and the stacks the limit does not count. 0 means no limit.
func MemoryLimit(memoryMiB int) int64 {
	if memoryMiB <= 0 {
		return 0
	}
	return int64(memoryMiB) << 20 * 85 / 100
}

// MaxHeldBytes is how much pending alerts may hold in a function of the
// given size before they are delivered early: an eighth of it (16 MiB in
// 128 MiB), or DefaultMaxHeldBytes when the size is unknown. At 48 bytes an
// alert, that is about 300,000 alerts in one message per group.
func MaxHeldBytes(memoryMiB int) int {
	if memoryMiB <= 0 {
		return DefaultMaxHeldBytes
	}
	return memoryMiB << 20 / 8
}

// NewLogger returns the function's logger: JSON lines on w (the function's
// stderr, which Lambda sends to CloudWatch Logs) at level, each naming the
// function.
func NewLogger(w io.Writer, level slog.Level, function string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})).With("function", function)
}

// Setup builds the function's handler from its environment and AWS
// configuration: the configuration source, a Reloader that rebuilds the
// pipeline when the configuration changes (at most every ReloadInterval),
// the shared DynamoDB state store, the ingest reader with its S3 fetcher,
// and the embedded-metric writer on stdout.
func Setup(env Env, awsCfg aws.Config, stdout io.Writer, log *slog.Logger) (*Handler, *Reloader, error) {
	s3c := s3.NewFromConfig(awsCfg)
	src, err := ParseConfigSource(env.Config, ssm.NewFromConfig(awsCfg), s3c)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", EnvConfig, err)
	}
	deps := pipeline.Deps{
		AWS:        &awsCfg,
		StateTable: env.StateTable,
		Stdout:     stdout,
		Logger:     log,
	}
	if env.StateTable == "" {
		log.Warn("state_table_unset", "variable", EnvStateTable,
			"consequence", "state.backend from the configuration is used; without a shared table, retries and concurrent containers may send an alert twice")
	}
	build := func(ctx context.Context, c *config.Config) (Engine, error) {
		if c == nil {
			c = config.Default()
		}
		p, err := pipeline.New(ctx, c, deps)
		if err != nil {
			return nil, err
		}
		return pipelineEngine{p}, nil
	}
	interval := env.Reload
	if interval == 0 {
		interval = ReloadInterval
	}
	reloader := NewReloader(src, build, interval, nil, log)
	h := NewHandler(HandlerOptions{
		// The handler logs every skipped input and bad record itself.
		Reader:       ingest.New(ingest.Options{Fetcher: ingest.NewS3Fetcher(s3c)}),
		Engines:      reloader,
		Logger:       log,
		Metrics:      NewMetrics(stdout, env.Function, nil),
		MaxHeldBytes: MaxHeldBytes(env.MemoryMiB),
	})
	return h, reloader, nil
}

// Main runs trailwatch as a Lambda function: it reads the environment, sets
// up logging, the memory limit and the handler, loads the configuration
// once during the init phase, and serves invocations until Lambda stops the
// process. It returns only when the function cannot start, with the exit
// status.
func Main() int {
	env, err := ReadEnv(os.Getenv)
	log := NewLogger(os.Stderr, env.LogLevel, env.Function)
	if err != nil {
		log.Error("environment_invalid", "error", err)
		return 1
	}
	if limit := MemoryLimit(env.MemoryMiB); limit > 0 && !env.GoMemLimitSet {
		debug.SetMemoryLimit(limit)
	}
	ctx := context.Background()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithLogger(SDKLogger(log)))
	if err != nil {
		log.Error("aws_config_failed", "error", err)
		return 1
	}
	h, reloader, err := Setup(env, awsCfg, os.Stdout, log)
	if err != nil {
		log.Error("setup_failed", "error", err)
		return 1
	}
	// Load and build during the init phase, so the first invocation does
	// not pay for it. A failure here is not fatal: each invocation tries
	// again and answers with the error until the configuration is usable.
	start := time.Now()
	if _, err := reloader.Engine(ctx); err != nil {
		log.Error("config_unavailable", "source", srcName(env.Config), "error", err)
	} else {
		log.Info("config_loaded", "source", srcName(env.Config), "duration_ms", time.Since(start).Milliseconds())
	}
	awslambda.StartWithOptions(h, awslambda.WithContext(ctx))
	return 1 // StartWithOptions only returns when the runtime API is gone
}

// SDKLogger routes the AWS SDK's own log lines (retries, checksum notes)
// into the function's JSON log, as "aws_sdk" lines at debug level, or warn
// for the SDK's warnings, so that every line of the function's log is JSON.
func SDKLogger(log *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		level := slog.LevelDebug
		if c == logging.Warn {
			level = slog.LevelWarn
		}
		log.Log(context.Background(), level, "aws_sdk", "message", fmt.Sprintf(format, v...))
	})
}

func srcName(ref string) string {
	if ref == "" {
		return "embedded defaults"
	}
	return ref
}
