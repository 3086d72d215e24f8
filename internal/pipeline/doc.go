// Package pipeline wires trailwatch together: it turns a parsed
// configuration (internal/config) into a running pipeline of rules,
// detectors, routes, renderers, receivers and the state store, and is the one
// place to read to see how an event becomes a message.
//
//	event ─► rules ─► detectors ─► route ─► group ─► render ─► notify (retry)
//	                                  └──── state store: delivered once ───┘
//
// A Pipeline is built once per configuration (Build or New) and then shared:
// it is safe for concurrent use. The Lambda face uses it as its Engine; the
// CLI uses the same Pipeline for `check`, with Preview (or a dry-run build)
// to see the messages without sending them.
//
// Every dependency that reaches outside the process (AWS clients, the HTTP
// client, the clock, the logger, the store) comes in through Deps, so tests
// swap them without touching anything shared.
package pipeline
