package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3GetObjectAPI is the one S3 call S3Fetcher makes; *s3.Client has it.
type S3GetObjectAPI interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// S3Fetcher is a Fetcher backed by the AWS SDK's S3 client. The object body
// is streamed, never read whole.
type S3Fetcher struct {
	client S3GetObjectAPI
}

// NewS3Fetcher returns a Fetcher that uses client.
func NewS3Fetcher(client S3GetObjectAPI) *S3Fetcher {
	return &S3Fetcher{client: client}
}

// NewDefaultS3Fetcher builds an S3 client from the default AWS configuration
// chain (environment, shared config and credentials files, SSO, container
// and instance roles). The SDK's own settings apply, including
// AWS_ENDPOINT_URL_S3 and AWS_REGION; with no region configured, us-east-1
// is used.
func NewDefaultS3Fetcher(ctx context.Context) (*S3Fetcher, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return NewS3Fetcher(s3.NewFromConfig(cfg, func(o *s3.Options) {
		// Objects uploaded without checksums are normal; the SDK would
		// otherwise print a line on standard error for each of them.
		o.DisableLogOutputChecksumValidationSkipped = true
	})), nil
}

// Open starts a GetObject and returns its body.
func (f *S3Fetcher) Open(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	out, err := f.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, fmt.Errorf("S3 object does not exist: %w", err)
		}
		return nil, fmt.Errorf("S3 GetObject failed: %w", err)
	}
	return out.Body, nil
}

// VersionFetcher is a Fetcher that can open one version of an object.
// S3Fetcher implements it.
type VersionFetcher interface {
	OpenVersion(ctx context.Context, bucket, key, version string) (io.ReadCloser, error)
}

// openVersion opens version of the object when the notification names one
// and f can, and the object's current version otherwise. Reading the
// version a notification announced means that overwriting the key after
// CloudTrail wrote it cannot change what trailwatch reads.
func openVersion(ctx context.Context, f Fetcher, bucket, key, version string) (io.ReadCloser, error) {
	if vf, ok := f.(VersionFetcher); ok && version != "" {
		return vf.OpenVersion(ctx, bucket, key, version)
	}
	return f.Open(ctx, bucket, key)
}

// OpenVersion starts a GetObject of one version of the object and returns
// its body.
func (f *S3Fetcher) OpenVersion(ctx context.Context, bucket, key, version string) (io.ReadCloser, error) {
	out, err := f.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(version)})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, fmt.Errorf("S3 object version %q does not exist: %w", version, err)
		}
		return nil, fmt.Errorf("S3 GetObject of version %q failed: %w", version, err)
	}
	return out.Body, nil
}
