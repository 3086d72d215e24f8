package event

import "strconv"

// Kind says what a record is. Most records are CloudTrail events; ingest
// also reads the EventBridge events in which GuardDuty and Security Hub
// publish findings, and marks them so that the pipeline hands them to
// internal/finding instead of to the rules and detectors, which read
// CloudTrail fields only.
type Kind uint8

// Kinds of record. The zero value is a CloudTrail event.
const (
	// KindCloudTrail is a CloudTrail record, however it arrived.
	KindCloudTrail Kind = iota
	// KindGuardDuty is an EventBridge "GuardDuty Finding" event from
	// aws.guardduty: one finding in detail.
	KindGuardDuty
	// KindSecurityHub is an EventBridge "Security Hub Findings - Imported"
	// event from aws.securityhub: findings in detail.findings, in the AWS
	// Security Finding Format.
	KindSecurityHub
)

var kindNames = [...]string{"cloudtrail", "guardduty", "securityhub"}

// String returns "cloudtrail", "guardduty" or "securityhub".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Finding reports whether records of this kind carry findings rather than
// a CloudTrail event.
func (k Kind) Finding() bool { return k == KindGuardDuty || k == KindSecurityHub }
