package main

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPackIsReproducible(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(bin, []byte("\x7fELF pretend binary"), 0o600); err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := pack(&a, []string{bin}, nil); err != nil {
		t.Fatal(err)
	}
	// A later modification time on disk must not change the zip.
	later := time.Now().Add(time.Hour)
	os.Chtimes(bin, later, later)
	if err := pack(&b, []string{bin}, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two packs of the same file differ")
	}
	zr, err := zip.NewReader(bytes.NewReader(a.Bytes()), int64(a.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		t.Fatalf("entries %v; want [bootstrap]", zr.File)
	}
	if m := zr.File[0].Mode(); m.Perm() != 0o755 {
		t.Fatalf("bootstrap mode %v; want 0755", m)
	}
}

// TestPackBundle: a bundle folder goes under its name, files in lexical
// order, readable, after bootstrap; packing twice gives the same bytes.
func TestPackBundle(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	os.WriteFile(bin, []byte("\x7fELF pretend binary"), 0o700)
	bundle := filepath.Join(dir, "bundle")
	for name, data := range map[string]string{
		"trailwatch.yaml":      "rules:\n  files: [rules/*.yaml]\n",
		"rules/b.yaml":         "rules: []\n",
		"rules/a.yaml":         "rules: []\n",
		"templates/title.tmpl": "{{ .Title }}",
	} {
		p := filepath.Join(bundle, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(data), 0o600)
	}
	dirs := []folder{{"trailwatch", bundle}}
	var a, b bytes.Buffer
	if err := pack(&a, []string{bin}, dirs); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(bundle, "rules", "a.yaml"), later, later)
	if err := pack(&b, []string{bin}, dirs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two packs of the same files differ")
	}
	zr, err := zip.NewReader(bytes.NewReader(a.Bytes()), int64(a.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Name != "bootstrap" && f.Mode().Perm() != 0o644 {
			t.Errorf("%s mode %v; want 0644", f.Name, f.Mode())
		}
	}
	want := []string{"bootstrap", "trailwatch/rules/a.yaml", "trailwatch/rules/b.yaml", "trailwatch/templates/title.tmpl", "trailwatch/trailwatch.yaml"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("entries %q, want %q", names, want)
	}
	if err := pack(&a, []string{bin}, []folder{{"trailwatch", filepath.Join(dir, "empty")}}); err == nil {
		t.Error("a missing folder was packed")
	}
}
