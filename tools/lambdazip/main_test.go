package main

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
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
	if err := pack(&a, []string{bin}); err != nil {
		t.Fatal(err)
	}
	// A later modification time on disk must not change the zip.
	later := time.Now().Add(time.Hour)
	os.Chtimes(bin, later, later)
	if err := pack(&b, []string{bin}); err != nil {
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
