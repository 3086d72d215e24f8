package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

// S3API is the part of the S3 client a Loader uses (*s3.Client).
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// SSMAPI is the part of the SSM client a Loader uses (*ssm.Client).
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error)
}

// s3Store is one bucket: keys are names, "/" separates folders.
type s3Store struct {
	client S3API
	bucket string
}

func (s *s3Store) ref(name string) string { return "s3://" + s.bucket + "/" + name }

func (s *s3Store) read(ctx context.Context, key string, limit int64) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, awsError(err, "s3:GetObject", s.ref(key))
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.ref(key), err)
	}
	return b, nil
}

func (s *s3Store) list(ctx context.Context, dir string) ([]entry, error) {
	prefix := ""
	if dir != "." {
		prefix = dir + "/"
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")}
	var out []entry
	for {
		page, err := s.client.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, awsError(err, "s3:ListBucket", "s3://"+s.bucket+"/"+prefix)
		}
		for _, p := range page.CommonPrefixes {
			name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(p.Prefix), prefix), "/")
			if name != "" && !strings.Contains(name, "/") {
				out = append(out, entry{name: name, dir: true})
			}
		}
		for _, o := range page.Contents {
			name := strings.TrimPrefix(aws.ToString(o.Key), prefix)
			if name == "" || strings.Contains(name, "/") {
				continue // the folder's own marker object, or no valid name
			}
			out = append(out, entry{name: name, size: aws.ToInt64(o.Size)})
		}
		if len(out) > MaxListed {
			return nil, fmt.Errorf("%s holds more than %d objects; name a narrower prefix", s.ref(prefix), MaxListed)
		}
		if !aws.ToBool(page.IsTruncated) || page.NextContinuationToken == nil {
			break
		}
		in.ContinuationToken = page.NextContinuationToken
	}
	return children(out), nil
}

// ssmStore is Parameter Store: a parameter /a/b/c is the file a/b/c.
// Listings keep the values they return, so reading a listed parameter
// costs no further request.
type ssmStore struct {
	client SSMAPI
	values map[string]string // name (no leading /) → value, from listings
}

func (s *ssmStore) ref(name string) string { return "ssm:/" + name }

func (s *ssmStore) read(ctx context.Context, name string, limit int64) ([]byte, error) {
	if v, ok := s.values[name]; ok {
		return []byte(v), nil
	}
	// Rule files are plain String parameters; decryption is never asked
	// for, so a SecureString (a secret) is refused below, not read.
	out, err := s.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/" + name), WithDecryption: aws.Bool(false)})
	if err != nil {
		return nil, awsError(err, "ssm:GetParameter", s.ref(name))
	}
	if out.Parameter == nil {
		return nil, fmt.Errorf("%s: %w", s.ref(name), fs.ErrNotExist)
	}
	if out.Parameter.Type == ssmtypes.ParameterTypeSecureString {
		return nil, fmt.Errorf("%s is a SecureString parameter, which holds a secret; keep rule files and templates in String parameters", s.ref(name))
	}
	v := aws.ToString(out.Parameter.Value)
	if int64(len(v)) > limit {
		return []byte(v)[:limit+1], nil
	}
	return []byte(v), nil
}

func (s *ssmStore) list(ctx context.Context, dir string) ([]entry, error) {
	p := "/"
	if dir != "." {
		p = "/" + dir
	}
	in := &ssm.GetParametersByPathInput{Path: aws.String(p), Recursive: aws.Bool(true), WithDecryption: aws.Bool(false), MaxResults: aws.Int32(10)}
	var found []entry
	for {
		page, err := s.client.GetParametersByPath(ctx, in)
		if err != nil {
			return nil, awsError(err, "ssm:GetParametersByPath", "ssm:"+p)
		}
		for _, prm := range page.Parameters {
			name := strings.TrimPrefix(aws.ToString(prm.Name), "/")
			rel := name
			if dir != "." {
				var ok bool
				if rel, ok = strings.CutPrefix(name, dir+"/"); !ok {
					continue
				}
			}
			secure := prm.Type == ssmtypes.ParameterTypeSecureString
			v := aws.ToString(prm.Value)
			if !secure {
				s.values[name] = v
			}
			found = append(found, entry{name: rel, size: int64(len(v)), secure: secure})
		}
		if len(found) > MaxListed {
			return nil, fmt.Errorf("ssm:%s holds more than %d parameters; name a narrower path", p, MaxListed)
		}
		if page.NextToken == nil || *page.NextToken == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	return children(found), nil
}

// awsError turns an SDK failure into one sentence naming the object and,
// for a refusal, the permission the role needs. A missing object or
// parameter wraps fs.ErrNotExist.
func awsError(err error, action, ref string) error {
	var (
		nsk *s3types.NoSuchKey
		nsb *s3types.NoSuchBucket
		pnf *ssmtypes.ParameterNotFound
	)
	switch {
	case errors.As(err, &nsk), errors.As(err, &pnf):
		return fmt.Errorf("%s: %w", ref, fs.ErrNotExist)
	case errors.As(err, &nsb):
		return fmt.Errorf("%s: no such bucket", ref)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch code := api.ErrorCode(); {
		case code == "NotFound" || code == "NoSuchKey":
			return fmt.Errorf("%s: %w", ref, fs.ErrNotExist)
		case strings.Contains(code, "AccessDenied"):
			return fmt.Errorf("%s: access denied: allow %s on it to the role reading the configuration (docs/deploy.md): %w", ref, action, err)
		}
	}
	return fmt.Errorf("%s: %s failed: %w", ref, action, err)
}
