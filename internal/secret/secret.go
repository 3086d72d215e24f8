// Package secret keeps credentials (webhook URLs, tokens, passwords, signing
// keys) out of logs, errors and marshalled output, and resolves the
// references a configuration names them by: env:NAME, file:PATH,
// ssm:/param/name, secretsmanager:NAME[#json-key], kms:BASE64[#k=v,...] or,
// discouraged, the literal value itself.
package secret

import (
	"fmt"
	"io"
	"log/slog"
)

// redacted is what a Secret shows everywhere except through Reveal.
const redacted = "<secret>"

// Secret holds a credential. Every way of printing, marshalling or logging it
// shows "<secret>"; the value is reachable only through Reveal. The value sits
// behind a pointer so that even reflection-based printing of a struct holding
// a Secret in an unexported field shows an address rather than the value.
// The zero Secret is empty. A Secret is immutable and safe to copy and share.
type Secret struct {
	v *string
}

// New wraps value. Prefer a Resolver with a reference over literal values.
func New(value string) Secret { return Secret{v: &value} }

// Reveal returns the credential. Call it only where the value is sent to the
// service that needs it, never to build a message, log line or error.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == nil || *s.v == "" }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return redacted }

// Format implements fmt.Formatter so that every verb (%s %v %q %x %d ...)
// prints "<secret>".
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler (used by YAML, XML and map keys).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// MarshalYAML implements the YAML marshaller interface of goccy/go-yaml and
// gopkg.in/yaml.v3.
func (s Secret) MarshalYAML() (any, error) { return redacted, nil }
