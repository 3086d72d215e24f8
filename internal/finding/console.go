package finding

import "strings"

// Console links. They are built from the finding's region and id, never
// taken from the finding (ASFF's SourceUrl is whatever the importer wrote),
// and left out when the region is not a region name: the region is part of
// the host.

// guardDutyURL links to a GuardDuty finding in its detector's region, as
// Security Hub's SourceUrl for GuardDuty findings does.
func guardDutyURL(region, id string) string {
	host, ok := consoleHost(region)
	if !ok || id == "" {
		return ""
	}
	return "https://" + host + "/guardduty/home?region=" + region + "#/findings?macros=current&fId=" + component(id)
}

// securityHubURL links to a Security Hub finding: the findings page
// filtered on the finding's Id, as the console writes that filter (the
// value is escaped twice, once as the filter and once as the parameter).
func securityHubURL(region, id string) string {
	host, ok := consoleHost(region)
	if !ok || id == "" {
		return ""
	}
	search := component("Id=" + component(`\operator\:EQUALS\:`+id))
	return "https://" + host + "/securityhub/home?region=" + region + "#/findings?search=" + search
}

// consoleHost returns the console's host for region; ok is false when
// region is not a region name.
func consoleHost(region string) (host string, ok bool) {
	if region == "" || len(region) > 32 {
		return "", false
	}
	for _, c := range region {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return "", false
		}
	}
	switch {
	case strings.HasPrefix(region, "cn-"):
		return region + ".console.amazonaws.cn", true
	case strings.HasPrefix(region, "us-gov-"):
		return "console.amazonaws-us-gov.com", true
	}
	return region + ".console.aws.amazon.com", true
}

// component escapes s as JavaScript's encodeURIComponent does, which is how
// the consoles read their parameters: everything but letters, digits and
// -_.!~*'() is percent-encoded, a space as %20.
func component(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
