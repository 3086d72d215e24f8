package archive

import (
	"errors"
	"strings"
	"time"
)

// level says where a folder sits in CloudTrail's S3 layout.
type level int

const (
	levelAbove   level = iota // no AWSLogs/ segment yet: the bucket root or a custom prefix
	levelAWSLogs              // .../AWSLogs/
	levelOrg                  // .../AWSLogs/o-xxxx/
	levelAccount              // .../AWSLogs/[o-xxxx/]<account>/
	levelService              // .../<account>/CloudTrail/
	levelRegion               // .../CloudTrail/<region>/ and anything below it
	levelOther                // another service's folder (.../<account>/vpcflowlogs/)
)

// place is a folder's position in the layout.
type place struct {
	level level
	// region is the folder of the region (".../CloudTrail/us-east-1/") for
	// levelRegion, so keys below it can be read as region + "YYYY/MM/DD/".
	region string
	// account and regionName are the folder's account id (from
	// levelAccount down) and region name (levelRegion).
	account, regionName string
}

// locate finds where folder (a key prefix ending in "/", or "") sits.
func locate(folder string) place {
	i := lastSegment(folder, "AWSLogs/")
	if i < 0 {
		return place{level: levelAbove}
	}
	rest := folder[i+len("AWSLogs/"):]
	// Only whole folders count: a last segment without its closing slash
	// (a key, or a prefix cut short) names no folder yet.
	rest = rest[:strings.LastIndexByte(rest, '/')+1]
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if rest == "" {
		segs = nil
	}
	start := 0
	if len(segs) > 0 && isOrgID(segs[0]) {
		start = 1
	}
	n := len(segs) - start
	switch {
	case n == 0 && start == 1:
		return place{level: levelOrg}
	case n == 0:
		return place{level: levelAWSLogs}
	case n == 1:
		return place{level: levelAccount, account: segs[start]}
	case !trailService(segs[start+1]):
		return place{level: levelOther, account: segs[start]}
	case n == 2:
		return place{level: levelService, account: segs[start]}
	}
	// The region folder: everything up to and including segs[start+2].
	end := i + len("AWSLogs/")
	for _, s := range segs[:start+3] {
		end += len(s) + 1
	}
	return place{level: levelRegion, region: folder[:end], account: segs[start], regionName: segs[start+2]}
}

// lastSegment returns the index of the last occurrence of seg that starts a
// path segment, or -1.
func lastSegment(s, seg string) int {
	for end := len(s); ; {
		i := strings.LastIndex(s[:end], seg)
		if i < 0 {
			return -1
		}
		if i == 0 || s[i-1] == '/' {
			return i
		}
		end = i
	}
}

// trailService reports whether a folder under an account holds CloudTrail
// log files: CloudTrail/ for events, CloudTrail-Insight/ for Insights events.
// CloudTrail-Digest/ holds digests, which carry no events.
func trailService(s string) bool {
	return s == "CloudTrail" || s == "CloudTrail-Insight"
}

// isOrgID reports whether s is an AWS Organizations id, "o-" and 10 to 32
// lower-case letters or digits.
func isOrgID(s string) bool {
	if len(s) < 12 || len(s) > 34 || !strings.HasPrefix(s, "o-") {
		return false
	}
	for _, c := range s[2:] {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// isAccount reports whether s is a 12-digit account id.
func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// dayOf reads the "YYYY/MM/DD" that follows the region folder in key, as
// the start of that day in UTC.
func dayOf(region, key string) (time.Time, bool) {
	if len(key) < len(region)+10 || !strings.HasPrefix(key, region) {
		return time.Time{}, false
	}
	t, err := time.Parse("2006/01/02", key[len(region):len(region)+10])
	return t, err == nil
}

// dayFolder returns region + "YYYY/MM/DD" for t's day in UTC.
func dayFolder(region string, t time.Time) string {
	return region + t.UTC().Format("2006/01/02")
}

// logName is what a CloudTrail log file's name says about it.
type logName struct {
	Account, Region string
	// Time is the delivery time, to the minute, in UTC.
	Time time.Time
}

var errNotLogName = errors.New("not a CloudTrail log file name")

// parseLogName reads "<account>_CloudTrail_<region>_YYYYMMDDTHHmmZ_<id>.json.gz"
// (and the _CloudTrail-Insight_ form).
func parseLogName(name string) (logName, error) {
	parts := strings.SplitN(name, "_", 5)
	if len(parts) != 5 || !isAccount(parts[0]) || !trailService(parts[1]) || parts[2] == "" {
		return logName{}, errNotLogName
	}
	t, err := time.Parse("20060102T1504Z", parts[3])
	if err != nil {
		return logName{}, errNotLogName
	}
	return logName{Account: parts[0], Region: parts[2], Time: t}, nil
}

// baseName returns the part of key after its last "/".
func baseName(key string) string {
	return key[strings.LastIndexByte(key, '/')+1:]
}

// logFileKey reports whether a key names a file the decoder reads. Other
// objects in a log tree (folder markers, manifests) are passed over.
func logFileKey(key string) bool {
	n := strings.ToLower(baseName(key))
	if n == "" || strings.Contains(key, "CloudTrail-Digest/") || strings.Contains(n, "_cloudtrail-digest_") {
		return false
	}
	for _, ext := range []string{".json.gz", ".json", ".jsonl", ".ndjson", ".gz"} {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	return false
}
