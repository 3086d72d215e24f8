// Package state keeps what trailwatch must remember between events and
// between invocations: delivered alerts (idempotency), groups and their repeat
// intervals, first-seen networks, burst windows and threshold counts.
//
// Every implementation (Memory here, a bbolt file for the CLI, DynamoDB for
// Lambda) has the same contract: each method is atomic with respect to every
// other caller of the same store, including other processes sharing it, and
// an item whose TTL has passed is treated as absent even if the backend has
// not deleted it yet.
//
// # Batches
//
// Per-operation cost, not the data, is what makes state expensive: a bbolt
// transaction ends in an fsync, a DynamoDB call in a round trip. So work is
// grouped where the contract allows:
//
//   - Batcher reads many keys in one call (one bbolt read transaction,
//     BatchGetItem) and writes many unconditionally (one bbolt transaction,
//     BatchWriteItem). Conditional writes (PutIfAbsent, CompareAndSwap, Add)
//     stay one key per call on every backend: DynamoDB cannot batch them,
//     and they are what keeps concurrent processes agreeing.
//   - The file store holds its writes in memory and writes them to the file
//     in one transaction on Flush (and on Close, and whenever it holds
//     many). bbolt locks the file for one process, so holding writes
//     changes no answer any caller sees; it only changes what a crash
//     loses.
//   - A Scope is one unit of work's view of a store (the events of one log
//     file or SQS message): it remembers what it read and wrote, so a key
//     used again costs no second read, and once the store has failed it
//     fails every later call at once.
//
// # Durability
//
// Memory keeps nothing across processes. DynamoDB has made a write durable
// when the call returns. The file store makes writes durable at Flush:
// trailwatch flushes at the end of every input, every few thousand events
// and at the end of every delivery, so a crash loses at most the records of
// the batch in progress. Delivery records are written only after the send
// succeeded, so what a crash loses is a record of an alert that was sent
// (sent again on the next run), never the record of one that was not; and
// the detectors answer a retried event as they did the first time (see
// internal/detect), so an event whose state was lost is simply counted
// again.
package state
