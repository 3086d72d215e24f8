package secret

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

// SSM is the part of the SSM client the Resolver uses (*ssm.Client).
type SSM interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// SecretsManager is the part of the Secrets Manager client the Resolver uses
// (*secretsmanager.Client).
type SecretsManager interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// KMS is the part of the KMS client the Resolver uses (*kms.Client).
type KMS interface {
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// Options are the Resolver's dependencies. A nil AWS client makes references
// of its kind fail with an error saying so.
type Options struct {
	SSM            SSM
	SecretsManager SecretsManager
	KMS            KMS
	// LookupEnv reads environment variables; nil means os.LookupEnv.
	LookupEnv func(name string) (string, bool)
	// ReadFile reads files; nil means os.ReadFile.
	ReadFile func(path string) ([]byte, error)
}

// Error is a failure to resolve a reference. Its message names the
// reference kind and name, never the value.
type Error struct {
	Ref Ref
	Err error
}

// Error implements error: "secret ssm:/trailwatch/slack: parameter not found".
func (e *Error) Error() string { return "secret " + e.Ref.String() + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Resolver turns references into Secrets. Each distinct reference is fetched
// at most once per Resolver (so once per process when the program makes one)
// and the value is cached; concurrent resolves of the same reference share
// one fetch. Failures are not cached: the next Resolve tries again. Safe for
// concurrent use.
type Resolver struct {
	o Options

	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	done chan struct{}
	val  Secret
	err  error
}

// NewResolver returns a Resolver using the given clients.
func NewResolver(o Options) *Resolver {
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	return &Resolver{o: o, entries: map[string]*entry{}}
}

// ResolveString parses s with ParseRef and resolves it.
func (r *Resolver) ResolveString(ctx context.Context, s string) (Secret, error) {
	ref, err := ParseRef(s)
	if err != nil {
		return Secret{}, err
	}
	return r.Resolve(ctx, ref)
}

// Resolve returns the value ref names, from the cache when an earlier call
// fetched it.
func (r *Resolver) Resolve(ctx context.Context, ref Ref) (Secret, error) {
	switch ref.Kind {
	case KindLiteral:
		return ref.literal, nil
	case "":
		return Secret{}, &Error{Ref: ref, Err: errors.New("the reference is empty")}
	}
	key := ref.cacheKey()
	for {
		r.mu.Lock()
		e, ok := r.entries[key]
		if !ok {
			e = &entry{done: make(chan struct{})}
			r.entries[key] = e
			r.mu.Unlock()
			e.val, e.err = r.fetch(ctx, ref)
			if e.err != nil {
				e.err = &Error{Ref: ref, Err: e.err}
				r.mu.Lock()
				delete(r.entries, key)
				r.mu.Unlock()
			}
			close(e.done)
			return e.val, e.err
		}
		r.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return Secret{}, &Error{Ref: ref, Err: ctx.Err()}
		}
		// A fetch that failed only because its caller gave up is not this
		// caller's failure: try again with this caller's context.
		if e.err != nil && ctx.Err() == nil && (errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded)) {
			continue
		}
		return e.val, e.err
	}
}

func (r *Resolver) fetch(ctx context.Context, ref Ref) (Secret, error) {
	switch ref.Kind {
	case KindEnv:
		v, ok := r.o.LookupEnv(ref.Name)
		if !ok {
			return Secret{}, errors.New("environment variable is not set")
		}
		if v == "" {
			return Secret{}, errors.New("environment variable is empty")
		}
		return New(v), nil
	case KindFile:
		b, err := r.o.ReadFile(ref.Name)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is already in the reference
			}
			return Secret{}, fmt.Errorf("cannot read the file: %w", err)
		}
		// Files written by editors and `echo` end with a newline that is
		// never part of the credential.
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return Secret{}, errors.New("the file is empty")
		}
		return New(v), nil
	case KindSSM:
		if r.o.SSM == nil {
			return Secret{}, errors.New("no SSM client is configured")
		}
		out, err := r.o.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: &ref.Name, WithDecryption: ptr(true)})
		if err != nil {
			var nf *ssmtypes.ParameterNotFound
			if errors.As(err, &nf) {
				return Secret{}, errors.New("parameter not found")
			}
			return Secret{}, awsError(err, "ssm:GetParameter")
		}
		if out.Parameter == nil || out.Parameter.Value == nil || *out.Parameter.Value == "" {
			return Secret{}, errors.New("parameter has no value")
		}
		return New(*out.Parameter.Value), nil
	case KindSecretsManager:
		if r.o.SecretsManager == nil {
			return Secret{}, errors.New("no Secrets Manager client is configured")
		}
		out, err := r.o.SecretsManager.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &ref.Name})
		if err != nil {
			var nf *smtypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				return Secret{}, errors.New("secret not found")
			}
			return Secret{}, awsError(err, "secretsmanager:GetSecretValue")
		}
		var raw string
		switch {
		case out.SecretString != nil:
			raw = *out.SecretString
		case out.SecretBinary != nil:
			raw = string(out.SecretBinary)
		}
		if ref.Key == "" {
			if raw == "" {
				return Secret{}, errors.New("secret has no value")
			}
			return New(raw), nil
		}
		return jsonField(raw, ref.Key)
	case KindKMS:
		if r.o.KMS == nil {
			return Secret{}, errors.New("no KMS client is configured")
		}
		in := &kms.DecryptInput{CiphertextBlob: ref.Ciphertext}
		if len(ref.Context) > 0 {
			in.EncryptionContext = ref.Context
		}
		out, err := r.o.KMS.Decrypt(ctx, in)
		if err != nil {
			var api smithy.APIError
			if errors.As(err, &api) && api.ErrorCode() == "InvalidCiphertextException" {
				return Secret{}, errors.New("KMS cannot decrypt the ciphertext: check the key and the encryption context after #")
			}
			return Secret{}, awsError(err, "kms:Decrypt")
		}
		if len(out.Plaintext) == 0 {
			return Secret{}, errors.New("KMS returned an empty plaintext")
		}
		return New(schemeless(string(out.Plaintext))), nil
	}
	return Secret{}, fmt.Errorf("unknown reference kind %q", string(ref.Kind))
}

// schemeless reads a KMS plaintext that is a URL written without its
// scheme as an https URL. AWS's Slack Lambda blueprints tell users to
// encrypt the webhook "without the https://" (hooks.slack.com/services/...)
// and add it back in code; such a ciphertext then works here unchanged. Only
// a host name with a dot (and an optional port) followed by a path counts,
// so a token or password is never changed.
func schemeless(s string) string {
	if strings.Contains(s, "://") {
		return s
	}
	host, path, ok := strings.Cut(s, "/")
	if !ok || path == "" || strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	if h, port, hasPort := strings.Cut(host, ":"); hasPort {
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return s
		}
		host = h
	}
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return s
	}
	for _, l := range labels {
		if l == "" || strings.Trim(l, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
			return s
		}
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return s
	}
	return "https://" + s
}

// jsonField picks key out of a JSON object secret. Decoder errors are not
// wrapped: their text quotes characters of the input.
func jsonField(raw, key string) (Secret, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return Secret{}, fmt.Errorf("the secret is not a JSON object, so #%s cannot pick a field", key)
	}
	v, ok := m[key]
	if !ok {
		return Secret{}, fmt.Errorf("the JSON secret has no key %q", key)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return Secret{}, fmt.Errorf("the JSON secret's key %q is not a string", key)
	}
	if s == "" {
		return Secret{}, fmt.Errorf("the JSON secret's key %q is empty", key)
	}
	return New(s), nil
}

// awsError makes an SDK failure readable and says what to check.
func awsError(err error, action string) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch code := api.ErrorCode(); {
		case strings.Contains(code, "AccessDenied"):
			return fmt.Errorf("access denied: allow %s on it to the function's role: %w", action, err)
		}
	}
	return fmt.Errorf("%s failed: %w", action, err)
}

func ptr[T any](v T) *T { return &v }
