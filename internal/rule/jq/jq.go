// Package jq runs jq queries (the gojq implementation) as trailwatch rules.
//
// A query is decided on its first output only, as cloudtrail-tattletail
// decides its jq_match rules: no output, null, false and a runtime error do
// not match; true matches; the event itself (what select(...) returns)
// matches without an annotation; any other value matches with that value as
// the alert's annotation (strings as plain text, everything else as compact
// JSON). decide.go holds that decision. So a rule such as
//
//	select(.eventName == "ConsoleLogin") | .userIdentity.arn
//
// moves over unchanged and annotates the alert with the ARN.
//
// Queries are compiled once and are safe for concurrent use. They see the
// CloudTrail record itself, never the environment: env and $ENV are empty.
//
// Most rules never reach gojq. A query in the common shapes (conditions on
// fields joined by and, or and not; see cond.go) is decided on the event's
// parsed tree (Quick), giving exactly gojq's answer or leaving the event to
// gojq where gojq would stop with an error. A query that does run in gojq
// is given only the part of the record it can read (fields.go), converted
// once per event and shared by every query run on it. Pins reports the
// fields a query cannot match without, so that a rule set runs it only on
// events that have them. Of duplicate keys in a record, the first counts,
// as it does for every other rule language (jq itself keeps the last;
// CloudTrail writes no duplicates).
package jq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/itchyny/gojq"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/valyala/fastjson"
)

// DefaultTimeout bounds one evaluation of a query on one event. A query that
// runs longer (a runaway recursion, say) fails with a deadline error.
const DefaultTimeout = 250 * time.Millisecond

// Query is a compiled jq query. It is safe for concurrent use.
type Query struct {
	src     string
	code    *gojq.Code
	timeout time.Duration
	prog    *program // the shape evaluated without gojq, or nil
	pins    []Pin
	plan    *plan    // the part of the record the query reads, when partial
	keys    []string // the plan's top-level fields
	partial bool     // only the plan needs converting
}

// Option configures Compile.
type Option func(*Query)

// WithTimeout sets how long one evaluation may run; zero or less leaves only
// the caller's context to stop it.
func WithTimeout(d time.Duration) Option { return func(q *Query) { q.timeout = d } }

// Compile parses and compiles src. Errors name the byte offset of the
// problem within src.
func Compile(src string, opts ...Option) (*Query, error) {
	parsed, err := gojq.Parse(src)
	if err != nil {
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("jq: syntax error at offset %d: %v", pe.Offset, pe)
		}
		return nil, fmt.Errorf("jq: syntax error: %w", err)
	}
	// The query's shape is read before gojq compiles it, from a tree no
	// compiler has touched.
	prog := compileProgram(parsed)
	code, err := gojq.Compile(parsed)
	if err != nil {
		return nil, fmt.Errorf("jq: compile error: %w", err)
	}
	q := &Query{src: src, code: code, timeout: DefaultTimeout, prog: prog, pins: programPins(prog)}
	if p, ok := readPlan(parsed); ok {
		q.plan, q.keys, q.partial = p, p.rootKeys(), true
	}
	for _, o := range opts {
		o(q)
	}
	return q, nil
}

// String returns the query's source text.
func (q *Query) String() string { return q.src }

// EventNames returns the eventName values outside which the query can never
// match, found by reading the query's shape (select(.eventName == "X") | ...,
// .eventName == "X" and ..., .eventName | IN("X", "Y"), test("^(X|Y)$"),
// and or-combinations of these). ok is false when the query does not pin
// the event name to exact values.
func (q *Query) EventNames() (names []string, ok bool) {
	for _, p := range q.pins {
		if len(p.Path) == 1 && p.Path[0] == "eventName" && p.kind() == kindExact && !p.Fold {
			return append([]string(nil), p.Values...), true
		}
	}
	return nil, false
}

// Match runs the query on ev. See the package comment for what matches.
func (q *Query) Match(ctx context.Context, ev *event.Event) (matched bool, annotation string, err error) {
	if r, ann := q.Quick(ev); r != Undecided {
		return r == Matched, ann, nil
	}
	return q.MatchValue(ctx, NewValue(ev))
}

// Outcome is what Quick could decide without running gojq.
type Outcome int

// Quick outcomes.
const (
	Undecided Outcome = iota // run the query with MatchInput
	Matched
	NotMatched
)

// Quick decides the query on ev's parsed tree when its shape allows (see
// cond.go): select(C) | ... | R and plain conditions, where the conditions
// compare fields with literals (==, !=, IN, startswith, endswith, contains,
// test, has, not, and, or) and R is nothing, a field, a condition or an
// interpolated string. Every decision is the one gojq gives; where gojq
// would stop with an error, or the query reads something Quick does not
// know, it returns Undecided and the caller runs the query.
func (q *Query) Quick(ev *event.Event) (Outcome, string) {
	if q.prog == nil {
		return Undecided, ""
	}
	switch r, ann := q.prog.decide(ev.Value()); r {
	case match:
		return Matched, ann
	case noMatch:
		return NotMatched, ""
	}
	return Undecided, ""
}

// Rejects reports whether ev certainly does not match because a condition
// the query requires is false on it (select(.userIdentity.type == "Root"
// and ...), .readOnly == false and ...): the query would yield nothing, or
// false, and raise no error.
func (q *Query) Rejects(ev *event.Event) bool {
	return q.prog != nil && q.prog.rejects(ev.Value())
}

// MatchInput runs the query on input, taken to be the whole event (as
// Input makes it). It does not check Rejects; callers that have the event
// check it first. MatchValue is the same on a shared, partly converted
// event.
func (q *Query) MatchInput(ctx context.Context, input any) (matched bool, annotation string, err error) {
	return q.run(ctx, input, func(out map[string]any) bool { return sameRecord(out, input) })
}

// MatchValue runs the query on v, the event's conversion shared by every
// jq rule run on it (see Value.For). It does not check Rejects.
func (q *Query) MatchValue(ctx context.Context, v *Value) (matched bool, annotation string, err error) {
	input := v.For(q)
	return q.run(ctx, input, func(out map[string]any) bool { return v.isWhole(out, input) })
}

// run evaluates the query on input and decides on its first output;
// whole reports whether an object output is the event itself.
func (q *Query) run(ctx context.Context, input any, whole func(map[string]any) bool) (bool, string, error) {
	if q.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, q.timeout)
		defer cancel()
	}
	iter := q.code.RunWithContext(ctx, input)
	out, ok := iter.Next()
	if e, isErr := out.(error); ok && isErr {
		var halt *gojq.HaltError
		if errors.As(e, &halt) && halt.Value() == nil {
			// halt stops the program without a value: no output.
			return decide(nil, false, whole)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return false, "", fmt.Errorf("jq: query stopped: %w", ctxErr)
		}
		return false, "", fmt.Errorf("jq: runtime error: %w", e)
	}
	return decide(out, ok, whole)
}

// Input converts the whole of ev to the value jq queries read: maps,
// slices, strings, numbers, booleans and nil, built from the event's parsed
// tree without parsing the JSON again.
func Input(ev *event.Event) any {
	return convert(ev.Value())
}

// Value is one event converted for gojq on demand and shared by the queries
// run on it. Most queries read a few fields (eventName, userIdentity.type,
// ...); only those are converted, unless a query reads the event as a
// whole. A Value is not safe for concurrent use.
type Value struct {
	ev   *event.Event
	m    map[string]any
	node *vnode // what of m is converted, while not full
	full bool
}

// NewValue prepares ev for queries; nothing is converted yet.
func NewValue(ev *event.Event) *Value { return &Value{ev: ev} }

// For returns the input for q: the event with at least the fields q reads.
// Giving a query more fields than it reads does not change its results,
// because For only converts part of the event for queries that never look
// at a partly converted object as a whole.
func (v *Value) For(q *Query) any {
	if v.full {
		return v.m
	}
	obj, err := v.ev.Value().Object()
	if err != nil {
		return convert(v.ev.Value())
	}
	if !q.partial {
		v.m = convert(v.ev.Value()).(map[string]any)
		v.full, v.node = true, nil
		return v.m
	}
	if v.node == nil {
		v.node = newVnode()
		v.m = v.node.m
	}
	v.node.fill(q.plan, obj)
	return v.m
}

func convert(v *fastjson.Value) any {
	if v == nil {
		return nil
	}
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		m := make(map[string]any, o.Len())
		var dups []string
		o.Visit(func(k []byte, x *fastjson.Value) {
			if _, dup := m[string(k)]; dup {
				dups = append(dups, string(k))
				return
			}
			m[string(k)] = convert(x)
		})
		// Of duplicate keys the one Get finds counts, as it does for every
		// other rule language and for the rule set's index (jq itself
		// keeps the last; CloudTrail writes no duplicates).
		for _, k := range dups {
			m[k] = convert(o.Get(k))
		}
		return m
	case fastjson.TypeArray:
		a, _ := v.Array()
		out := make([]any, len(a))
		for i, x := range a {
			out[i] = convert(x)
		}
		return out
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return string(b)
	case fastjson.TypeNumber:
		return number(v)
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeFalse:
		return false
	}
	return nil
}

// maxExact is the largest integer a float64 holds exactly.
const maxExact = 1 << 53

// number keeps integers as int (what jq's arithmetic and tostring expect),
// integers too large for a float64 as their exact text, and other numbers as
// float64.
func number(v *fastjson.Value) any {
	if i, err := v.Int64(); err == nil && i > -maxExact && i < maxExact {
		return int(i)
	}
	text := string(v.MarshalTo(nil))
	if !strings.ContainsAny(text, ".eE") {
		return json.Number(text)
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return json.Number(text)
	}
	return f
}
