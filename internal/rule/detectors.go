package rule

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/trailwatch/trailwatch/internal/detect"
)

// LoadDetectors returns the stateful detectors declared beside the rules in
// the files sel selects: each file's "networks" and "detectors" keys, merged
// in load order (built-in packs, then sel.Paths, then sel.Files), so a later
// file can patch a detector by id or add networks. Detector ids listed in
// sel.Disabled are turned off. Errors name file and line.
func LoadDetectors(sel Selection) (*detect.Config, error) {
	display := sel.BuiltinName
	if display == "" {
		display = "rules"
	}
	var cfgs []*detect.Config
	var errs []error
	add := func(data []byte, name string, builtin bool) {
		c, err := detectorsIn(data, name, builtin)
		if err != nil {
			errs = append(errs, err)
		}
		if c != nil {
			cfgs = append(cfgs, c)
		}
	}
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
			data, err := fs.ReadFile(sel.Builtin, e.Name())
			if err != nil {
				errs = append(errs, err)
				continue
			}
			add(data, path.Join(display, e.Name()), true)
		}
	}
	for _, p := range sel.Paths {
		files, err := ruleFiles(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, fmt.Errorf("cannot read rule file: %w", err))
				continue
			}
			add(data, f, false)
		}
	}
	for _, f := range sel.Files {
		data, err := f.read()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		add(data, f.display(), false)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	merged, err := detect.Merge(cfgs...)
	if err != nil {
		return nil, err
	}
	off := false
	for i := range merged.Detectors {
		if slices.Contains(sel.Disabled, merged.Detectors[i].ID) {
			merged.Detectors[i].Enabled = &off
		}
	}
	return merged, nil
}

// ruleFiles lists the rule files a path names: the file itself, or the rule
// files below a folder (testdata folders excluded), in walk order.
func ruleFiles(p string) ([]string, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("cannot read rules: %w", err)
	}
	if !info.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name != p && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if IsRuleFile(name) {
			files = append(files, name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list rules: %w", err)
	}
	return files, nil
}

// detectorsIn decodes the networks and detectors keys of one rule file; nil
// when it has neither. Syntax errors are reported by the rule pass. Of a
// built-in pack that outlines (see outline), only those keys are parsed.
func detectorsIn(data []byte, file string, builtin bool) (*detect.Config, error) {
	if builtin {
		if o, ok := outlineOf(data); ok {
			if o.find("networks") == nil && o.find("detectors") == nil {
				return nil, nil
			}
			if f, ok := o.parseOnly("networks", "detectors"); ok {
				return detectorsOf(f, file)
			}
		}
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, nil
	}
	return detectorsOf(f, file)
}

// detectorsOf is detectorsIn on a parsed file.
func detectorsOf(f *ast.File, file string) (*detect.Config, error) {
	var networks, detectors ast.Node
	for _, doc := range f.Docs {
		top, ok := doc.Body.(*ast.MappingNode)
		if !ok {
			continue
		}
		for _, kv := range top.Values {
			switch k, _ := keyText(kv.Key); k {
			case "networks":
				networks = kv.Value
			case "detectors":
				detectors = kv.Value
			}
		}
	}
	if networks == nil && detectors == nil {
		return nil, nil
	}
	c, err := detect.DecodeNodes(networks, detectors)
	if err != nil {
		return nil, withFile(file, err)
	}
	return c, nil
}

// withFile prefixes detector configuration errors with the file name.
func withFile(file string, err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		var ce *detect.ConfigError
		if errors.As(e, &ce) && ce.Line > 0 {
			out = append(out, fmt.Errorf("%s:%d: %s", file, ce.Line, ce.Msg))
			continue
		}
		out = append(out, fmt.Errorf("%s: %w", file, e))
	}
	return errors.Join(out...)
}
