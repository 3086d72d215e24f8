package source

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// Kind is the kind of place a file lives in.
type Kind int

// The kinds of place.
const (
	Local Kind = iota // a path on this machine
	S3                // s3://bucket/key
	SSM               // ssm:/parameter/name
)

// Location is where one file (or a folder, or a glob of files) lives.
type Location struct {
	Kind Kind
	// Bucket is the S3 bucket.
	Bucket string
	// Path is the local path (as written, or joined to the configuration's
	// folder), the S3 key, or the SSM parameter name. It ends with "/" when
	// the reference names a folder.
	Path string
}

// Parse reads a reference: s3://bucket/key, ssm:NAME, or a local path.
func Parse(ref string) (Location, error) {
	switch {
	case strings.HasPrefix(ref, "s3://"):
		bucket, key, _ := strings.Cut(strings.TrimPrefix(ref, "s3://"), "/")
		if bucket == "" {
			return Location{}, fmt.Errorf("%q names no bucket: write s3://bucket/key", ref)
		}
		if strings.ContainsAny(bucket, " \t\r\n") {
			return Location{}, fmt.Errorf("%q: a bucket name has no spaces", ref)
		}
		return Location{Kind: S3, Bucket: bucket, Path: key}, nil
	case strings.HasPrefix(ref, "ssm:"):
		name := strings.TrimPrefix(ref, "ssm:")
		if name == "" || strings.ContainsAny(name, " \t\r\n") {
			return Location{}, fmt.Errorf("%q: want an SSM parameter name such as ssm:/trailwatch/config", ref)
		}
		return Location{Kind: SSM, Path: name}, nil
	case strings.HasPrefix(strings.ToLower(ref), "s3:") || strings.HasPrefix(strings.ToLower(ref), "ssm:"):
		return Location{}, fmt.Errorf("%q: write s3://bucket/key or ssm:/name, in lower case", ref)
	case ref == "":
		return Location{}, fmt.Errorf("empty reference")
	}
	return Location{Kind: Local, Path: ref}, nil
}

// String writes the location as a reference.
func (l Location) String() string {
	switch l.Kind {
	case S3:
		return "s3://" + l.Bucket + "/" + l.Path
	case SSM:
		return "ssm:" + l.Path
	}
	return l.Path
}

// Folder reports whether the location names a folder by ending with "/".
func (l Location) Folder() bool {
	return strings.HasSuffix(l.Path, "/") || (l.Kind == Local && strings.HasSuffix(l.Path, string(filepath.Separator)))
}

// Resolve returns where ref, written in the file at l, points: ref itself
// when it is absolute (s3://, ssm:, or an absolute local path), otherwise
// ref relative to l's folder, in the same kind of place. A relative
// reference may not climb above an S3 bucket or the SSM root.
func (l Location) Resolve(ref string) (Location, error) {
	if strings.Contains(ref, "://") || strings.HasPrefix(ref, "ssm:") {
		return Parse(ref)
	}
	if ref == "" {
		return Location{}, fmt.Errorf("empty path")
	}
	folder := strings.HasSuffix(ref, "/")
	switch l.Kind {
	case S3:
		if strings.HasPrefix(ref, "/") {
			return Location{}, fmt.Errorf("%q: an absolute path next to %s; write it relative to the configuration, or as s3://bucket/key", ref, l)
		}
		p, err := join(path.Dir(l.Path), ref)
		if err != nil {
			return Location{}, fmt.Errorf("%q climbs out of bucket %s", ref, l.Bucket)
		}
		if p == "" {
			return Location{Kind: S3, Bucket: l.Bucket}, nil // the whole bucket
		}
		return Location{Kind: S3, Bucket: l.Bucket, Path: withSlash(p, folder)}, nil
	case SSM:
		if strings.HasPrefix(ref, "/") {
			return Location{Kind: SSM, Path: ref}, nil
		}
		// A name without a leading slash is a top-level parameter; the
		// files beside it are hierarchical names from the root.
		p := path.Join("/", path.Dir(l.Path), ref)
		if p == "/" {
			return Location{}, fmt.Errorf("%q names the SSM root; name a path such as ssm:/trailwatch/rules/", ref)
		}
		return Location{Kind: SSM, Path: withSlash(p, folder)}, nil
	}
	if filepath.IsAbs(ref) {
		return Location{Kind: Local, Path: ref}, nil
	}
	dir := filepath.Dir(l.Path)
	p := filepath.Join(dir, filepath.FromSlash(ref))
	if folder {
		p += string(filepath.Separator)
	}
	return Location{Kind: Local, Path: p}, nil
}

// join joins a relative path to a folder of an S3 bucket ("." is the
// bucket's top), failing when it climbs above it.
func join(dir, rel string) (string, error) {
	p := path.Clean(path.Join(dir, rel))
	switch {
	case p == ".." || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/"):
		return "", fmt.Errorf("outside")
	case p == ".":
		return "", nil
	}
	return p, nil
}

func withSlash(p string, folder bool) string {
	if folder && !strings.HasSuffix(p, "/") {
		return p + "/"
	}
	return p
}
