package docs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// awsShim answers the aws commands documents use for worked examples
// (s3 cp, s3 sync, ssm put-parameter) against the stand-ins named by
// AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_SSM. It returns the exit status.
func awsShim(args []string) int {
	var pos []string
	flags := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") {
			pos = append(pos, a)
			continue
		}
		name := strings.TrimPrefix(a, "--")
		switch name {
		case "recursive", "overwrite", "no-overwrite":
			flags[name] = "true"
		default:
			if i+1 < len(args) {
				flags[name] = args[i+1]
				i++
			}
		}
	}
	if len(pos) < 2 {
		fmt.Fprintln(os.Stderr, "aws stand-in: want SERVICE COMMAND")
		return 2
	}
	ctx := context.Background()
	var err error
	switch pos[0] + " " + pos[1] {
	case "s3 cp":
		if len(pos) != 4 {
			err = errors.New("want s3 cp SRC DST")
			break
		}
		err = s3Copy(ctx, pos[2], pos[3], flags["recursive"] == "true")
	case "s3 sync":
		if len(pos) != 4 {
			err = errors.New("want s3 sync SRC DST")
			break
		}
		err = s3Copy(ctx, pos[2], pos[3], true)
	case "ssm put-parameter":
		err = putParameter(ctx, flags)
	default:
		err = fmt.Errorf("aws %s %s is not answered by the stand-ins", pos[0], pos[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "aws stand-in:", err)
		return 1
	}
	return 0
}

func creds() credentials.StaticCredentialsProvider {
	return credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), "")
}

func s3Client() *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(os.Getenv("AWS_ENDPOINT_URL_S3")), UsePathStyle: true, Credentials: creds(),
		DisableLogOutputChecksumValidationSkipped: true})
}

func splitS3(ref string) (bucket, key string, ok bool) {
	rest, ok := strings.CutPrefix(ref, "s3://")
	if !ok {
		return "", "", false
	}
	bucket, key, _ = strings.Cut(rest, "/")
	return bucket, key, true
}

// s3Copy copies a file or, when recursive, a folder, up to S3 or down.
func s3Copy(ctx context.Context, src, dst string, recursive bool) error {
	c := s3Client()
	if bucket, key, ok := splitS3(dst); ok {
		c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}) // exists already: fine
		upload := func(path, key string) error {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(string(b))})
			return err
		}
		if !recursive {
			if strings.HasSuffix(key, "/") || key == "" {
				key += filepath.Base(src)
			}
			return upload(src, key)
		}
		return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			return upload(p, strings.TrimSuffix(key, "/")+"/"+filepath.ToSlash(rel))
		})
	}
	bucket, key, ok := splitS3(src)
	if !ok {
		return errors.New("one of SRC and DST must be s3://")
	}
	download := func(key, path string) error {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return err
		}
		defer out.Body.Close()
		os.MkdirAll(filepath.Dir(path), 0o755)
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, out.Body); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if !recursive {
		return download(key, dst)
	}
	prefix := strings.TrimSuffix(key, "/") + "/"
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			rel := strings.TrimPrefix(aws.ToString(o.Key), prefix)
			if err := download(aws.ToString(o.Key), filepath.Join(dst, filepath.FromSlash(rel))); err != nil {
				return err
			}
			n++
		}
	}
	if n == 0 {
		return os.MkdirAll(dst, 0o755)
	}
	return nil
}

// putParameter stores a parameter; a value file://PATH is read from PATH.
func putParameter(ctx context.Context, flags map[string]string) error {
	value := flags["value"]
	if p, ok := strings.CutPrefix(value, "file://"); ok {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		value = string(b)
	}
	c := ssm.New(ssm.Options{Region: "us-east-1", BaseEndpoint: aws.String(os.Getenv("AWS_ENDPOINT_URL_SSM")), Credentials: creds()})
	in := &ssm.PutParameterInput{Name: aws.String(flags["name"]), Value: aws.String(value), Overwrite: aws.Bool(flags["overwrite"] == "true")}
	if t := flags["type"]; t != "" {
		in.Type = ssmtypes.ParameterType(t)
	}
	_, err := c.PutParameter(ctx, in)
	return err
}
