package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/config/tattletail"
)

// Limits on what one configuration may name, besides config.MaxFileSize
// per file.
const (
	MaxFiles = 1000     // rule files
	MaxBytes = 64 << 20 // bytes of all files together
)

// Loader reads configurations and the files they name. A nil client makes
// a reference that needs it fail with an error saying so. A Loader is safe
// for concurrent use; each Load reads afresh.
type Loader struct {
	S3  S3API
	SSM SSMAPI
	// Options are the configuration parser's (its clock).
	Options config.Options
}

// Load reads the configuration at ref (a path, s3://bucket/key or
// ssm:NAME) and every file it names, as the Lambda function and every
// command do. Every problem is returned, each naming its file and line.
func (l *Loader) Load(ctx context.Context, ref string) (*config.Config, error) {
	c, err := l.Inspect(ctx, ref)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Inspect is Load for validate: besides every problem of the configuration
// and of the files it names, it returns the configuration as far as it
// could be read (nil when it could not be read at all), so that the rules
// can be checked in the same run. Such a configuration must not be run.
func (l *Loader) Inspect(ctx context.Context, ref string) (*config.Config, error) {
	c, _, err := l.inspect(ctx, ref)
	return c, err
}

// inspect is Inspect, also returning what was read.
func (l *Loader) inspect(ctx context.Context, ref string) (*config.Config, *reading, error) {
	loc, err := Parse(ref)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	r := &reading{l: l, ctx: ctx, loc: loc, h: sha256.New(), fsys: map[string]*remoteFS{}, snapshot: memFS{}}
	data, err := r.readConfig()
	if err != nil {
		return nil, nil, err
	}
	r.config = data
	display := loc.String()
	var c *config.Config
	var perr error
	if tattletail.Is(display, data) {
		c, perr = tattletail.Convert(display, data, l.Options)
	} else {
		c, perr = config.Inspect(display, data, l.Options)
	}
	if c == nil {
		return nil, nil, perr
	}
	r.c = c
	r.add(display, data)
	errs := []error{perr}
	if loc.Kind != Local {
		// Paths on this machine (a state file) are relative to the working
		// directory; nothing else is.
		c.Dir = "."
		errs = append(errs, r.geoip())
	}
	errs = append(errs, r.ruleFiles())
	errs = append(errs, c.ReadTemplateFiles(r.template))
	c.Digest = hex.EncodeToString(r.h.Sum(nil))
	return c, r, errors.Join(errs...)
}

// reading is one Load: what was read, and its digest.
type reading struct {
	l        *Loader
	ctx      context.Context
	loc      Location
	c        *config.Config
	h        hash.Hash
	total    int64
	files    int
	fsys     map[string]*remoteFS
	snapshot memFS
	// config is the configuration's text; read lists every file read
	// after it, for bundles.
	config []byte
	read   []readFile
}

// readFile is one file a configuration named, as read.
type readFile struct {
	loc  Location // where it lives
	data []byte
	// listed is set for a file found by listing an SSM path: any name, so
	// a bundle gives it a rule file's extension.
	listed bool
}

// add counts one file read into the digest and the limits.
func (r *reading) add(name string, data []byte) error {
	r.total += int64(len(data))
	io.WriteString(r.h, strconv.Quote(name))
	io.WriteString(r.h, strconv.Itoa(len(data))+"\n")
	r.h.Write(data)
	if r.total > MaxBytes {
		return fmt.Errorf("the configuration and the files it names are larger than %d bytes together", MaxBytes)
	}
	return nil
}

func (r *reading) readConfig() ([]byte, error) {
	loc := r.loc
	var b []byte
	switch loc.Kind {
	case Local:
		f, err := os.Open(loc.Path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		defer f.Close()
		if b, err = io.ReadAll(io.LimitReader(f, config.MaxFileSize+1)); err != nil {
			return nil, fmt.Errorf("config: read %s: %w", loc.Path, err)
		}
	case S3:
		if r.l.S3 == nil {
			return nil, fmt.Errorf("config %s: no S3 client (no AWS configuration could be loaded)", loc)
		}
		out, err := r.l.S3.GetObject(r.ctx, &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Path)})
		if err != nil {
			return nil, fmt.Errorf("read config from %w", awsError(err, "s3:GetObject", loc.String()))
		}
		defer out.Body.Close()
		if b, err = io.ReadAll(io.LimitReader(out.Body, config.MaxFileSize+1)); err != nil {
			return nil, fmt.Errorf("read config from %s: %w", loc, err)
		}
	case SSM:
		if r.l.SSM == nil {
			return nil, fmt.Errorf("config %s: no SSM client (no AWS configuration could be loaded)", loc)
		}
		out, err := r.l.SSM.GetParameter(r.ctx, &ssm.GetParameterInput{Name: aws.String(loc.Path), WithDecryption: aws.Bool(true)})
		if err != nil {
			return nil, fmt.Errorf("read config from %w", awsError(err, "ssm:GetParameter", loc.String()))
		}
		if out.Parameter == nil {
			return nil, fmt.Errorf("read config from %s: no value", loc)
		}
		b = []byte(aws.ToString(out.Parameter.Value))
	}
	if len(b) > config.MaxFileSize {
		return nil, fmt.Errorf("config %s is larger than %d bytes", loc, config.MaxFileSize)
	}
	return b, nil
}

// remote returns the file system of a remote location and the location's
// name in it ("." for the top).
func (r *reading) remote(loc Location) (*remoteFS, string, error) {
	var key string
	var st store
	switch loc.Kind {
	case S3:
		if r.l.S3 == nil {
			return nil, "", fmt.Errorf("%s: no S3 client (no AWS configuration could be loaded)", loc)
		}
		key, st = "s3\x00"+loc.Bucket, &s3Store{client: r.l.S3, bucket: loc.Bucket}
	case SSM:
		if r.l.SSM == nil {
			return nil, "", fmt.Errorf("%s: no SSM client (no AWS configuration could be loaded)", loc)
		}
		key, st = "ssm", &ssmStore{client: r.l.SSM, values: map[string]string{}}
	default:
		return nil, "", fmt.Errorf("%s is not remote", loc)
	}
	f, ok := r.fsys[key]
	if !ok {
		f = newRemoteFS(r.ctx, st, config.MaxFileSize)
		r.fsys[key] = f
	}
	name := strings.Trim(loc.Path, "/")
	if name == "" {
		name = "."
	}
	if !fs.ValidPath(name) {
		return nil, "", fmt.Errorf("%s is not a name trailwatch can read (empty, . or .. elements)", loc)
	}
	return f, name, nil
}

// ruleFiles expands rules.files: local paths are kept for the rule loader
// (and read here for the digest); remote files are read into the snapshot
// the rule loader reads from.
func (r *reading) ruleFiles() error {
	c := r.c
	var (
		errs   []error
		local  []string
		remote []config.RuleFile
	)
	for i, f := range c.Rules.Files {
		p := "rules.files[" + strconv.Itoa(i) + "]"
		loc, err := r.loc.Resolve(f)
		if err != nil {
			errs = append(errs, c.Errorf(p, "%v", err))
			continue
		}
		if loc.Kind == Local {
			paths, err := r.localRuleFiles(loc)
			if err != nil {
				errs = append(errs, c.Errorf(p, "%v", err))
				continue
			}
			if len(paths) == 0 {
				errs = append(errs, c.Errorf(p, "%q names no file", f))
				continue
			}
			local = append(local, paths...)
			continue
		}
		files, err := r.remoteRuleFiles(loc)
		if err != nil {
			errs = append(errs, c.Errorf(p, "%v", err))
			continue
		}
		if len(files) == 0 {
			errs = append(errs, c.Errorf(p, "%q names no file", f))
			continue
		}
		remote = append(remote, files...)
	}
	c.UseRuleSources(remote, local)
	return errors.Join(errs...)
}

// localRuleFiles expands a local glob, as the rule loader reads it: files,
// and folders (their rule files, below testdata excepted). Each file is
// read once for the digest.
func (r *reading) localRuleFiles(loc Location) ([]string, error) {
	matches, err := filepath.Glob(strings.TrimSuffix(loc.Path, string(filepath.Separator)))
	if err != nil {
		return nil, fmt.Errorf("bad glob %q", loc.Path)
	}
	for _, m := range matches {
		info, err := os.Stat(m)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", m, err)
		}
		if !info.IsDir() {
			if err := r.digestLocal(m); err != nil {
				return nil, err
			}
			continue
		}
		err = filepath.WalkDir(m, func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if name != m && d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if ruleFileName(name) {
				return r.digestLocal(name)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("cannot read the rule files under %s: %w", m, err)
		}
	}
	return matches, nil
}

func (r *reading) digestLocal(name string) error {
	r.files++
	if r.files > MaxFiles {
		return fmt.Errorf("more than %d rule files", MaxFiles)
	}
	b, err := readLocal(name)
	if err != nil {
		return err
	}
	r.read = append(r.read, readFile{loc: Location{Kind: Local, Path: name}, data: b})
	return r.add(name, b)
}

// readLocal reads a local file of at most config.MaxFileSize bytes.
func readLocal(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, config.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", name, err)
	}
	if len(b) > config.MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, config.MaxFileSize)
	}
	return b, nil
}

// ruleFileName reports a rule file's extension (.yaml, .yml).
func ruleFileName(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// remoteRuleFiles lists and reads the files a remote location names: the
// object or parameter itself; a glob's matches; or, for a folder (written
// with a trailing / or found to be one), its rule files (*.yaml, *.yml,
// below testdata excepted) in S3 and its String parameters in SSM.
func (r *reading) remoteRuleFiles(loc Location) ([]config.RuleFile, error) {
	fsys, name, err := r.remote(loc)
	if err != nil {
		return nil, err
	}
	var names []string
	folder := false
	switch {
	case hasMeta(name):
		if names, err = glob(fsys, name); err != nil {
			return nil, err
		}
	case loc.Folder() || name == ".":
		folder = true
		if names, err = r.walk(fsys, name, loc.Kind); err != nil {
			return nil, err
		}
	default:
		// A named object or parameter is read directly (only a missing
		// one is looked for as a folder), so reading it needs no right to
		// list what is around it.
		b, err := fsys.ReadFile(name)
		switch {
		case err == nil:
			return r.keep(fsys, loc, []string{name}, map[string][]byte{name: b}, false)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("cannot read %s: %w", fsys.store.ref(name), unwrapPath(err))
		}
		folder = true
		if names, err = r.walk(fsys, name, loc.Kind); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil
			}
			return nil, err
		}
	}
	return r.keep(fsys, loc, names, nil, folder)
}

// keep reads the files found (those not already read) into the snapshot.
// folder is set when names come from listing a folder.
func (r *reading) keep(fsys *remoteFS, loc Location, names []string, read map[string][]byte, folder bool) ([]config.RuleFile, error) {
	var out []config.RuleFile
	for _, n := range names {
		r.files++
		if r.files > MaxFiles {
			return nil, fmt.Errorf("more than %d rule files", MaxFiles)
		}
		display := fsys.store.ref(n)
		b, ok := read[n]
		if !ok {
			var err error
			if b, err = fsys.ReadFile(n); err != nil {
				return nil, fmt.Errorf("cannot read %s: %w", display, unwrapPath(err))
			}
		}
		if len(b) > config.MaxFileSize {
			return nil, fmt.Errorf("%s is larger than %d bytes", display, config.MaxFileSize)
		}
		if err := r.add(display, b); err != nil {
			return nil, err
		}
		fl := Location{Kind: loc.Kind, Bucket: loc.Bucket, Path: n}
		if loc.Kind == SSM {
			fl.Path = "/" + n
		}
		r.read = append(r.read, readFile{loc: fl, data: b, listed: loc.Kind == SSM && folder})
		// The snapshot keeps the remote layout, so that a rule's test
		// file written relative to it still names a path inside it.
		key := snapshotName(loc, n)
		r.snapshot[key] = b
		out = append(out, config.RuleFile{FS: r.snapshot, Name: key, Display: display})
	}
	return out, nil
}

func snapshotName(loc Location, name string) string {
	if loc.Kind == S3 {
		return "s3/" + loc.Bucket + "/" + name
	}
	return "ssm/" + name
}

// walk lists the files below dir: rule files for S3 (folders named
// testdata skipped), every String parameter for SSM (a SecureString is a
// secret and is left out, with a note).
func (r *reading) walk(fsys *remoteFS, dir string, kind Kind) ([]string, error) {
	var out []string
	var visit func(d string) error
	visit = func(d string) error {
		l, err := fsys.listing(d)
		if err != nil {
			return err
		}
		for _, e := range l {
			name := e.name
			if d != "." {
				name = d + "/" + e.name
			}
			switch {
			case e.dir:
				if kind == S3 && e.name == "testdata" {
					continue
				}
				if err := visit(name); err != nil {
					return err
				}
			case e.secure:
				r.c.Notes = append(r.c.Notes, fmt.Sprintf("%s is a SecureString parameter (a secret) and is not read as a rule file", fsys.store.ref(name)))
			case kind == SSM || ruleFileName(e.name):
				out = append(out, name)
				if len(out) > MaxFiles {
					return fmt.Errorf("more than %d rule files under %s", MaxFiles, fsys.store.ref(dir))
				}
			}
		}
		return nil
	}
	if err := visit(dir); err != nil {
		return nil, err
	}
	return out, nil
}

// hasMeta reports glob characters.
func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// glob expands pattern element by element, listing only the folders it
// must, and fails (unlike fs.Glob) when a listing fails, so that a refused
// listing is not mistaken for no match.
func glob(fsys *remoteFS, pattern string) ([]string, error) {
	elems := strings.Split(pattern, "/")
	cur := []string{"."}
	for i, el := range elems {
		last := i == len(elems)-1
		var next []string
		for _, dir := range cur {
			if !hasMeta(el) {
				next = append(next, pjoin(dir, el))
				continue
			}
			if _, err := path.Match(el, ""); err != nil {
				return nil, fmt.Errorf("bad glob %q", pattern)
			}
			l, err := fsys.listing(dir)
			if err != nil {
				return nil, err
			}
			for _, e := range l {
				if ok, _ := path.Match(el, e.name); !ok || (!last && !e.dir) || (last && (e.dir || e.secure)) {
					continue
				}
				next = append(next, pjoin(dir, e.name))
			}
		}
		cur = slices.Compact(next)
	}
	var out []string
	for _, n := range cur {
		st, err := fsys.Stat(n)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, n)
		}
	}
	return out, nil
}

func pjoin(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// unwrapPath drops an fs.PathError's operation and path, which the caller
// names better.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// template reads a receiver template written as {file: PATH}.
func (r *reading) template(ref string) ([]byte, error) {
	loc, err := r.loc.Resolve(ref)
	if err != nil {
		return nil, err
	}
	var b []byte
	if loc.Kind == Local {
		if b, err = readLocal(loc.Path); err != nil {
			return nil, unwrapPath(err)
		}
	} else {
		fsys, name, err := r.remote(loc)
		if err != nil {
			return nil, err
		}
		if b, err = fsys.ReadFile(name); err != nil {
			return nil, unwrapPath(err)
		}
	}
	if err := r.add(loc.String(), b); err != nil {
		return nil, err
	}
	r.read = append(r.read, readFile{loc: loc, data: b})
	return b, nil
}

// geoip makes a remote configuration's relative GeoIP paths point beside
// it: an S3 object in the same prefix. A database cannot be an SSM
// parameter (it is binary and large).
func (r *reading) geoip() error {
	var errs []error
	for i, g := range r.c.GeoIP {
		if strings.HasPrefix(g, "s3://") || filepath.IsAbs(g) {
			continue
		}
		p := "geoip[" + strconv.Itoa(i) + "]"
		loc, err := r.loc.Resolve(g)
		if err != nil {
			errs = append(errs, r.c.Errorf(p, "%v", err))
			continue
		}
		if loc.Kind != S3 {
			errs = append(errs, r.c.Errorf(p, "%q is relative to %s, but a GeoIP database cannot be an SSM parameter; write s3://bucket/key or an absolute path", g, r.loc))
			continue
		}
		r.c.GeoIP[i] = loc.String()
	}
	return errors.Join(errs...)
}
