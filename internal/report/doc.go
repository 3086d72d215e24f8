// Package report builds reports over a stream of CloudTrail events, the
// same stream the rules see: any input trailwatch reads (files, S3
// prefixes, CloudTrail's event history) feeds a report one event at a time.
//
// The login report answers who signed in to the AWS console, when (in the
// configured time zone), from where (IP address, and country and network
// with a GeoIP database), with which client, with or without MFA, and
// whether it worked: console sign-ins (ConsoleLogin) and role switches
// (SwitchRole) of root, IAM users, IAM Identity Center users and federated
// principals. It is written as a text table, CSV, JSON, or one
// self-contained HTML page with inline SVG charts that fetches nothing.
//
// Everything in an event is chosen by whoever made the call (user names,
// user agents, error messages), so the HTML page goes through html/template
// and the CSV neutralises cells a spreadsheet would run as formulas.
//
// Memory is bounded whatever the input: the report keeps at most
// Options.MaxRows sign-ins for its table (counting the rest) and at most
// maxKeys distinct principals, sources and networks (folding the rest into
// one "other" entry).
package report
