package source

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// MaxListed bounds the entries one listing (an S3 prefix, an SSM path) may
// return, so a configuration pointing at a huge bucket fails clearly
// instead of listing it all.
const MaxListed = 10_000

// store is one remote place seen as a tree of files: an S3 bucket (keys
// split at "/") or SSM Parameter Store (names split at "/").
type store interface {
	// read returns the file's bytes, at most limit of them plus one (so
	// that the caller can tell it is larger); an error wrapping
	// fs.ErrNotExist when there is no such file.
	read(ctx context.Context, name string, limit int64) ([]byte, error)
	// list returns the entries directly inside dir ("." is the top),
	// sorted by name; none (and no error) when dir holds nothing.
	list(ctx context.Context, dir string) ([]entry, error)
	// ref writes a name as the reference a user writes ("s3://b/k").
	ref(name string) string
}

// entry is one name a listing found.
type entry struct {
	name string // the last element
	dir  bool
	size int64
	// secure is set on SecureString parameters: secrets, never rule files.
	secure bool
}

// remoteFS adapts a store to fs.FS, fs.ReadDirFS, fs.ReadFileFS and
// fs.StatFS, so that fs.Glob and fs.WalkDir work on it. Listings are kept
// for its lifetime (one load); ctx bounds every request it makes.
type remoteFS struct {
	ctx   context.Context
	store store
	limit int64 // the largest file read

	mu    sync.Mutex
	lists map[string][]entry
}

func newRemoteFS(ctx context.Context, s store, limit int64) *remoteFS {
	return &remoteFS{ctx: ctx, store: s, limit: limit, lists: map[string][]entry{}}
}

func (r *remoteFS) listing(dir string) ([]entry, error) {
	r.mu.Lock()
	l, ok := r.lists[dir]
	r.mu.Unlock()
	if ok {
		return l, nil
	}
	l, err := r.store.list(r.ctx, dir)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.lists[dir] = l
	r.mu.Unlock()
	return l, nil
}

// ReadDir implements fs.ReadDirFS. A folder with nothing in it does not
// exist, as in S3 and SSM.
func (r *remoteFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	l, err := r.listing(name)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	if len(l) == 0 && name != "." {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	out := make([]fs.DirEntry, len(l))
	for i, e := range l {
		out[i] = dirEntry{e}
	}
	return out, nil
}

// Stat implements fs.StatFS from the parent folder's listing.
func (r *remoteFS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return info{entry{name: ".", dir: true}}, nil
	}
	l, err := r.listing(path.Dir(name))
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	base := path.Base(name)
	// A name can be both a file and a folder (an SSM parameter with
	// parameters under it); the file is what a reference to it reads.
	i := slices.IndexFunc(l, func(e entry) bool { return e.name == base && !e.dir })
	if i < 0 {
		i = slices.IndexFunc(l, func(e entry) bool { return e.name == base })
	}
	if i < 0 {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return info{l[i]}, nil
}

// ReadFile implements fs.ReadFileFS.
func (r *remoteFS) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) || name == "." {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrInvalid}
	}
	b, err := r.store.read(r.ctx, name, r.limit)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return b, nil
}

// Open implements fs.FS: a file's bytes, or a folder to list.
func (r *remoteFS) Open(name string) (fs.File, error) {
	st, err := r.Stat(name)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return &dirFile{r: r, name: name, st: st}, nil
	}
	b, err := r.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(b), st: info{entry{name: path.Base(name), size: int64(len(b))}}}, nil
}

type info struct{ e entry }

func (i info) Name() string { return i.e.name }
func (i info) Size() int64  { return i.e.size }
func (i info) Mode() fs.FileMode {
	if i.e.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (i info) ModTime() time.Time { return time.Time{} }
func (i info) IsDir() bool        { return i.e.dir }
func (i info) Sys() any           { return nil }

type dirEntry struct{ e entry }

func (d dirEntry) Name() string               { return d.e.name }
func (d dirEntry) IsDir() bool                { return d.e.dir }
func (d dirEntry) Type() fs.FileMode          { return info(d).Mode().Type() }
func (d dirEntry) Info() (fs.FileInfo, error) { return info(d), nil }

type memFile struct {
	*bytes.Reader
	st fs.FileInfo
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.st, nil }
func (f *memFile) Close() error               { return nil }

type dirFile struct {
	r    *remoteFS
	name string
	st   fs.FileInfo
	read bool
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.st, nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: errors.New("is a folder")}
}
func (d *dirFile) Close() error { return nil }

// ReadDir implements fs.ReadDirFile.
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if d.read {
		if n > 0 {
			return nil, io.EOF
		}
		return nil, nil
	}
	d.read = true
	return d.r.ReadDir(d.name)
}

// memFS is the files one load read, by name: what the rule loader reads
// from, so that what is built is exactly what was read.
type memFS map[string][]byte

// Open implements fs.FS for files.
func (m memFS) Open(name string) (fs.File, error) {
	b, ok := m[name]
	if !ok || !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &memFile{Reader: bytes.NewReader(b), st: info{entry{name: path.Base(name), size: int64(len(b))}}}, nil
}

// ReadFile implements fs.ReadFileFS.
func (m memFS) ReadFile(name string) ([]byte, error) {
	b, ok := m[name]
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
	}
	return slices.Clone(b), nil
}

// children turns the names found under a folder (relative to it, in any
// order) into the folder's entries: one per first element, a folder where
// there is more below it.
func children(rel []entry) []entry {
	var out []entry
	seen := map[string]int{} // name+kind → index
	for _, e := range rel {
		first, rest, deeper := strings.Cut(e.name, "/")
		if first == "" || (deeper && rest == "") {
			continue // an empty element: no valid fs name
		}
		c := entry{name: first, dir: deeper || e.dir}
		if !c.dir {
			c.size, c.secure = e.size, e.secure
		}
		key := first + "\x00" + map[bool]string{true: "d", false: "f"}[c.dir]
		if _, ok := seen[key]; ok {
			continue
		}
		seen[key] = len(out)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return out
}
