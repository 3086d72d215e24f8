// Command lambdazip packs a Lambda "bootstrap" executable, and optionally a
// folder such as a configuration bundle (trailwatch bundle), into a
// deployment zip that is byte-for-byte reproducible: fixed entry order,
// modification time and permissions, so the same files always give the same
// zip and the same CodeSha256.
//
//	go run ./tools/lambdazip -o dist/lambda.zip dist/bootstrap
//	go run ./tools/lambdazip -o dist/lambda.zip -dir trailwatch=dist/bundle dist/bootstrap
package main

import (
	"archive/zip"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// epoch is the modification time written for every entry (the zip format
// cannot store times before 1980).
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// dirFlags collects -dir NAME=DIR.
type dirFlags []folder

type folder struct{ name, dir string }

func (d *dirFlags) String() string { return fmt.Sprint(*d) }

func (d *dirFlags) Set(v string) error {
	name, dir, ok := strings.Cut(v, "=")
	name = strings.Trim(name, "/")
	if !ok || name == "" || dir == "" || !fs.ValidPath(name) {
		return errors.New("want NAME=DIR, such as trailwatch=dist/bundle")
	}
	*d = append(*d, folder{name, dir})
	return nil
}

func main() {
	out := flag.String("o", "", "output zip `file`")
	var dirs dirFlags
	flag.Var(&dirs, "dir", "add the files of `NAME=DIR` under NAME/ in the zip (repeatable)")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: lambdazip -o OUT.zip [-dir NAME=DIR]... FILE...")
		os.Exit(2)
	}
	if err := write(*out, flag.Args(), dirs); err != nil {
		fmt.Fprintln(os.Stderr, "lambdazip:", err)
		os.Exit(1)
	}
}

func write(out string, files []string, dirs []folder) (err error) {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	return pack(f, files, dirs)
}

// entry is one file of the zip.
type entry struct {
	name, src string
	mode      fs.FileMode
}

// pack writes files, named by their base names and executable (the
// bootstrap), then the files of each folder under its name, readable, in
// lexical order of their paths.
func pack(w io.Writer, files []string, dirs []folder) error {
	var entries []entry
	for _, name := range files {
		// Executable for everyone, as the Lambda runtime requires of bootstrap.
		entries = append(entries, entry{name: filepath.Base(name), src: name, mode: 0o755})
	}
	for _, d := range dirs {
		var found []entry
		err := filepath.WalkDir(d.dir, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if de.IsDir() {
				return nil
			}
			if !de.Type().IsRegular() {
				return fmt.Errorf("%s is not a regular file", p)
			}
			rel, err := filepath.Rel(d.dir, p)
			if err != nil {
				return err
			}
			found = append(found, entry{name: path.Join(d.name, filepath.ToSlash(rel)), src: p, mode: 0o644})
			return nil
		})
		if err != nil {
			return err
		}
		if len(found) == 0 {
			return fmt.Errorf("%s holds no file", d.dir)
		}
		slices.SortFunc(found, func(a, b entry) int { return strings.Compare(a.name, b.name) })
		entries = append(entries, found...)
	}
	seen := map[string]bool{}
	zw := zip.NewWriter(w)
	for _, e := range entries {
		if seen[e.name] {
			return fmt.Errorf("two files would be %s in the zip", e.name)
		}
		seen[e.name] = true
		if err := add(zw, e); err != nil {
			return err
		}
	}
	return zw.Close()
}

func add(zw *zip.Writer, e entry) error {
	src, err := os.Open(e.src)
	if err != nil {
		return err
	}
	h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: epoch}
	h.SetMode(e.mode)
	dst, err := zw.CreateHeader(h)
	if err == nil {
		_, err = io.Copy(dst, src)
	}
	if cerr := src.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", e.src, err)
	}
	return nil
}
