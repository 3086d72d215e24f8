// Package e2e holds trailwatch's end-to-end tests: they build the real
// binary and run it as a Lambda function under a fake Lambda Runtime API,
// with in-process stand-ins for S3, DynamoDB and a Slack incoming webhook,
// and assert exactly which messages reach Slack. The package has no code of
// its own; run it with `go test ./e2e`.
//
// Set TRAILWATCH_E2E_BINARY to run the tests against a binary built
// elsewhere (for example dist/bootstrap from `make lambda-zip` on a
// machine of the same architecture) instead of building one.
package e2e
