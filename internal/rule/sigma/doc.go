// Package sigma compiles Sigma detection rules (the SigmaHQ format) for AWS
// CloudTrail and matches them against CloudTrail records.
//
// A rule is parsed once with Parse (a YAML document) or ParseNode (a
// mapping embedded in another YAML file) and matched many times with
// (*Rule).Match. Only rules for CloudTrail load (logsource product aws,
// service cloudtrail); every construct the package does not implement is
// refused at parse time with its line and the reason, never ignored.
// Field names are CloudTrail's own, read as dotted paths into the record
// (userIdentity.sessionContext.sessionIssuer.type).
//
// SIGMA.md beside this file says exactly what is supported and how each
// construct matches.
package sigma
