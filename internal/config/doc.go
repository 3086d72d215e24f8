// Package config reads trailwatch.yaml: the rules to run, the time zone and
// language of messages, account names, receivers, the routing tree,
// silences, ignore rules and the state store.
//
// Loading is strict and happens in four steps: defaults, decode, validate,
// cross-check. The decoder walks the YAML tree itself (goccy/go-yaml's
// parser, not its reflection decoder) so that every unknown key and every
// value of the wrong type is an error naming the file, the line and the
// setting, and so that later checks can point at lines too (Config.Line,
// Config.Errorf). Every problem is reported, not only the first, as
// *Error values joined with errors.Join:
//
//	trailwatch.yaml:3: unknown field "recievers"
//	trailwatch.yaml:14: route: receiver "oncall" is not defined
//
// Credentials never appear in the file: secret settings hold references
// (env:, file:, ssm:, secretsmanager:, kms:), checked for syntax here and
// resolved by internal/secret at start-up. A Secret prints as <secret>.
//
// A configuration names other files (rule, detector and trusted-network
// files in rules.files; templates written as {file: PATH}). Load reads
// local ones beside a local file; internal/config/source reads a
// configuration and all it names from a folder, S3 or SSM alike, and is
// what the CLI and the Lambda function use. internal/config/tattletail
// converts a cloudtrail-tattletail configuration into a Config at the edge.
//
// docs/configuration.md is the user's reference for every setting.
package config
