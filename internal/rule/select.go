package rule

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// PacksNone is the --packs value that selects no built-in pack.
const PacksNone = "none"

// Selection says which rules to load.
type Selection struct {
	// Builtin holds the built-in packs (rule files at its root, test files
	// below them); nil means there are none.
	Builtin fs.FS
	// BuiltinName names the built-in folder in messages; default "rules".
	BuiltinName string
	// Packs lists the built-in packs to load by name. Empty loads them all;
	// a single PacksNone loads none.
	Packs []string
	// Paths are extra rule files or folders to load.
	Paths []string
	// Files are extra rule files read through a file system (S3, SSM, a
	// bundle), loaded after Paths.
	Files []File
	// Disabled lists rule ids to leave out. Naming a rule that is not
	// loaded is an error, so that a misspelt id does not go unnoticed.
	Disabled []string
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
		for _, e := range entries {
			if e.IsDir() || !IsRuleFile(e.Name()) || !slices.Contains(packs, PackName(e.Name())) {
				continue
			}
			rules, err := loadFSFile(sel.Builtin, e.Name(), path.Join(display, e.Name()))
			all = append(all, rules...)
			if err != nil {
				errs = append(errs, err)
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

// choosePacks checks the requested pack names against fsys.
func choosePacks(fsys fs.FS, want []string) ([]string, error) {
	if len(want) == 1 && want[0] == PacksNone {
		return nil, nil
	}
	have, err := BuiltinPacks(fsys)
	if err != nil {
		return nil, err
	}
	if len(want) == 0 {
		return have, nil
	}
	var errs []error
	for _, w := range want {
		switch {
		case w == PacksNone:
			errs = append(errs, fmt.Errorf("pack %q cannot be combined with other packs", PacksNone))
		case !slices.Contains(have, w):
			errs = append(errs, fmt.Errorf("unknown pack %q; the built-in packs are %s", w, strings.Join(have, ", ")))
		}
	}
	return want, errors.Join(errs...)
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
