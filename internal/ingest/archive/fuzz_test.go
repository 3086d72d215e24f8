package archive

import (
	"strings"
	"testing"
	"time"
)

// FuzzKeys feeds S3 keys and prefixes, which whoever can write to the
// bucket chooses, to every reader of the layout: none may panic, a region
// folder must be a prefix of the folder it was found in, and a parsed log
// name must carry a 12-digit account and a time to the minute.
func FuzzKeys(f *testing.F) {
	for _, s := range []string{
		"AWSLogs/", "ct/AWSLogs/o-abcdef1234/111111111111/CloudTrail/us-east-1/2024/05/01/",
		"AWSLogs/111111111111/CloudTrail-Digest/us-east-1/", "AWSLogs/AWSLogs/1/CloudTrail/x/",
		"111111111111_CloudTrail_us-east-1_20240501T0005Z_abc.json.gz", "s3://b/AWSLogs", "s3://b/k.json.gz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := locate(s)
		if p.level == levelRegion && !strings.HasPrefix(s, p.region) {
			t.Errorf("locate(%q): region folder %q is not a prefix", s, p.region)
		}
		if p.region != "" {
			dayOf(p.region, s)
		}
		if n, err := parseLogName(s); err == nil {
			if !isAccount(n.Account) || n.Time.Second() != 0 || n.Time.Location() != time.UTC {
				t.Errorf("parseLogName(%q) = %+v", s, n)
			}
		}
		logFileKey(s)
		IsPrefix(s)
		if b, pre, err := ParseURI(s); err == nil && (b == "" || pre != "" && !strings.HasSuffix(pre, "/")) {
			t.Errorf("ParseURI(%q) = %q %q", s, b, pre)
		}
	})
}
