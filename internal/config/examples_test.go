package config

import (
	"path/filepath"
	"testing"
)

// TestExamples loads every example configuration: each must load without
// an error.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found %d examples, want at least 5", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := Load(f, Options{}); err != nil {
				t.Errorf("%v", err)
			}
		})
	}
}
