// Package event holds trailwatch's model of one CloudTrail record and of the
// alert a rule raises on it.
//
// An Event keeps the record's raw JSON and a parsed tree of it; the helpers
// (Name, Principal, MFAUsed, LoginResult, ConsoleURL, ...) read fields on
// demand and never fail: a missing or oddly shaped field yields the zero value
// and, where it matters, an ok flag. Text read from an event comes from
// whoever made the API call and must be treated as untrusted by every output.
//
// Events made by a Parser share the Parser's memory and are valid only until
// the Parser parses the next record, in the manner of bufio.Scanner.Bytes.
// Anything that keeps an event past that point (an alert, a group, a test
// collecting events) calls Clone.
package event
