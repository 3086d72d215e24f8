package rules_test

import (
	"os"
	"reflect"
	"testing"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/rule"
	"github.com/trailwatch/trailwatch/rules"
)

// TestSignInPackDetectors keeps the detectors of the sign-in pack and the
// copy internal/detect tests against the same.
func TestSignInPackDetectors(t *testing.T) {
	got, err := rule.LoadDetectors(rule.Selection{Builtin: rules.FS, Packs: []string{"signin"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../internal/detect/testdata/signin-detectors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := detect.ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	want, err := detect.Merge(c)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rules/signin.yaml detectors differ from internal/detect/testdata/signin-detectors.yaml:\n got %+v\nwant %+v", got, want)
	}
	if len(got.Detectors) < 8 {
		t.Fatalf("%d detectors in the sign-in pack", len(got.Detectors))
	}
}
