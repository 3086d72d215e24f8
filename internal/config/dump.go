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

// MarshalYAML writes the webhook for Dump with its header values shown as
// <secret>: a credential is often put in headers rather than
// secret_headers, and trailwatch keeps every header value out of its errors
// and logs too.
func (w Webhook) MarshalYAML() (any, error) {
	type plain Webhook // without this method
	p := plain(w)
	if len(w.Headers) > 0 {
		p.Headers = make(map[string]string, len(w.Headers))
		for k := range w.Headers {
			p.Headers[k] = Redacted
		}
	}
	return p, nil
}
