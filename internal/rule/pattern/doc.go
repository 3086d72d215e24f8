// Package pattern implements Amazon EventBridge event patterns for
// CloudTrail events: exact values, prefix, suffix, equals-ignore-case,
// wildcard, anything-but in all its forms, numeric ranges, exists, cidr and
// $or, with EventBridge's array semantics.
//
// A pattern is compiled once with Compile and matched many times with
// (*Pattern).Match against the parsed record an event.Event carries. A pattern
// whose top level names source, detail-type or detail is an envelope pattern:
// it matches the EventBridge form of the CloudTrail record (source
// "aws.signin", detail-type "AWS Console Sign In via CloudTrail", detail = the
// record), whatever path the record came by. Any other pattern matches the
// CloudTrail record itself.
//
// PATTERNS.md beside this file describes the language formally, including
// where trailwatch deliberately differs from EventBridge.
package pattern
