// Package route decides where each alert goes and how often: an
// Alertmanager-style tree of routes (matchers on alert labels, continue,
// per-route receivers, group_by and repeat_interval), silences with an
// expiry, scoped ignore rules, and a Dispatcher that groups a batch of
// alerts, throttles repeats and delivers each (event, rule, receiver) once.
// A Batch collects many alerts in little memory (the first few of each
// group whole, 48 bytes for each other), so that one group is one message
// however large; a Pacer lets a receiver that cannot take every message in
// time get one summary of the rest.
//
// Everything is compiled from the configuration once (config.Config →
// Tree); matching a label set allocates little and never parses text.
//
// Routing rules, as in Alertmanager: the root route matches every alert.
// Below a route that matches, its child routes are tried in order; the
// first child that matches ends the search unless that child sets continue,
// in which case the next siblings are tried too. A route whose children all
// fail to match is itself the destination. Children inherit receiver,
// group_by and repeat_interval from their parent unless they set them.
//
// State (internal/state) carries everything that must hold across Lambda
// invocations and processes: which alerts were delivered to which receiver,
// which groups were notified within their repeat interval, and the count of
// alerts held back since. Only the store's atomic operations are used, so
// concurrent invocations agree.
package route
