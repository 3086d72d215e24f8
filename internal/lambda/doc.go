// Package lambda is trailwatch's AWS Lambda face: one handler for every
// trigger (EventBridge, SNS, SQS, CloudWatch Logs subscriptions, S3 event
// notifications), built on the same ingest layer and pipeline as the CLI.
//
// Failure contract. An SQS invocation answers with a partial batch response
// naming every message not completely handled: not read, read in part,
// failed (a record that could not be read, a state store that could not be
// reached), or with alerts that could not all be delivered. SQS redelivers
// only those, and after maxReceiveCount moves them to the dead-letter
// queue. Every other trigger returns an error when anything failed, so
// Lambda's own retry and the function's dead-letter queue take over.
// Idempotent delivery (see internal/route) makes the retry of a partly
// delivered batch send only what had not been sent.
//
// Time. An invocation never runs into its deadline: reading stops early
// enough to deliver what was read, the messages of a batch share the
// reading time so that one hostile message cannot starve the rest, and the
// handler answers before the deadline even if a stage overruns (see
// Handler.Invoke). Input not read in time, or refused by ingest as
// hostile, raises the alert trailwatch-input-refused.
//
// Memory. The alerts of an invocation go into one batch (pipeline.Batch),
// which keeps each group one message whatever its size and holds only the
// first alerts of each group in full.
package lambda
