package detect

import "strings"

// UserAgentFamily reduces a user agent to its family: the client (browser,
// AWS CLI or SDK, tool) and the operating system, without versions, as
// "chrome/macos", "aws-cli/linux", "boto3" or "curl". It reads at most the
// first 1 KiB, allocates little, and returns only lower-case letters,
// digits, '.', '_', '-' and one '/', at most 64 bytes; "" for an empty
// agent. The text is attacker-controlled: the result is safe to use in a
// state key.
func UserAgentFamily(ua string) string {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return ""
	}
	if len(ua) > 1024 {
		ua = ua[:1024]
	}
	l := strings.ToLower(ua)
	client := uaClient(l)
	if os := uaOS(l); os != "" {
		return client + "/" + os
	}
	return client
}

// uaClients are checked in order: the first substring found names the
// client. Order matters: Edge and Opera also say Chrome and Safari, Chrome
// says Safari, the AWS CLI says botocore.
func uaClient(l string) string {
	for _, c := range [...]struct{ needle, family string }{
		{"aws-cli/", "aws-cli"},
		{"aws-sdk-go-v2", "aws-sdk-go-v2"},
		{"aws-sdk-go", "aws-sdk-go"},
		{"aws-sdk-java", "aws-sdk-java"},
		{"aws-sdk-js", "aws-sdk-js"},
		{"aws-sdk-dotnet", "aws-sdk-dotnet"},
		{"aws-sdk-ruby", "aws-sdk-ruby"},
		{"aws-sdk-php", "aws-sdk-php"},
		{"aws-sdk-rust", "aws-sdk-rust"},
		{"aws-sdk-cpp", "aws-sdk-cpp"},
		{"aws-powershell", "aws-powershell"},
		{"boto3/", "boto3"},
		{"botocore/", "botocore"},
		{"terraform", "terraform"},
		{"pulumi", "pulumi"},
		{"stratus-red-team", "stratus-red-team"},
		{"edg/", "edge"},
		{"edge/", "edge"},
		{"edga/", "edge"},
		{"edgios/", "edge"},
		{"opr/", "opera"},
		{"opera", "opera"},
		{"vivaldi/", "vivaldi"},
		{"yabrowser/", "yandex"},
		{"samsungbrowser/", "samsung"},
		{"firefox/", "firefox"},
		{"fxios/", "firefox"},
		{"crios/", "chrome"},
		{"chromium/", "chromium"},
		{"chrome/", "chrome"},
		{"trident/", "ie"},
		{"msie ", "ie"},
		{"safari/", "safari"},
	} {
		if strings.Contains(l, c.needle) {
			return c.family
		}
	}
	if strings.HasSuffix(l, ".amazonaws.com") || l == "aws internal" {
		return "aws-service"
	}
	if strings.HasPrefix(l, "mozilla") {
		return "browser"
	}
	return uaProduct(l)
}

// uaProduct returns the first product token ("curl" of "curl/8.4.0"),
// limited to safe characters, or "other".
func uaProduct(l string) string {
	l = strings.TrimLeft(l, "[(\"' ")
	end := len(l)
	for i := 0; i < len(l); i++ {
		if c := l[i]; c == '/' || c == ' ' || c == ';' || c == '(' || c == ')' || c == '[' || c == ']' {
			end = i
			break
		}
	}
	tok := l[:end]
	if tok == "" || len(tok) > 32 {
		return "other"
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return "other"
		}
	}
	// A token of digits and dots alone is a version, not a product.
	if strings.Trim(tok, "0123456789.") == "" {
		return "other"
	}
	return tok
}

func uaOS(l string) string {
	for _, o := range [...]struct{ needle, family string }{
		{"windows", "windows"},
		{"iphone", "ios"},
		{"ipad", "ios"},
		{"ios/", "ios"},
		{"android", "android"},
		{"cros ", "chromeos"},
		{"mac os x", "macos"},
		{"macintosh", "macos"},
		{"darwin", "macos"},
		{"macos", "macos"},
		{"linux", "linux"},
		{"freebsd", "freebsd"},
	} {
		if strings.Contains(l, o.needle) {
			return o.family
		}
	}
	return ""
}
