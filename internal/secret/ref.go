package secret

import (
	"encoding/base64"
	"errors"
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

// notShown stands in errors for the text after a reference's prefix.
const notShown = "<not shown>"

// ParseRef reads a reference. A string that starts with none of the known
// prefixes is a literal value (allowed, but a value in a configuration file
// is a value in version control). A prefix in the wrong case ("SSM:") is an
// error rather than a literal, so that a typo does not silently become the
// credential. Errors never contain a literal value, nor the text after the
// prefix of a reference that does not parse (it may be a secret pasted after
// "env:"); only the first characters of a valid KMS ciphertext.
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
	// What follows a prefix is never repeated in an error: a webhook URL or
	// token pasted after "env:" would otherwise be printed by validate and
	// logged at start-up.
	switch kind {
	case KindEnv:
		if rest == "" {
			return Ref{}, errors.New("secret reference env: names no variable: write env:NAME")
		}
		if !validEnvName(rest) {
			return Ref{}, errors.New("secret reference env:" + notShown + ": the variable name must be letters, digits and underscores, not starting with a digit")
		}
		r.Name = rest
	case KindFile:
		if rest == "" {
			return Ref{}, errors.New("secret reference file: has no path: write file:/path/to/file")
		}
		r.Name = rest
	case KindSSM:
		if rest == "" {
			return Ref{}, errors.New("secret reference ssm: names no parameter: write ssm:/trailwatch/slack-webhook")
		}
		if !validName(rest, "_.-/") {
			return Ref{}, errors.New("secret reference ssm:" + notShown + ": a parameter name is letters, digits and _ . - / (or a parameter ARN), as in ssm:/trailwatch/slack-webhook")
		}
		r.Name = rest
	case KindSecretsManager:
		name, key, hasKey := strings.Cut(rest, "#")
		if name == "" {
			return Ref{}, errors.New("secret reference secretsmanager: names no secret: write secretsmanager:prod/trailwatch#slack_url")
		}
		if !validName(name, "/_+=.@-") {
			return Ref{}, errors.New("secret reference secretsmanager:" + notShown + ": a secret name is letters, digits and / _ + = . @ - (or a secret ARN), as in secretsmanager:prod/trailwatch#slack_url")
		}
		if hasKey && key == "" {
			return Ref{}, errors.New("secret reference secretsmanager:" + notShown + ": the JSON key after # is empty")
		}
		r.Name, r.Key = name, key
	case KindKMS:
		b64, ctx, hasCtx := strings.Cut(rest, "#")
		if b64 == "" {
			return Ref{}, errors.New("secret reference kms: has no ciphertext: write kms:BASE64")
		}
		blob, err := decodeBase64(b64)
		if err != nil || len(blob) == 0 {
			return Ref{}, errors.New("secret reference kms:" + notShown + ": the ciphertext is not valid base64")
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

// validName reports whether s is an SSM parameter or Secrets Manager secret
// name: letters, digits and the punctuation given, or an ARN (arn:PARTITION:
// then the same characters and colons). A URL or a token with spaces pasted
// after the prefix is not one.
func validName(s, punct string) bool {
	if rest, ok := strings.CutPrefix(s, "arn:"); ok {
		s, punct = rest, punct+":"
	}
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(punct, c) >= 0) {
			return false
		}
	}
	return true
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
