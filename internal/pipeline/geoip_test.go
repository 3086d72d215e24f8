package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/geoip/geoiptest"
)

func disabledIDs(p *Pipeline) []string {
	var ids []string
	for _, d := range p.Detect().Disabled() {
		ids = append(ids, d.ID)
	}
	return ids
}

// TestGeoIPFromConfig: the geoip setting turns on the detectors that need a
// place; without it they say why they are off.
func TestGeoIPFromConfig(t *testing.T) {
	dir := t.TempDir()
	paths, err := geoiptest.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	deps := testDeps(t)
	deps.DryRun = true

	without, err := Build(context.Background(), slackConfig("signin", slackReceiver), deps)
	if err != nil {
		t.Fatal(err)
	}
	defer without.Close()
	if !slices.Contains(disabledIDs(without), "signin-new-country") {
		t.Fatalf("without a database, disabled = %v; want signin-new-country among them", disabledIDs(without))
	}

	// Relative paths resolve against the configuration file.
	cfgPath := filepath.Join(dir, "trailwatch.yaml")
	cfg := string(slackConfig("signin", slackReceiver)) + "geoip: [city.mmdb, " + filepath.Base(paths.ASN) + "]\n"
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	deps.ConfigName = cfgPath
	with, err := Build(context.Background(), []byte(cfg), deps)
	if err != nil {
		t.Fatal(err)
	}
	defer with.Close()
	for _, id := range []string{"signin-new-country", "signin-new-asn", "signin-impossible-travel"} {
		if slices.Contains(disabledIDs(with), id) {
			t.Fatalf("with a database, %s is still off: %v", id, with.Detect().Disabled())
		}
	}

	bad := string(slackConfig("signin", slackReceiver)) + "geoip: [missing.mmdb]\n"
	if _, err := Build(context.Background(), []byte(bad), deps); err == nil || !strings.Contains(err.Error(), "geoip") {
		t.Fatalf("a missing database: %v", err)
	}
	s3ref := string(slackConfig("signin", slackReceiver)) + "geoip: [s3://bucket/city.mmdb]\n"
	if _, err := Build(context.Background(), []byte(s3ref), deps); err == nil || !strings.Contains(err.Error(), "no AWS configuration") {
		t.Fatalf("an S3 database without AWS: %v", err)
	}
}
