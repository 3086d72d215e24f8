// Package detect holds trailwatch's stateful sign-in detectors: trusted
// networks and expected regions, first-seen network / country / ASN / client
// per principal, bursts (failed sign-ins, password spraying, access-denied
// errors) and impossible travel.
//
// A Config (YAML: named networks and a list of detector specs) is merged
// with the built-in Default and built into a Set, which runs every detector
// on an event in one call and returns alerts. Events no detector watches are
// skipped before any state is touched. All state goes through state.Store
// with conditional writes (PutIfAbsent, CompareAndSwap, Add), so many
// concurrent observers, in one process or in many Lambda invocations
// sharing a DynamoDB table, raise each alert once.
//
// Windows, learning periods and retention are measured in event time, so
// replaying archived logs (Set.Learn, for `trailwatch check --learn`) builds
// the same baseline that watching them live would have built.
package detect
