package secret

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// Kind is how a reference finds its value.
type Kind string

// The reference kinds.
const (
	KindLiteral        Kind = "literal"        // the value itself (discouraged)
	KindEnv            Kind = "env"            // env:NAME
	KindFile           Kind = "file"           // file:PATH
	KindSSM            Kind = "ssm"            // ssm:/param/name (SecureString decrypted)
	KindSecretsManager Kind = "secretsmanager" // secretsmanager:NAME[#json-key]
	KindKMS            Kind = "kms"            // kms:BASE64[#key=value,...]
)

// prefixed lists every kind written with a prefix, for parsing.
func prefixed() []Kind { return []Kind{KindEnv, KindFile, KindSSM, KindSecretsManager, KindKMS} }

// Ref is a parsed secret reference. Its String form is safe to print: it
// names the kind and the name (variable, path, parameter, secret id and key)
// but never a literal value, and only the first characters of a KMS
// ciphertext.
type Ref struct {
	Kind Kind
	// Name is the variable name, file path, parameter name or ARN, or secret
	// id or ARN. Empty for literal and kms references.
	Name string
	// Key picks a field of a JSON secret (secretsmanager only).
	Key string
	// Ciphertext is the decoded KMS ciphertext blob (kms only).
	Ciphertext []byte
	// Context is the KMS encryption context (kms only; may be nil).
	Context map[string]string

	literal   Secret
	cipherB64 string
}

// ParseRef reads a reference. A string that starts with none of the known
// prefixes is a literal value (allowed, but a value in a configuration file
// is a value in version control). A prefix in the wrong case ("SSM:") is an
// error rather than a literal, so that a typo does not silently become the
// credential. Errors never contain a literal value.
func ParseRef(s string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("empty secret reference: write env:NAME, file:PATH, ssm:/name, secretsmanager:NAME or kms:BASE64")
	}
	prefix, rest, found := strings.Cut(s, ":")
	if !found {
		return Ref{Kind: KindLiteral, literal: New(s)}, nil
	}
	kind := Kind(prefix)
	if !slices.Contains(prefixed(), kind) {
		for _, k := range prefixed() {
			if strings.EqualFold(prefix, string(k)) {
				return Ref{}, fmt.Errorf("secret reference kind %q must be written in lower case as %q", prefix, string(k))
			}
		}
		return Ref{Kind: KindLiteral, literal: New(s)}, nil
	}
	r := Ref{Kind: kind}
	switch kind {
	case KindEnv:
		if !validEnvName(rest) {
			return Ref{}, fmt.Errorf("secret reference env:%s: the variable name must be letters, digits and underscores, not starting with a digit", printable(rest))
		}
		r.Name = rest
	case KindFile:
		if rest == "" {
			return Ref{}, fmt.Errorf("secret reference file: has no path: write file:/path/to/file")
		}
		r.Name = rest
	case KindSSM:
		if rest == "" || strings.ContainsFunc(rest, unicode.IsSpace) {
			return Ref{}, fmt.Errorf("secret reference ssm:%s: the parameter name must be non-empty without spaces, as in ssm:/trailwatch/slack-webhook", printable(rest))
		}
		r.Name = rest
	case KindSecretsManager:
		name, key, hasKey := strings.Cut(rest, "#")
		if name == "" || strings.ContainsFunc(name, unicode.IsSpace) {
			return Ref{}, fmt.Errorf("secret reference secretsmanager:%s: the secret name must be non-empty without spaces, as in secretsmanager:prod/trailwatch#slack_url", printable(rest))
		}
		if hasKey && key == "" {
			return Ref{}, fmt.Errorf("secret reference secretsmanager:%s: the JSON key after # is empty", printable(rest))
		}
		r.Name, r.Key = name, key
	case KindKMS:
		b64, ctx, hasCtx := strings.Cut(rest, "#")
		blob, err := decodeBase64(b64)
		if err != nil || len(blob) == 0 {
			return Ref{}, fmt.Errorf("secret reference kms:%s: the ciphertext is not valid base64", shorten(b64))
		}
		r.Ciphertext, r.cipherB64 = blob, b64
		if hasCtx {
			r.Context = map[string]string{}
			for _, pair := range strings.Split(ctx, ",") {
				k, v, ok := strings.Cut(pair, "=")
				if !ok || k == "" {
					return Ref{}, fmt.Errorf("secret reference kms:%s: the encryption context must be key=value pairs separated by commas, as in #LambdaFunctionName=trailwatch", shorten(b64))
				}
				r.Context[k] = v
			}
		}
	}
	return r, nil
}

// String returns the reference in a form safe to print.
func (r Ref) String() string {
	switch r.Kind {
	case KindLiteral:
		return "literal value"
	case KindSecretsManager:
		if r.Key != "" {
			return "secretsmanager:" + r.Name + "#" + r.Key
		}
		return "secretsmanager:" + r.Name
	case KindKMS:
		return "kms:" + shorten(r.cipherB64)
	case "":
		return "empty reference"
	}
	return string(r.Kind) + ":" + r.Name
}

// MarshalText implements encoding.TextMarshaler with the safe form.
func (r Ref) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseRef, so a
// configuration field of type Ref is checked when the file is decoded.
func (r *Ref) UnmarshalText(b []byte) error {
	v, err := ParseRef(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// cacheKey identifies the reference among others resolved by one Resolver.
func (r Ref) cacheKey() string {
	if r.Kind == KindKMS {
		keys := make([]string, 0, len(r.Context))
		for k := range r.Context {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		b.WriteString("kms\x00")
		b.Write(r.Ciphertext)
		for _, k := range keys {
			b.WriteString("\x00" + k + "=" + r.Context[k])
		}
		return b.String()
	}
	return string(r.Kind) + "\x00" + r.Name + "\x00" + r.Key
}

func validEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// shorten keeps the start of a long ciphertext for messages.
func shorten(s string) string {
	const n = 12
	s = printable(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// printable quotes control characters so a name read from a file cannot
// break a log line.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		return s
	}
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}
