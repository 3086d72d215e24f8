package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

const hidden = "hunter2-distinctive-value"

type holder struct {
	Public  Secret
	private Secret
	Ptr     *Secret
}

func TestSecretNeverPrints(t *testing.T) {
	s := New(hidden)
	h := holder{Public: s, private: s, Ptr: &s}
	var out []string
	for _, verb := range []string{"%s", "%v", "%+v", "%#v", "%q", "%x", "%X", "%d", "%10s", "%-8v", "%T", "%p"} {
		out = append(out, fmt.Sprintf(verb, s), fmt.Sprintf(verb, &s), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h))
	}
	out = append(out, fmt.Sprint(s), fmt.Sprintln(h), s.String(), s.GoString(), fmt.Errorf("sending: %v", s).Error())
	for _, o := range out {
		if strings.Contains(o, hidden) || strings.Contains(o, fmt.Sprintf("%x", hidden)) {
			t.Errorf("printed value leaks the secret: %q", o)
		}
	}
	if got := fmt.Sprintf("%v|%#v|%q|%d", s, s, s, s); got != "<secret>|<secret>|<secret>|<secret>" {
		t.Errorf("verbs printed %q", got)
	}

	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if string(j) != `{"Public":"\u003csecret\u003e","Ptr":"\u003csecret\u003e"}` {
		t.Errorf("json: %s", j)
	}
	y, err := yaml.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(y), hidden) || !strings.Contains(string(y), "<secret>") {
		t.Errorf("yaml: %s", y)
	}
	m, err := json.Marshal(map[Secret]int{s: 1})
	if err != nil || strings.Contains(string(m), hidden) {
		t.Errorf("json map key: %s %v", m, err)
	}

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("send", "token", s, "ptr", &s, slog.Any("any", s), slog.Group("g", "s", s))
	}
	if strings.Contains(buf.String(), hidden) || strings.Count(buf.String(), "<secret>") != 8 {
		t.Errorf("slog output: %s", buf.String())
	}

	if s.Reveal() != hidden {
		t.Errorf("Reveal = %q", s.Reveal())
	}
	if (Secret{}).Reveal() != "" || !(Secret{}).IsZero() || !New("").IsZero() || s.IsZero() {
		t.Error("zero value handling is wrong")
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		in   string
		want string // Ref.String()
		kind Kind
	}{
		{"env:SLACK_URL", "env:SLACK_URL", KindEnv},
		{"file:/run/secrets/slack", "file:/run/secrets/slack", KindFile},
		{"ssm:/trailwatch/slack", "ssm:/trailwatch/slack", KindSSM},
		{"ssm:arn:aws:ssm:us-east-1:111122223333:parameter/x", "ssm:arn:aws:ssm:us-east-1:111122223333:parameter/x", KindSSM},
		{"secretsmanager:prod/trailwatch", "secretsmanager:prod/trailwatch", KindSecretsManager},
		{"secretsmanager:prod/trailwatch#slack_url", "secretsmanager:prod/trailwatch#slack_url", KindSecretsManager},
		{"secretsmanager:arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/tw-AbCdEf#k", "secretsmanager:arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/tw-AbCdEf#k", KindSecretsManager},
		{"kms:AQICAHhVZXJ5bG9uZ2NpcGhlcnRleHQ=", "kms:AQICAHhVZXJ5...", KindKMS},
		{"kms:AQICAA==#LambdaFunctionName=trailwatch,stage=prod", "kms:AQICAA==", KindKMS},
		{"https://hooks.example.test/services/" + hidden, "literal value", KindLiteral},
		{"xoxb-" + hidden, "literal value", KindLiteral},
		{"pass:word" + hidden, "literal value", KindLiteral},
	}
	for _, tt := range tests {
		r, err := ParseRef(tt.in)
		if err != nil {
			t.Errorf("ParseRef(%q): %v", tt.in, err)
			continue
		}
		if r.String() != tt.want || r.Kind != tt.kind {
			t.Errorf("ParseRef(%q) = %s %q, want %s %q", tt.in, r.Kind, r.String(), tt.kind, tt.want)
		}
	}
	r, _ := ParseRef("kms:AQICAA==#LambdaFunctionName=trailwatch,stage=prod")
	if len(r.Context) != 2 || r.Context["LambdaFunctionName"] != "trailwatch" || r.Context["stage"] != "prod" || !bytes.Equal(r.Ciphertext, []byte{1, 2, 2, 0}) {
		t.Errorf("kms ref = %+v", r)
	}
}

func TestParseRefErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty secret reference: write env:NAME, file:PATH, ssm:/name, secretsmanager:NAME or kms:BASE64"},
		{"env:", "secret reference env: names no variable: write env:NAME"},
		{"env:1ABC", "secret reference env:<not shown>: the variable name must be letters, digits and underscores, not starting with a digit"},
		{"env:A-B", "secret reference env:<not shown>: the variable name must be letters, digits and underscores, not starting with a digit"},
		{"file:", "secret reference file: has no path: write file:/path/to/file"},
		{"ssm:", "secret reference ssm: names no parameter: write ssm:/trailwatch/slack-webhook"},
		{"ssm:/a b", "secret reference ssm:<not shown>: a parameter name is letters, digits and _ . - / (or a parameter ARN), as in ssm:/trailwatch/slack-webhook"},
		{"ssm:https://hooks.example.test/x", "secret reference ssm:<not shown>: a parameter name is letters, digits and _ . - / (or a parameter ARN), as in ssm:/trailwatch/slack-webhook"},
		{"secretsmanager:#key", "secret reference secretsmanager: names no secret: write secretsmanager:prod/trailwatch#slack_url"},
		{"secretsmanager:a b#key", "secret reference secretsmanager:<not shown>: a secret name is letters, digits and / _ + = . @ - (or a secret ARN), as in secretsmanager:prod/trailwatch#slack_url"},
		{"secretsmanager:prod#", "secret reference secretsmanager:<not shown>: the JSON key after # is empty"},
		{"kms:not base64!", "secret reference kms:<not shown>: the ciphertext is not valid base64"},
		{"kms:", "secret reference kms: has no ciphertext: write kms:BASE64"},
		{"kms:AQICAA==#novalue", "secret reference kms:AQICAA==: the encryption context must be key=value pairs separated by commas, as in #LambdaFunctionName=trailwatch"},
		{"SSM:/trailwatch/slack", `secret reference kind "SSM" must be written in lower case as "ssm"`},
		{"Env:X", `secret reference kind "Env" must be written in lower case as "env"`},
		{"env:A\nB", `secret reference env:<not shown>: the variable name must be letters, digits and underscores, not starting with a digit`},
	}
	for _, tt := range tests {
		_, err := ParseRef(tt.in)
		if err == nil {
			t.Errorf("ParseRef(%q) succeeded", tt.in)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseRef(%q) error\n got: %s\nwant: %s", tt.in, err, tt.want)
		}
	}
}

// TestParseRefErrorsHidePastedSecrets: a secret pasted after a prefix
// (env:https://..., ssm:xoxb-... with a space, kms:token) is not repeated by
// the error, in whole or in part.
func TestParseRefErrorsHidePastedSecrets(t *testing.T) {
	for _, pasted := range []string{
		"https://hooks.example.test/services/T000/B000/" + hidden,
		"xoxb-" + hidden,
		"Bearer " + hidden,
		hidden + " #x",
	} {
		for _, kind := range []string{"env:", "ssm:", "secretsmanager:", "kms:"} {
			_, err := ParseRef(kind + pasted)
			if err == nil {
				continue // a valid reference keeps its name, which is no secret
			}
			for i := 0; i+6 <= len(hidden); i++ {
				if strings.Contains(err.Error(), hidden[i:i+6]) {
					t.Errorf("ParseRef(%q) error repeats part of the secret: %v", kind+pasted, err)
					break
				}
			}
		}
	}
}

func TestRefText(t *testing.T) {
	var r Ref
	if err := r.UnmarshalText([]byte("xoxb-" + hidden)); err != nil {
		t.Fatal(err)
	}
	b, _ := r.MarshalText()
	j, _ := json.Marshal(r)
	if strings.Contains(string(b)+string(j)+fmt.Sprintf("%v %+v %#v", r, r, r), hidden) {
		t.Errorf("a literal reference leaks its value: %s %s", b, j)
	}
	if err := r.UnmarshalText([]byte("env:")); err == nil {
		t.Error("UnmarshalText accepted a bad reference")
	}
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"env:X", "file:/a", "ssm:/a/b", "secretsmanager:a#b", "kms:AQID#a=b,c=d", "kms:%%", "literal", "a:b:c", "", "SSM:x", "https://x/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			if !strings.Contains(s, ":") && s != "" {
				t.Fatalf("a string without a prefix must be a literal, got %v", err)
			}
			return
		}
		if r.Kind == KindLiteral {
			if r.String() != "literal value" || r.literal.Reveal() != s {
				t.Fatalf("literal %q parsed as %+v", s, r)
			}
			return
		}
		if !strings.HasPrefix(r.String(), string(r.Kind)+":") {
			t.Fatalf("String() = %q for kind %s", r.String(), r.Kind)
		}
		var back Ref
		if r.Kind != KindKMS && back.UnmarshalText([]byte(r.String())) != nil {
			t.Fatalf("String() %q does not parse back", r.String())
		}
	})
}

func TestErrorUnwrap(t *testing.T) {
	cause := errors.New("boom")
	r, _ := ParseRef("env:X")
	err := error(&Error{Ref: r, Err: cause})
	if !errors.Is(err, cause) || err.Error() != "secret env:X: boom" {
		t.Errorf("Error = %v", err)
	}
}
