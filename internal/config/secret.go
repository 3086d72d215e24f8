package config

import (
	"errors"

	"github.com/trailwatch/trailwatch/internal/secret"
)

// Secret is a reference to a secret, never the secret itself: env:NAME,
// file:PATH, ssm:NAME, secretsmanager:NAME[#json-key] or
// kms:BASE64[#context] (the syntax of secret.ParseRef). Printing a Secret
// in any form shows "<secret>"; Ref returns the reference for the code that
// resolves it (secret.Resolver.ResolveString).
type Secret struct {
	ref     string
	literal bool // a webhook URL written in the file
}

// Redacted is what a Secret prints as.
const Redacted = "<secret>"

// Ref returns the reference text, such as "ssm:/trailwatch/slack-webhook",
// or for a webhook url written in the file, the URL itself;
// secret.Resolver.ResolveString takes either.
func (s Secret) Ref() string { return s.ref }

// IsLiteral reports whether the value is written in the file (a webhook
// URL) rather than referenced.
func (s Secret) IsLiteral() bool { return s.literal }

// LiteralURL holds a webhook URL that a foreign configuration format
// writes in the file itself (tattletail.toml's webhook_url), so that such a
// file runs unchanged. It prints as <secret> like every Secret.
func LiteralURL(url string) Secret { return Secret{ref: url, literal: true} }

// IsZero reports whether no reference is set.
func (s Secret) IsZero() bool { return s.ref == "" }

// String implements fmt.Stringer with the redacted form.
func (s Secret) String() string {
	if s.ref == "" {
		return ""
	}
	return Redacted
}

// GoString keeps %#v from printing the reference.
func (s Secret) GoString() string { return "config.Secret{" + s.String() + "}" }

// MarshalText implements encoding.TextMarshaler with the redacted form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

var errNotRef = errors.New("not a secret reference (want env:NAME, file:PATH, ssm:NAME, secretsmanager:NAME or kms:CIPHERTEXT); the value is not shown, and a secret itself must never be written in the config")

// ParseSecret checks a reference's syntax. A value that is not a reference
// (a webhook URL or token pasted in) is refused, and the error does not
// repeat it.
func ParseSecret(ref string) (Secret, error) {
	r, err := secret.ParseRef(ref)
	if err != nil {
		return Secret{}, err
	}
	if r.Kind == secret.KindLiteral {
		return Secret{}, errNotRef
	}
	return Secret{ref: ref}, nil
}
