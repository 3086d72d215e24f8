package source_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/config/source"
	"github.com/trailwatch/trailwatch/internal/config/source/sourcetest"
)

// TestBundleLoadsTheSame: a bundle made from a configuration in S3 or SSM
// loads, from a local folder, the same rules and detectors.
func TestBundleLoadsTheSame(t *testing.T) {
	s3 := sourcetest.NewS3(t)
	s3.Put(t, "cfg", "tw/trailwatch.yaml", []byte("rules:\n  packs: none\n  files: [rules/*.yaml, networks.yaml]\nreceivers:\n  - name: log\n    stdout: {}\n    templates:\n      title: {file: templates/title.tmpl}\nroute:\n  receiver: log\n"))
	s3.Put(t, "cfg", "tw/rules/a.yaml", []byte(userRules))
	s3.Put(t, "cfg", "tw/rules/b.yaml", []byte(moreRules))
	s3.Put(t, "cfg", "tw/networks.yaml", []byte(networks))
	s3.Put(t, "cfg", "tw/templates/title.tmpl", []byte("{{ .Title }}"))
	p := sourcetest.NewSSM(t)
	p.Put("/trailwatch/config", "rules:\n  packs: none\n  files: [rules/, named/networks]\n")
	p.Put("/trailwatch/rules/iam", userRules)
	p.Put("/trailwatch/rules/logging.yaml", moreRules)
	p.Put("/trailwatch/named/networks", networks)
	l := &source.Loader{S3: s3.Client(), SSM: p.Client(), Options: opts}
	for _, c := range []struct {
		ref   string
		files []string
	}{
		{"s3://cfg/tw/trailwatch.yaml", []string{"networks.yaml", "rules/a.yaml", "rules/b.yaml", "templates/title.tmpl", "trailwatch.yaml"}},
		{"ssm:/trailwatch/config", []string{"named/networks", "rules/iam.yaml", "rules/logging.yaml", "trailwatch.yaml"}},
	} {
		b, err := l.Bundle(context.Background(), c.ref)
		if err != nil {
			t.Fatalf("%s: %v", c.ref, err)
		}
		if !slices.Equal(b.Names(), c.files) {
			t.Errorf("%s: bundle %q, want %q", c.ref, b.Names(), c.files)
		}
		dir := filepath.Join(t.TempDir(), "bundle")
		if err := b.Write(dir); err != nil {
			t.Fatal(err)
		}
		orig, err := l.Load(context.Background(), c.ref)
		if err != nil {
			t.Fatal(err)
		}
		local, err := l.Load(context.Background(), filepath.Join(dir, b.Config))
		if err != nil {
			t.Fatalf("%s: the bundle does not load: %v", c.ref, err)
		}
		if want, got := loadRules(t, orig), loadRules(t, local); !slices.Equal(got, want) {
			t.Errorf("%s: the bundle loads %q, the original %q", c.ref, got, want)
		}
		if err := b.Write(dir); err == nil || !strings.Contains(err.Error(), "is not empty") {
			t.Errorf("writing over a bundle: %v", err)
		}
	}
}

func TestBundleRefusesOutsideFiles(t *testing.T) {
	s3 := sourcetest.NewS3(t)
	s3.Put(t, "cfg", "tw/trailwatch.yaml", []byte("rules:\n  files: [s3://shared/rules.yaml]\n"))
	s3.Put(t, "shared", "rules.yaml", []byte(userRules))
	_, err := (&source.Loader{S3: s3.Client(), Options: opts}).Bundle(context.Background(), "s3://cfg/tw/trailwatch.yaml")
	want := "s3://shared/rules.yaml is outside the folder of s3://cfg/tw/trailwatch.yaml, so a bundle cannot hold it at the path the configuration names; keep it beside the configuration and name it relative to it"
	if err == nil || err.Error() != want {
		t.Errorf("error %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("rules:\n  - id: x\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "trailwatch.yaml"), []byte("rules:\n  files: [bad.yaml]\n"), 0o600)
	if _, err := (&source.Loader{Options: opts}).Bundle(context.Background(), filepath.Join(dir, "trailwatch.yaml")); err != nil {
		// The loader reads files; rule errors are the rule loader's to
		// report (bundle runs validate first).
		t.Errorf("error %v", err)
	}
}
