package notify_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/notify/notifytest"
)

func TestRedactorURL(t *testing.T) {
	const tok = "AbCdEf0123456789xyzw"
	r := &notify.Redactor{}
	r.AddURL("https://hooks.example.test/services/T0AAAA/B0BBBB/" + tok + "?sig=" + "s1gn4tur3-v4lu3-0000&api-version=1&sp=%2Ftriggers%2Fmanual%2Frun")
	for in, want := range map[string]string{
		// The token alone, escaped as JSON would with \/.
		`{"error":"bad token ` + tok + `"}`:                                   `{"error":"bad token <redacted>"}`,
		`url: https:\/\/hooks.example.test\/services\/T0AAAA\/B0BBBB\/` + tok: "url: https:\\/\\/hooks.example.test<redacted>",
		"no triggers for this flow":                                           "no triggers for this flow",
		"sig%3Ds1gn4tur3-v4lu3-0000":                                          "<redacted>",
		"route /services/ not found":                                          "route /services/ not found",
		"api-version=1 is fine":                                               "api-version=1 is fine",
		"host hooks.example.test refused":                                     "host hooks.example.test refused",
	} {
		if got := r.Redact(in); got != want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

func TestRedactorHeader(t *testing.T) {
	r := &notify.Redactor{}
	r.AddHeader("Basic " + base64.StdEncoding.EncodeToString([]byte("ci-bot:hunter2-but-longer")))
	for _, in := range []string{"hunter2-but-longer", "ci-bot:hunter2-but-longer", "Basic Y2ktYm90Omh1bnRlcjItYnV0LWxvbmdlcg=="} {
		if got := r.Redact("echo " + in); got != "echo <redacted>" {
			t.Errorf("Redact(%q) = %q", in, got)
		}
	}
}

func TestRedactorSnippetCutsAfterRedacting(t *testing.T) {
	const tok = "T0k3nT0k3nT0k3nT0k3n-end"
	r := notify.NewRedactor(tok)
	for at := 240; at < 262; at++ {
		body := strings.Repeat("a", at) + " " + tok + " tail"
		got := r.Snippet([]byte(body))
		notifytest.LeaksAnyForm(t, []string{tok}, got)
		if strings.Contains(got, "<redacted") && !strings.Contains(got, "<redacted>") {
			t.Errorf("the cut split the marker: %q", got)
		}
	}
	// A server that cut the token itself leaves its beginning at the end.
	if got := r.Snippet([]byte("token " + tok[:10])); got != "token <redacted>" {
		t.Errorf("Snippet of a cut token = %q", got)
	}
}

func FuzzRedactor(f *testing.F) {
	f.Add("s3cr3t-t0k3n-value", "prefix ", " suffix", 0)
	f.Add("https://hooks.example.test/services/T/B/abcdefgh12345678", `{"url":"`, `"}`, 2)
	f.Add("p@ss wörd/+=", "Basic ", "", 5)
	f.Fuzz(func(t *testing.T, secret, prefix, suffix string, which int) {
		if len(secret) < 6 || strings.ContainsAny(secret, "<>") {
			return // a secret holding the marker's own characters could re-form around it
		}
		r := notify.NewRedactor(secret)
		encs := notify.Encodings(secret)
		enc := encs[(which%len(encs)+len(encs))%len(encs)]
		text := prefix + enc + suffix
		if got := r.Redact(text); strings.Contains(got, secret) {
			t.Fatalf("Redact(%q) = %q holds the secret", text, got)
		}
		if got := r.Snippet([]byte(text)); strings.Contains(got, secret) {
			t.Fatalf("Snippet(%q) = %q holds the secret", text, got)
		}
	})
}
