// Package fold turns the alerts that several rules raise on one event into
// one message. It sits between the rules and the route stage's delivery:
// routing, silences, ignore rules and delivery records still see every
// rule's alert on its own, and fold only decides how many messages carry
// them. Folding never changes which (rule, receiver) pairs are delivered;
// it changes only how many messages carry them.
//
// The alerts of one event bound for one receiver become one message, unless
// the route that reached the receiver asks for one message per rule
// (`messages: per_rule` in trailwatch.yaml). The message is a copy of its
// primary alert, the one whose title says the most, with the others in
// event.Alert.Also, ordered the same way. The primary is chosen by, in
// order:
//
//  1. the highest severity (after rules.severity overrides);
//  2. a focused rule before a broad compliance filter: rules of the packs in
//     Options.BroadPacks ("cis" by default, the CIS CloudWatch metric
//     filters copied verbatim, each covering a whole family of calls) come
//     last;
//  3. a rule that names the event (its match pins eventName) before one
//     that matches any call (such as "any call by root");
//  4. the rule whose match requires more fields to hold a value (see
//     Fields), so "failed root sign-in" (eventName, userIdentity.type and
//     responseElements.ConsoleLogin) beats "failed sign-in" (eventName and
//     responseElements.ConsoleLogin);
//  5. the order the rules were loaded in, rules before detectors and
//     thresholds (whose alerts carry no match to measure);
//  6. the rule id, so the choice never depends on arrival order.
//
// Two alerts belong to the same event when the event ids and the raw
// records are the same: an event forged with a real event's id is never
// folded into the real one's message.
package fold
