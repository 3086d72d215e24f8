package rule

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/rules"
)

func TestLoadDetectorsFromPacksAndFiles(t *testing.T) {
	dir := t.TempDir()
	own := filepath.Join(dir, "team.yaml")
	os.WriteFile(own, []byte(`networks:
  office: [203.0.113.0/24]
detectors:
  - id: signin-failure-burst
    threshold: 3
  - id: office-only
    kind: trusted-network
    networks: [office]
`), 0o600)

	cfg, err := LoadDetectors(Selection{Builtin: rules.FS, Paths: []string{own}, Disabled: []string{"signin-new-user-agent"}})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]int{}
	for i, d := range cfg.Detectors {
		byID[d.ID] = i
	}
	burst, ok := byID["signin-failure-burst"]
	if !ok || cfg.Detectors[burst].Threshold != 3 || cfg.Detectors[burst].Kind != "burst" {
		t.Fatalf("the team file did not patch the built-in burst detector: %+v", cfg.Detectors)
	}
	if _, ok := byID["office-only"]; !ok || len(cfg.Networks["office"]) != 1 {
		t.Fatalf("team detector or network missing: %+v", cfg)
	}
	ua := cfg.Detectors[byID["signin-new-user-agent"]]
	if ua.Enabled == nil || *ua.Enabled {
		t.Fatal("a detector named in Disabled is still enabled")
	}

	// Disabled may name detectors without the rule pass calling it unknown.
	if _, err := Load(Selection{Builtin: rules.FS, Disabled: []string{"signin-new-user-agent", "root-console-login"}}); err != nil {
		t.Fatalf("disabling a detector by id: %v", err)
	}
	if cfg, err := LoadDetectors(Selection{Builtin: rules.FS, Packs: []string{PacksNone}}); err != nil || len(cfg.Detectors) != 0 {
		t.Fatalf("--packs none still loads detectors: %v %v", cfg, err)
	}
}

func TestLoadDetectorsErrorsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("detectors:\n  - id: x\n    kind: burst\n    what: failed-logins\n    threshold: 1\n    window: 5m\n"), 0o600)
	_, err := LoadDetectors(Selection{Paths: []string{bad}})
	if err == nil || !strings.HasPrefix(err.Error(), bad+":5: ") {
		t.Fatalf("error %v; want it to start with %s:5:", err, bad)
	}
	// A file with only detectors is a valid rule file with no rules.
	ok := filepath.Join(dir, "ok.yaml")
	os.WriteFile(ok, []byte("detectors:\n  - id: x\n    kind: burst\n    what: failed-logins\n    threshold: 2\n    window: 5m\n"), 0o600)
	if rs, err := LoadFile(ok); err != nil || len(rs) != 0 {
		t.Fatalf("detector-only file: %v %v", rs, err)
	}
}
