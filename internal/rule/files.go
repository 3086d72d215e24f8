package rule

import (
	"fmt"
	"io/fs"
)

// File is a rule file read through a file system rather than from a local
// path: a file of an S3 prefix, an SSM parameter, a file of a bundle. FS
// holds it under Name; messages call it Display, such as
// "s3://bucket/rules/iam.yaml" (Name when empty). Test event files named
// by its rules are read from FS relative to Name.
type File struct {
	FS      fs.FS
	Name    string
	Display string
}

func (f File) display() string {
	if f.Display == "" {
		return f.Name
	}
	return f.Display
}

// load loads the rules of f.
func (f File) load() ([]*Rule, error) {
	return loadFSFile(f.FS, f.Name, f.display(), false)
}

// read returns f's bytes.
func (f File) read() ([]byte, error) {
	b, err := fs.ReadFile(f.FS, f.Name)
	if err != nil {
		return nil, fmt.Errorf("cannot read rule file %s: %w", f.display(), err)
	}
	return b, nil
}
