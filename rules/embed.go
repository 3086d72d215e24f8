// Package rules holds trailwatch's built-in rule packs and the events their
// tests run on.
//
// Each rules/<pack>.yaml file is one pack (signin, root, iam, logging, data,
// compute, secrets, storage, network, account, threats, insights, self, and
// the opt-in cis and signin-stream, whose files say pack: {default: false});
// testdata/<pack>/ holds the real CloudTrail events
// that the packs' tests name by file. Both are embedded in the binary, so
// `trailwatch test` and the rule loader read the packs without touching the
// file system. testdata/README.md names the source and licence of every
// event.
//
// A run that does not test the rules (check, the Lambda function) reads the
// packs' rules from internal/rule/packtable.go instead of parsing this
// YAML, which is most of what starting trailwatch cost; each of its entries
// names the SHA-256 of the pack file it was made from, so a pack edited
// since is parsed as before. After editing a pack, rewrite the table (the
// test fails until then):
//
//	go test ./internal/rule -run 'TestPackTable$' -update
package rules

import "embed"

// FS holds every built-in pack (*.yaml at its root) and the test events under
// testdata/<pack>/, at the same relative paths as in the source tree, so that
// a pack's `file: testdata/...` test references resolve inside FS and
// `trailwatch test` runs them from the binary, with the README attributing
// them. Data only this package's Go tests read (testdata/panther) stays out
// of the binary.
//
//go:embed *.yaml testdata/README.md testdata/cis testdata/compute testdata/data testdata/iam testdata/logging testdata/root testdata/secrets testdata/self testdata/signin testdata/signin-stream
//go:embed testdata/storage testdata/network testdata/account testdata/threats testdata/insights
var FS embed.FS
