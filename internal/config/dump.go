package config

import (
	"fmt"

	"github.com/goccy/go-yaml"
)

// Dump writes the configuration as loaded, defaults filled in, in the
// file's own format. Secrets print as <secret>.
func (c *Config) Dump() ([]byte, error) {
	b, err := yaml.MarshalWithOptions(c, yaml.IndentSequence(true))
	if err != nil {
		return nil, fmt.Errorf("config: dump: %w", err)
	}
	return b, nil
}
