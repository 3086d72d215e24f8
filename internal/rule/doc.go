// Package rule loads, validates and runs trailwatch's detection rules.
//
// A rule file is YAML holding a list of rules; one file is one pack, named
// after the file. Each rule has an id, title, severity, optional description,
// tags, refs and summary template, exactly one match written in one of four
// languages (an EventBridge event pattern, a CloudWatch Logs filter pattern, a
// jq query or a Sigma rule) and its own test cases. A file that is itself a
// Sigma rule loads as one rule. LoadFile and LoadFS read files, Select
// picks built-in packs and extra files, and NewSet compiles the chosen rules
// into one Set that matches an event against every rule in one pass, looking
// only at the rules that can match it: each rule is indexed by its event
// names, or else by another field it cannot match without (a user name, an
// address prefix, a user-agent fragment; see pin in index.go).
//
// Everything is compiled at load time: a bad rule fails when it is loaded, and
// the per-event path never parses rule text. A Set and its Rules are safe for
// concurrent use.
package rule
