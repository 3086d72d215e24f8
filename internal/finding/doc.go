// Package finding turns the findings GuardDuty and Security Hub publish on
// EventBridge into alerts, so that they go through the same routes,
// silences, grouping, templates and receivers as the alerts rules raise.
//
// Ingest yields a "GuardDuty Finding" event (source aws.guardduty) or a
// "Security Hub Findings - Imported" event (source aws.securityhub) as one
// event marked with its kind (event.KindGuardDuty, event.KindSecurityHub);
// the pipeline hands such events here instead of to the rules and
// detectors. A GuardDuty event carries one finding in detail; a Security
// Hub event carries a list in detail.findings, in the AWS Security Finding
// Format (ASFF), and each finding becomes its own alert.
//
// Each alert is raised as the rule "guardduty-finding" or
// "securityhub-finding", with the finding in event.Alert.Finding and the
// finding's own JSON as the alert's event. Severity is mapped from
// GuardDuty's number (below 4 low, below 7 medium, below 9 high, 9 and
// above critical) or from ASFF's Severity.Label (INFORMATIONAL is info).
// Labels carry source, finding_type, finding_id, product, resource_type
// and resource_id beside rule, severity, account and region.
//
// Findings nobody needs to hear about raise nothing, and each is logged
// (finding_skipped) with its reason: GuardDuty findings that are archived,
// and Security Hub findings whose record is archived, whose workflow is
// RESOLVED or SUPPRESSED, or whose compliance check PASSED.
//
// Delivery is keyed by the finding and its severity (event.Finding.Key),
// not by the event: GuardDuty sends a finding again each time its count
// grows, and Security Hub imports GuardDuty's findings under the same ARN,
// so one finding at one severity is delivered once per receiver (for as
// long as state.ttl keeps the record) however often it arrives.
//
// Everything read is bounded: at most Options.MaxFindings findings per
// event, and every text cut to a fixed number of characters. Findings may
// be written by anyone allowed to import them into Security Hub, so their
// text is untrusted and the renderers escape it like any CloudTrail text.
package finding
