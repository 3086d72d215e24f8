package sigma

import (
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
)

// doc wraps a detection section (indented by four spaces) in a minimal rule.
func doc(detection string) string {
	return "title: test\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n" + detection
}

func mustParse(t *testing.T, src string) *Rule {
	t.Helper()
	r, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%s\nerror: %v", src, err)
	}
	return r
}

// ev is a CloudTrail record with the usual fields, for match tests.
const ev = `{
  "eventVersion": "1.08",
  "eventSource": "s3.amazonaws.com",
  "eventName": "PutBucketVersioning",
  "awsRegion": "eu-west-1",
  "sourceIPAddress": "203.0.113.7",
  "userAgent": "[aws-cli/2.13.0 Python/3.11.4 Linux/5.10 TruffleHog]",
  "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice", "userName": "alice",
                   "sessionContext": {"sessionIssuer": {"type": "Role"}}},
  "requestParameters": {"bucketName": "logs", "VersioningConfiguration": {"Status": "Suspended"},
                        "Host": ["logs.s3.amazonaws.com"], "app.name": "dotted",
                        "count": 42, "enable": false, "layers": [], "policy": "{\"Effect\":\"Allow\"}",
                        "containerDefinitions": [{"command": ["sh", "-c", "curl 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]}]},
  "responseElements": null,
  "additionalEventData": {"MFAUsed": "No", "bytes": 1.5e3, "weird*name": "star", "back\\slash": "x\\*y"},
  "target": "alice"
}`

func TestMatch(t *testing.T) {
	e := event.MustParse(ev)
	cases := []struct {
		name      string
		detection string
		want      bool
	}{
		{"exact", "    s:\n        eventName: PutBucketVersioning\n    condition: s", true},
		{"case-insensitive by default", "    s:\n        eventName: putbucketversioning\n    condition: s", true},
		{"cased", "    s:\n        eventName|cased: putbucketversioning\n    condition: s", false},
		{"cased exact", "    s:\n        eventName|cased: PutBucketVersioning\n    condition: s", true},
		{"list is or", "    s:\n        eventName: [A, PutBucketVersioning]\n    condition: s", true},
		{"map is and", "    s:\n        eventName: PutBucketVersioning\n        eventSource: ec2.amazonaws.com\n    condition: s", false},
		{"list of maps is or", "    s:\n        - eventName: X\n        - eventSource: s3.amazonaws.com\n    condition: s", true},
		{"contains", "    s:\n        userAgent|contains: trufflehog\n    condition: s", true},
		{"startswith", "    s:\n        userAgent|startswith: '[aws-cli'\n    condition: s", true},
		{"endswith", "    s:\n        userAgent|endswith: 'hog]'\n    condition: s", true},
		{"endswith miss", "    s:\n        userAgent|endswith: 'hog'\n    condition: s", false},
		{"contains all", "    s:\n        userAgent|contains|all: [aws-cli, Python]\n    condition: s", true},
		{"contains all miss", "    s:\n        userAgent|contains|all: [aws-cli, Ruby]\n    condition: s", false},
		{"wildcard star", "    s:\n        eventName: Put*Versioning\n    condition: s", true},
		{"wildcard question", "    s:\n        awsRegion: eu-west-?\n    condition: s", true},
		{"wildcard question needs one", "    s:\n        awsRegion: eu-west-1?\n    condition: s", false},
		{"escaped star is literal", "    s:\n        additionalEventData.back\\slash: 'x\\\\\\*y'\n    condition: s", true},
		{"escaped star does not glob", "    s:\n        eventName: 'Put\\*'\n    condition: s", false},
		{"dotted path", "    s:\n        userIdentity.sessionContext.sessionIssuer.type: Role\n    condition: s", true},
		{"key holding a dot", "    s:\n        requestParameters.app.name: dotted\n    condition: s", true},
		{"object value matches a leaf inside", "    s:\n        requestParameters|contains: Suspended\n    condition: s", true},
		{"array element", "    s:\n        requestParameters.Host: logs.s3.amazonaws.com\n    condition: s", true},
		{"path through array of objects", "    s:\n        requestParameters.containerDefinitions.command|contains: '$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'\n    condition: s", true},
		{"empty array has no value", "    s:\n        requestParameters.layers|contains: '*'\n    condition: s", false},
		{"any value", "    s:\n        requestParameters.bucketName|contains: '*'\n    condition: s", true},
		{"text matches a boolean", "    s:\n        requestParameters.enable: 'false'\n    condition: s", true},
		{"number", "    s:\n        requestParameters.count: 42\n    condition: s", true},
		{"number as text", "    s:\n        requestParameters.count: '42'\n    condition: s", true},
		{"number differs", "    s:\n        requestParameters.count: 41\n    condition: s", false},
		{"gt", "    s:\n        requestParameters.count|gt: 41\n    condition: s", true},
		{"gte", "    s:\n        requestParameters.count|gte: 42\n    condition: s", true},
		{"lt", "    s:\n        additionalEventData.bytes|lt: 1500\n    condition: s", false},
		{"lte", "    s:\n        additionalEventData.bytes|lte: 1500.0\n    condition: s", true},
		{"gt with the number quoted", "    s:\n        requestParameters.count|gt: '41.5'\n    condition: s", true},
		{"gt on text is no match", "    s:\n        eventName|gt: 1\n    condition: s", false},
		{"null matches missing", "    s:\n        errorCode: null\n    condition: s", true},
		{"null matches JSON null", "    s:\n        responseElements: null\n    condition: s", true},
		{"null does not match a value", "    s:\n        eventName: null\n    condition: s", false},
		{"null or value", "    s:\n        errorCode: [Success, null]\n    condition: s", true},
		{"empty text", "    s:\n        errorCode: ''\n    condition: s", false},
		{"exists true", "    s:\n        responseElements|exists: true\n    condition: s", true},
		{"exists false", "    s:\n        errorCode|exists: false\n    condition: s", true},
		{"exists on missing", "    s:\n        errorCode|exists: true\n    condition: s", false},
		{"re", "    s:\n        userIdentity.arn|re: ':user/a.+e$'\n    condition: s", true},
		{"re is case-sensitive", "    s:\n        userIdentity.arn|re: ':USER/'\n    condition: s", false},
		{"re i", "    s:\n        userIdentity.arn|re|i: ':USER/'\n    condition: s", true},
		{"cidr", "    s:\n        sourceIPAddress|cidr: 203.0.113.0/24\n    condition: s", true},
		{"cidr miss", "    s:\n        sourceIPAddress|cidr: [10.0.0.0/8, '2001:db8::/32']\n    condition: s", false},
		{"fieldref equal", "    s:\n        target|fieldref: userIdentity.userName\n    condition: s", true},
		{"fieldref differs", "    s:\n        target|fieldref: userIdentity.arn\n    condition: s", false},
		{"fieldref contains", "    s:\n        userIdentity.arn|fieldref|contains: userIdentity.userName\n    condition: s", true},
		{"fieldref endswith", "    s:\n        userIdentity.arn|fieldref|endswith: target\n    condition: s", true},
		{"fieldref to missing", "    s:\n        target|fieldref: nothing.here\n    condition: s", false},
		{"missing field", "    s:\n        nothing: x\n    condition: s", false},
		{"and not", "    a:\n        eventSource: s3.amazonaws.com\n    b:\n        userIdentity.type: Root\n    condition: a and not b", true},
		{"not binds tighter than and", "    a:\n        eventSource: s3.amazonaws.com\n    b:\n        userIdentity.type: IAMUser\n    condition: not a and b", false},
		{"and binds tighter than or", "    a:\n        eventSource: x\n    b:\n        eventSource: y\n    c:\n        eventName: PutBucketVersioning\n    condition: a and b or c", true},
		{"parentheses", "    a:\n        eventSource: x\n    b:\n        eventSource: y\n    c:\n        eventName: PutBucketVersioning\n    condition: a and (b or c)", false},
		{"1 of pattern", "    sel_a:\n        eventSource: x\n    sel_b:\n        eventName: PutBucketVersioning\n    condition: 1 of sel_*", true},
		{"all of pattern", "    sel_a:\n        eventSource: x\n    sel_b:\n        eventName: PutBucketVersioning\n    condition: all of sel_*", false},
		{"all of them", "    a:\n        eventSource: s3.amazonaws.com\n    b:\n        eventName: PutBucketVersioning\n    condition: all of them", true},
		{"them leaves out underscores", "    a:\n        eventSource: s3.amazonaws.com\n    _b:\n        eventName: X\n    condition: all of them", true},
		{"not 1 of", "    sel:\n        eventSource: s3.amazonaws.com\n    filter_a:\n        eventName: X\n    filter_b:\n        userIdentity.type: Root\n    condition: sel and not 1 of filter_*", true},
		{"condition list is or", "    a:\n        eventSource: x\n    b:\n        eventName: PutBucketVersioning\n    condition:\n        - a\n        - b", true},
		{"keywords are words case-insensitively", "    a:\n        eventSource: s3.amazonaws.com\n    b:\n        eventName: PutBucketVersioning\n    condition: a AND b", true},
		{"anchor", "    a: &x\n        eventSource: s3.amazonaws.com\n    condition: a", true},
		{"unicode fold", "    s:\n        target: ALİCE\n    condition: s", false},
		{"kelvin folds to k", "    s:\n        requestParameters.bucketName|contains: 'LOG'\n    condition: s", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := mustParse(t, doc(c.detection))
			if got := r.Match(e); got != c.want {
				t.Errorf("Match = %v, want %v\n%s", got, c.want, c.detection)
			}
		})
	}
}

func TestMatchNotObject(t *testing.T) {
	r := mustParse(t, doc("    s:\n        eventName: null\n    condition: s"))
	if r.MatchValue(nil) {
		t.Error("nil record matched")
	}
	var nilRule *Rule
	if nilRule.Match(event.MustParse(`{}`)) {
		t.Error("nil rule matched")
	}
}

func TestFoldEqualFold(t *testing.T) {
	pairs := [][2]string{
		{"ConsoleLogin", "consolelogin"}, {"K", "\u212a"}, {"s", "\u017f"}, {"straße", "STRASSE"},
		{"Σ", "ς"}, {"abc", "abd"}, {"", ""}, {"\xff", "\xfe"}, {"ǅ", "ǆ"},
	}
	for _, p := range pairs {
		a, b := AppendFold(nil, []byte(p[0])), AppendFold(nil, []byte(p[1]))
		same := string(a) == string(b)
		want := strings.EqualFold(p[0], p[1]) && (p[0] != "\xff")
		if same != want {
			t.Errorf("fold(%q)==fold(%q) is %v, want %v", p[0], p[1], same, want)
		}
	}
}
