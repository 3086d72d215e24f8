package detect

import (
	"os"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
)

func TestUserAgentFamily(t *testing.T) {
	for _, tc := range []struct{ ua, want string }{
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/67.0.3396.99 Safari/537.36", "chrome/macos"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:60.0) Gecko/20100101 Firefox/60.0", "firefox/windows"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0", "edge/windows"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "safari/ios"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0 Safari/537.36", "chrome/linux"},
		{"aws-cli/1.18.39 Python/3.7.2 Darwin/19.4.0 botocore/1.15.24", "aws-cli/macos"},
		{"aws-cli/2.13.0 Python/3.11.4 Linux/5.15 exe/x86_64.ubuntu.22 prompt/off command/s3.ls", "aws-cli/linux"},
		{"Boto3/1.28.0 md/Botocore#1.31.0 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.11", "boto3/linux"},
		{"aws-sdk-go-v2/1.21.0 os/linux lang/go#1.21 md/GOOS#linux api/sts#1.2", "aws-sdk-go-v2/linux"},
		{"stratus-red-team_8a5c8b7e-2a0d", "stratus-red-team"},
		{"console.amazonaws.com", "aws-service"},
		{"AWS Internal", "aws-service"},
		{"curl/8.4.0", "curl"},
		{"python-requests/2.31.0", "python-requests"},
		{"[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10]", "aws-sdk-java/linux"},
		{"Mozilla", "browser"},
		{"1.2.3", "other"},
		{"<script>alert(1)</script>", "other"},
		{"", ""},
	} {
		if got := UserAgentFamily(tc.ua); got != tc.want {
			t.Errorf("UserAgentFamily(%q) = %q; want %q", tc.ua, got, tc.want)
		}
	}
}

// Every user agent in the Panther ConsoleLogin tests maps to a family.
func TestUserAgentFamilyCorpus(t *testing.T) {
	for _, m := range jsonl(t, "panther-console-login.jsonl") {
		ua, _ := m["userAgent"].(string)
		if f := UserAgentFamily(ua); ua != "" && (f == "" || f == "other") {
			t.Errorf("UserAgentFamily(%q) = %q", ua, f)
		}
	}
}

func FuzzUserAgentFamily(f *testing.F) {
	for _, s := range []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"aws-cli/2.13.0 Python/3.11.4 Linux/5.15",
		"Boto3/1.28.0 md/Botocore#1.31.0",
		"console.amazonaws.com",
		"curl/8.4.0",
		"\x00\xff/\n",
		strings.Repeat("a", 2000),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		got := UserAgentFamily(ua)
		if len(got) > 64 || strings.Count(got, "/") > 1 {
			t.Fatalf("UserAgentFamily(%q) = %q: too long or too many parts", ua, got)
		}
		for i := 0; i < len(got); i++ {
			c := got[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '/') {
				t.Fatalf("UserAgentFamily(%q) = %q: unsafe byte %q", ua, got, c)
			}
		}
		if got != UserAgentFamily(ua) {
			t.Fatal("not deterministic")
		}
		if strings.TrimSpace(ua) != "" && got == "" {
			t.Fatalf("UserAgentFamily(%q) is empty", ua)
		}
	})
}

// failureEvent is a failed console sign-in for fuzz targets, which have no
// *testing.T to read testdata with.
func failureEvent() *event.Event {
	b, err := os.ReadFile("testdata/console-login-failure.json")
	if err != nil {
		panic(err)
	}
	ev, err := event.Parse(b, event.Origin{Input: "testdata/console-login-failure.json"})
	if err != nil {
		panic(err)
	}
	return ev
}
