package cli

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/config/source"
)

// newLoader returns the configuration loader every command uses: the one
// the Lambda function uses, so that a configuration in S3 or SSM (and the
// rule files beside it) is read and checked exactly as the function reads
// it. AWS configuration is loaded only when a reference needs it.
func newLoader(now func() time.Time) *source.Loader {
	a := &lazyAWS{}
	return &source.Loader{S3: &lazyS3{aws: a}, SSM: &lazySSM{aws: a}, Options: config.Options{Now: now}}
}

// loadConfig reads the configuration at ref (a path, s3://bucket/key or
// ssm:NAME) and every file it names.
func loadConfig(ctx context.Context, ref string, now func() time.Time) (*config.Config, error) {
	return newLoader(now).Load(ctx, ref)
}

// lazyAWS loads the default AWS configuration (environment, shared files,
// instance role) once, on first use.
type lazyAWS struct {
	once sync.Once
	cfg  aws.Config
	err  error
}

func (l *lazyAWS) config(ctx context.Context) (aws.Config, error) {
	l.once.Do(func() {
		l.cfg, l.err = awsconfig.LoadDefaultConfig(ctx)
		if l.err == nil && l.cfg.Region == "" {
			l.cfg.Region = "us-east-1"
		}
	})
	return l.cfg, l.err
}

// lazyS3 is an S3 client made on first use.
type lazyS3 struct {
	aws  *lazyAWS
	once sync.Once
	c    *s3.Client
	err  error
}

func (l *lazyS3) client(ctx context.Context) (*s3.Client, error) {
	l.once.Do(func() {
		cfg, err := l.aws.config(ctx)
		if err != nil {
			l.err = err
			return
		}
		l.c = s3.NewFromConfig(cfg, func(o *s3.Options) {
			// Objects uploaded without checksums are normal; the SDK
			// would otherwise print a line on standard error for each.
			o.DisableLogOutputChecksumValidationSkipped = true
		})
	})
	return l.c, l.err
}

func (l *lazyS3) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	c, err := l.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.GetObject(ctx, in, opts...)
}

func (l *lazyS3) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	c, err := l.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.ListObjectsV2(ctx, in, opts...)
}

// lazySSM is an SSM client made on first use.
type lazySSM struct {
	aws  *lazyAWS
	once sync.Once
	c    *ssm.Client
	err  error
}

func (l *lazySSM) client(ctx context.Context) (*ssm.Client, error) {
	l.once.Do(func() {
		cfg, err := l.aws.config(ctx)
		if err != nil {
			l.err = err
			return
		}
		l.c = ssm.NewFromConfig(cfg)
	})
	return l.c, l.err
}

func (l *lazySSM) GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	c, err := l.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.GetParameter(ctx, in, opts...)
}

func (l *lazySSM) GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, opts ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error) {
	c, err := l.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.GetParametersByPath(ctx, in, opts...)
}
