// Package lambda is trailwatch's AWS Lambda face: one handler for every
// trigger (EventBridge, SNS, SQS, CloudWatch Logs subscriptions, S3 event
// notifications), built on the same ingest layer and pipeline as the CLI.
//
// Failure contract. An SQS invocation answers with a partial batch response
// naming exactly the messages whose records could not be read or whose alerts
// could not all be delivered; SQS redelivers only those, and after
// maxReceiveCount moves them to the dead-letter queue. Every other trigger
// returns an error when anything failed, so Lambda's own retry and the
// function's dead-letter queue take over. Idempotent delivery (see
// internal/route) makes the retry of a partly delivered batch send only what
// had not been sent.
package lambda
