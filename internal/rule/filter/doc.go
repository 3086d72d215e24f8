// Package filter implements the JSON form of the Amazon CloudWatch Logs
// filter-pattern language, so that metric filters written for CloudWatch Logs
// (the CIS AWS Foundations and Security Hub CloudWatch.1-14 controls among
// them) run unchanged against CloudTrail records:
//
//	{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }
//
// Compile parses a pattern once into a small tree whose selectors are already
// split into steps; Filter.Match walks the event's parsed JSON without parsing
// text or allocating in the common case. Only the JSON form { ... } is
// supported: plain term patterns and space-delimited [ ... ] patterns are
// rejected with an error that says so.
//
// FILTERS.md in this directory gives the grammar and the matching rules,
// including the places where the AWS documentation is silent and trailwatch
// had to choose.
package filter
