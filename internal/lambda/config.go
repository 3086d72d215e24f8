package lambda

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// ConfigSource fetches the configuration file's bytes.
type ConfigSource interface {
	Load(ctx context.Context) ([]byte, error)
	// String names the source for logs: "ssm:/trailwatch/config".
	String() string
}

// SSMAPI is the part of the SSM client a ConfigSource uses.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// S3API is the part of the S3 client a ConfigSource uses.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// ParseConfigSource reads TRAILWATCH_CONFIG: "ssm:/name", "s3://bucket/key",
// a file path, or "" for the embedded defaults (nil source).
func ParseConfigSource(ref string, ssmc SSMAPI, s3c S3API) (ConfigSource, error) {
	switch {
	case ref == "":
		return nil, nil
	case strings.HasPrefix(ref, "ssm:"):
		name := strings.TrimPrefix(ref, "ssm:")
		if name == "" {
			return nil, fmt.Errorf("config source %q names no parameter", ref)
		}
		return ssmSource{client: ssmc, name: name}, nil
	case strings.HasPrefix(ref, "s3://"):
		bucket, key, ok := strings.Cut(strings.TrimPrefix(ref, "s3://"), "/")
		if !ok || bucket == "" || key == "" {
			return nil, fmt.Errorf("config source %q: want s3://bucket/key", ref)
		}
		return s3Source{client: s3c, bucket: bucket, key: key}, nil
	}
	return fileSource(ref), nil
}

type ssmSource struct {
	client SSMAPI
	name   string
}

func (s ssmSource) Load(ctx context.Context) ([]byte, error) {
	out, err := s.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(s.name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read config from %s: %w", s, err)
	}
	return []byte(aws.ToString(out.Parameter.Value)), nil
}

func (s ssmSource) String() string { return "ssm:" + s.name }

type s3Source struct {
	client      S3API
	bucket, key string
}

// maxConfigSize bounds a configuration read from S3.
const maxConfigSize = 4 << 20

func (s s3Source) Load(ctx context.Context) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key)})
	if err != nil {
		return nil, fmt.Errorf("read config from %s: %w", s, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config from %s: %w", s, err)
	}
	if len(b) > maxConfigSize {
		return nil, fmt.Errorf("config %s is larger than %d bytes", s, maxConfigSize)
	}
	return b, nil
}

func (s s3Source) String() string { return "s3://" + s.bucket + "/" + s.key }

type fileSource string

func (f fileSource) Load(context.Context) ([]byte, error) { return os.ReadFile(string(f)) }
func (f fileSource) String() string                       { return string(f) }

// BuildFunc compiles a configuration into an Engine; nil bytes mean the
// embedded defaults.
type BuildFunc func(ctx context.Context, config []byte) (Engine, error)

// Reloader is an EngineSource that loads the configuration once per
// container and re-reads it at most every Interval, rebuilding the engine
// only when the bytes changed. A configuration that fails to load or build
// after a good one is logged and the good one kept, so a bad edit does not
// stop alerting.
type Reloader struct {
	src      ConfigSource
	build    BuildFunc
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger

	mu      sync.Mutex
	engine  Engine
	sum     [sha256.Size]byte
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
	var b []byte
	if r.src != nil {
		var err error
		b, err = r.src.Load(ctx)
		if err != nil {
			return r.keep(ctx, err)
		}
	}
	sum := sha256.Sum256(b)
	if r.engine != nil && bytes.Equal(sum[:], r.sum[:]) {
		return r.engine, nil
	}
	e, err := r.build(ctx, b)
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
	r.engine, r.sum = e, sum
	return e, nil
}

func (r *Reloader) keep(ctx context.Context, err error) (Engine, error) {
	if r.engine == nil {
		return nil, err
	}
	r.log.ErrorContext(ctx, "config_reload_failed", "source", r.srcName(), "error", err, "action", "keeping the previous configuration")
	return r.engine, nil
}

func (r *Reloader) srcName() string {
	if r.src == nil {
		return "embedded defaults"
	}
	return r.src.String()
}
