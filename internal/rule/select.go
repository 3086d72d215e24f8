package rule

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Pack group names: --packs and rules.packs values that stand for several
// built-in packs.
const (
	// PacksNone selects no built-in pack; it cannot be combined.
	PacksNone = "none"
	// PacksAll selects every built-in pack, the opt-in ones included.
	PacksAll = "all"
	// PacksDefault selects the packs that run when none are named: every
	// pack whose file does not say `pack: {default: false}`. It combines
	// with names ("default,cis").
	PacksDefault = "default"
)

// Selection says which rules to load.
type Selection struct {
	// Builtin holds the built-in packs (rule files at its root, test files
	// below them); nil means there are none. Its files are read from
	// several goroutines at once (embed.FS, os.DirFS and fstest.MapFS
	// allow that).
	Builtin fs.FS
	// BuiltinName names the built-in folder in messages; default "rules".
	BuiltinName string
	// Packs lists the built-in packs to load by name, or the groups
	// PacksAll and PacksDefault. Empty loads the default packs; a single
	// PacksNone loads none.
	Packs []string
	// Paths are extra rule files or folders to load.
	Paths []string
	// Files are extra rule files read through a file system (S3, SSM, a
	// bundle), loaded after Paths.
	Files []File
	// Disabled lists rule ids to leave out. Naming a rule that is not
	// loaded is an error, so that a misspelt id does not go unnoticed.
	Disabled []string
	// SkipBuiltinTests leaves the built-in packs' rules without their
	// Tests, whose text is not parsed: check and the Lambda function never
	// run them, and they are most of a pack's text. The built-in packs'
	// tests are run and checked before trailwatch is released; the rule
	// files of Paths and Files are always read whole, so a mistake in one
	// of their tests is still reported.
	SkipBuiltinTests bool
}

// BuiltinPacks returns the names of the packs in fsys, sorted.
func BuiltinPacks(fsys fs.FS) ([]string, error) {
	if fsys == nil {
		return nil, nil
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("cannot list built-in packs: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && IsRuleFile(e.Name()) {
			names = append(names, PackName(e.Name()))
		}
	}
	slices.Sort(names)
	return names, nil
}

// Load loads the rules sel selects: the chosen built-in packs, then the
// extra paths, minus the disabled ids. Every error is reported, joined.
func Load(sel Selection) ([]*Rule, error) {
	display := sel.BuiltinName
	if display == "" {
		display = "rules"
	}
	var all []*Rule
	var errs []error
	packs, err := choosePacks(sel.Builtin, sel.Packs)
	if err != nil {
		return nil, err
	}
	if len(packs) > 0 {
		entries, err := fs.ReadDir(sel.Builtin, ".")
		if err != nil {
			return nil, fmt.Errorf("cannot list built-in packs: %w", err)
		}
		var files []string
		for _, e := range entries {
			if !e.IsDir() && IsRuleFile(e.Name()) && slices.Contains(packs, PackName(e.Name())) {
				files = append(files, e.Name())
			}
		}
		for _, l := range loadPacks(sel.Builtin, files, display, sel.SkipBuiltinTests) {
			all = append(all, l.rules...)
			if l.err != nil {
				errs = append(errs, l.err)
			}
		}
	}
	for _, p := range sel.Paths {
		rules, err := loadPath(p)
		all = append(all, rules...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range sel.Files {
		rules, err := f.load()
		all = append(all, rules...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := Unique(all); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return disable(all, sel.Disabled, func() []string { return detectorIDs(sel) })
}

// loaded is what loading one rule file gave.
type loaded struct {
	rules []*Rule
	err   error
}

// loadPacks loads the built-in pack files named, on as many cores as the
// process may use, and returns what each gave in the order of files:
// parsing the packs is most of what start-up costs, and no file depends on
// another.
func loadPacks(fsys fs.FS, files []string, display string, noTests bool) []loaded {
	out := make([]loaded, len(files))
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				out[i].rules, out[i].err = loadFSFile(fsys, files[i], path.Join(display, files[i]), noTests)
			}
		})
	}
	wg.Wait()
	return out
}

// detectorIDs lists the detector ids the selection declares, so that
// Disabled may name detectors too; a selection whose detectors do not load
// declares none (LoadDetectors reports why).
func detectorIDs(sel Selection) []string {
	sel.Disabled = nil
	cfg, err := LoadDetectors(sel)
	if err != nil || cfg == nil {
		return nil
	}
	ids := make([]string, 0, len(cfg.Detectors))
	for _, d := range cfg.Detectors {
		ids = append(ids, d.ID)
	}
	return ids
}

// Pack describes one built-in pack.
type Pack struct {
	// Name is the pack's file name without extension.
	Name string
	// Default reports whether the pack runs when no pack is named. A pack
	// file opts out with `pack: {default: false}` (the cis compliance pack,
	// the sign-in stream): it then runs only when named.
	Default bool
}

// BuiltinPackList returns the packs in fsys, sorted by name, with whether
// each runs by default.
func BuiltinPackList(fsys fs.FS) ([]Pack, error) {
	names, err := BuiltinPacks(fsys)
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("cannot list built-in packs: %w", err)
	}
	files := map[string]string{}
	for _, e := range entries {
		if !e.IsDir() && IsRuleFile(e.Name()) {
			files[PackName(e.Name())] = e.Name()
		}
	}
	out := make([]Pack, 0, len(names))
	for _, n := range names {
		data, err := fs.ReadFile(fsys, files[n])
		if err != nil {
			return nil, fmt.Errorf("cannot read built-in pack %s: %w", n, err)
		}
		def := false
		if p := tableEntry(packTable, files[n], data); p != nil {
			def = !p.optIn // the table read the pack settings
		} else {
			def = packDefault(data)
		}
		out = append(out, Pack{Name: n, Default: def})
	}
	return out, nil
}

// DefaultPacks returns the names of the packs in fsys that run when no pack
// is named, sorted.
func DefaultPacks(fsys fs.FS) ([]string, error) {
	packs, err := BuiltinPackList(fsys)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range packs {
		if p.Default {
			out = append(out, p.Name)
		}
	}
	return out, nil
}

// choosePacks resolves the requested pack names and groups against fsys.
func choosePacks(fsys fs.FS, want []string) ([]string, error) {
	if len(want) == 1 && want[0] == PacksNone {
		return nil, nil
	}
	if fsys == nil {
		if len(want) == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("no built-in packs to choose %s from", strings.Join(want, ", "))
	}
	packs, err := BuiltinPackList(fsys)
	if err != nil {
		return nil, err
	}
	if len(want) == 0 {
		want = []string{PacksDefault}
	}
	have := make([]string, len(packs))
	for i, p := range packs {
		have[i] = p.Name
	}
	var (
		out  []string
		errs []error
	)
	add := func(name string) {
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	for _, w := range want {
		switch {
		case w == PacksNone:
			errs = append(errs, fmt.Errorf("pack %q cannot be combined with other packs", PacksNone))
		case w == PacksAll:
			for _, p := range packs {
				add(p.Name)
			}
		case w == PacksDefault:
			for _, p := range packs {
				if p.Default {
					add(p.Name)
				}
			}
		case !slices.Contains(have, w):
			errs = append(errs, fmt.Errorf("unknown pack %q; the built-in packs are %s", w, strings.Join(have, ", ")))
		default:
			add(w)
		}
	}
	return out, errors.Join(errs...)
}

// IsPackGroup reports whether name is one of the group names none, all and
// default rather than a pack.
func IsPackGroup(name string) bool {
	return name == PacksNone || name == PacksAll || name == PacksDefault
}

// disable drops the rules whose ids are listed.
// Ids that name no rule may name a detector, which others returns.
func disable(rules []*Rule, ids []string, others func() []string) ([]*Rule, error) {
	if len(ids) == 0 {
		return rules, nil
	}
	known := map[string]bool{}
	for _, r := range rules {
		known[r.ID] = true
	}
	var errs []error
	var detectors []string
	for _, id := range ids {
		if !known[id] && detectors == nil && others != nil {
			detectors = others()
		}
		if !known[id] && !slices.Contains(detectors, id) {
			errs = append(errs, fmt.Errorf("cannot disable %q: no loaded rule or detector has that id", id))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	out := rules[:0:0]
	for _, r := range rules {
		if !slices.Contains(ids, r.ID) {
			out = append(out, r)
		}
	}
	return out, nil
}
