package detect

import (
	"os"
	"testing"
)

// signinDetectorsFile is the detectors section of the built-in sign-in pack
// (rules/signin.yaml); TestSignInPackDetectors in package rules keeps the two
// equal.
const signinDetectorsFile = "testdata/signin-detectors.yaml"

// DefaultYAML returns the built-in sign-in detector configuration as YAML.
func DefaultYAML() []byte {
	b, err := os.ReadFile(signinDetectorsFile)
	if err != nil {
		panic(err)
	}
	return b
}

// Default returns the built-in sign-in detector configuration.
func Default() (*Config, error) { return ParseConfig(DefaultYAML()) }

func TestDefaultParses(t *testing.T) {
	if _, err := Default(); err != nil {
		t.Fatal(err)
	}
}
