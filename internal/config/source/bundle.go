package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/trailwatch/trailwatch/internal/config/tattletail"
)

// Bundle is a configuration with every file it names, laid out as a
// folder: the configuration at the top (Config) and each file at its path
// relative to the configuration, so that the configuration loads from the
// folder exactly as it loads from where it lives. Built into the Lambda
// zip, it needs no S3 or SSM access at all.
type Bundle struct {
	// Config is the configuration's file name in the bundle.
	Config string
	// Files maps each slash-separated path in the bundle to its content;
	// Config is one of them.
	Files map[string][]byte
}

// Bundle reads the configuration at ref and every file it names, as Load
// does, and lays them out as a Bundle. A file outside the configuration's
// folder (another bucket, an absolute path) cannot keep its relative name
// and is an error, as is any problem Load reports.
func (l *Loader) Bundle(ctx context.Context, ref string) (*Bundle, error) {
	c, r, err := l.inspect(ctx, ref)
	if err != nil {
		return nil, err
	}
	name := path.Base(filepath.ToSlash(r.loc.Path))
	if r.loc.Kind == SSM || path.Ext(name) == "" {
		// A parameter has no file name of its own.
		name = "trailwatch.yaml"
		if tattletail.Is(c.File, r.config) {
			name = "tattletail.toml"
		}
	}
	b := &Bundle{Config: name, Files: map[string][]byte{name: r.config}}
	var errs []error
	for _, f := range r.read {
		rel, err := r.loc.relative(f.loc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if f.listed && !ruleFileName(rel) {
			// Found by listing an SSM path, where any name is a rule
			// file; in a folder only *.yaml is.
			rel += ".yaml"
		}
		if prev, ok := b.Files[rel]; ok && string(prev) != string(f.data) {
			errs = append(errs, fmt.Errorf("%s and another file would both be %s in the bundle", f.loc, rel))
			continue
		}
		b.Files[rel] = f.data
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return b, nil
}

// relative returns where the file at f lies relative to the folder of the
// configuration at l, as a slash-separated path inside that folder.
func (l Location) relative(f Location) (string, error) {
	outside := func() (string, error) {
		return "", fmt.Errorf("%s is outside the folder of %s, so a bundle cannot hold it at the path the configuration names; keep it beside the configuration and name it relative to it", f, l)
	}
	var rel string
	switch {
	case l.Kind != f.Kind || l.Bucket != f.Bucket:
		return outside()
	case l.Kind == Local:
		dir, err := filepath.Abs(filepath.Dir(l.Path))
		if err != nil {
			return "", err
		}
		p, err := filepath.Abs(f.Path)
		if err != nil {
			return "", err
		}
		if rel, err = filepath.Rel(dir, p); err != nil {
			return outside()
		}
		rel = filepath.ToSlash(rel)
	default:
		dir := path.Dir(l.Path)
		if dir == "." {
			dir = ""
		}
		var ok bool
		if rel, ok = strings.CutPrefix(f.Path, strings.TrimSuffix(dir, "/")+"/"); !ok && dir != "" {
			return outside()
		}
		if dir == "" {
			rel = strings.TrimPrefix(f.Path, "/")
		}
	}
	if rel == "" || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") || path.IsAbs(rel) {
		return outside()
	}
	return rel, nil
}

// Write lays the bundle out in dir, which must not exist or be empty, so
// that nothing from an earlier bundle is left in it. Paths are written in
// order; folders are made as needed.
func (b *Bundle) Write(dir string) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty; a bundle is written to a new or empty folder, so that nothing older is shipped with it", dir)
	}
	names := make([]string, 0, len(b.Files))
	for n := range b.Files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b.Files[n], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Names returns the bundle's paths, sorted.
func (b *Bundle) Names() []string {
	names := make([]string, 0, len(b.Files))
	for n := range b.Files {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
