// Package jq runs jq queries (the gojq implementation) as trailwatch rules.
//
// A query matches an event when it yields a truthy value: true matches with
// no annotation, and any other value except false and null matches with that
// value as the alert's annotation (strings as plain text, everything else as
// compact JSON). false, null, no output and a runtime error do not match.
// This is how cloudtrail-tattletail's jq_match rules behave, so a rule such as
//
//	select(.eventName == "ConsoleLogin") | .userIdentity.arn
//
// moves over unchanged and annotates the alert with the ARN.
//
// Queries are compiled once and are safe for concurrent use. They see the
// CloudTrail record itself, never the environment: env and $ENV are empty.
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
	names   []string
	pinned  bool
	guards  []guard
	keys    []string // top-level fields the query reads, when partial
	partial bool     // only keys need converting
	native  *native  // evaluated without gojq, when the shape allows
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
	code, err := gojq.Compile(parsed)
	if err != nil {
		return nil, fmt.Errorf("jq: compile error: %w", err)
	}
	q := &Query{src: src, code: code, timeout: DefaultTimeout}
	q.names, q.pinned = eventNames(parsed)
	q.guards = guardsOf(parsed)
	q.keys, q.partial = rootKeys(parsed)
	q.native = nativeOf(parsed)
	for _, o := range opts {
		o(q)
	}
	return q, nil
}

// String returns the query's source text.
func (q *Query) String() string { return q.src }

// EventNames returns the eventName values outside which the query can never
// match, found by reading the query's shape (select(.eventName == "X") | ...,
// .eventName == "X" and ..., and or-combinations of these). ok is false when
// the query does not pin the event name.
func (q *Query) EventNames() (names []string, ok bool) {
	if !q.pinned {
		return nil, false
	}
	return append([]string(nil), q.names...), true
}

// Match runs the query on ev. See the package comment for what matches.
func (q *Query) Match(ctx context.Context, ev *event.Event) (matched bool, annotation string, err error) {
	if r, ann := q.Quick(ev); r != Undecided {
		return r == Matched, ann, nil
	}
	return q.MatchInput(ctx, NewValue(ev).For(q))
}

// Outcome is what Quick could decide without running gojq.
type Outcome int

// Quick outcomes.
const (
	Undecided Outcome = iota // run the query with MatchInput
	Matched
	NotMatched
)

// Quick decides the query on ev's parsed tree when it can: the guards rule
// ev out (see Rejects), or the query has one of the common shapes that need
// no jq machinery (.f == "x" and ...; select(...) | .a.b with a text
// result). Otherwise it returns Undecided and the caller runs MatchInput.
func (q *Query) Quick(ev *event.Event) (Outcome, string) {
	if q.native != nil {
		switch r, ann := q.native.eval(ev.Value()); r {
		case match:
			return Matched, ann
		case noMatch:
			return NotMatched, ""
		}
		return Undecided, ""
	}
	if q.Rejects(ev) {
		return NotMatched, ""
	}
	return Undecided, ""
}

// MatchInput runs the query on an input made by Input, so that several
// queries can share one conversion of the same event. It does not check
// Rejects; callers that have the event check it first.
func (q *Query) MatchInput(ctx context.Context, input any) (matched bool, annotation string, err error) {
	if q.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, q.timeout)
		defer cancel()
	}
	iter := q.code.RunWithContext(ctx, input)
	for {
		v, ok := iter.Next()
		if !ok {
			return false, "", nil
		}
		if e, isErr := v.(error); isErr {
			var halt *gojq.HaltError
			if errors.As(e, &halt) && halt.Value() == nil {
				// halt stops the program without a value: no match.
				return false, "", nil
			}
			if ctxErr := ctx.Err(); ctxErr != nil {
				return false, "", fmt.Errorf("jq: query stopped: %w", ctxErr)
			}
			return false, "", fmt.Errorf("jq: runtime error: %w", e)
		}
		switch v := v.(type) {
		case nil:
			continue
		case bool:
			if v {
				return true, "", nil
			}
			continue
		case string:
			return true, v, nil
		default:
			b, err := gojq.Marshal(v)
			if err != nil {
				return false, "", fmt.Errorf("jq: result cannot be written as JSON: %w", err)
			}
			return true, string(b), nil
		}
	}
}

// Input converts the whole of ev to the value jq queries read: maps,
// slices, strings, numbers, booleans and nil, built from the event's parsed
// tree without parsing the JSON again.
func Input(ev *event.Event) any {
	return convert(ev.Value())
}

// Value is one event converted for gojq on demand and shared by the queries
// run on it. Most queries read a few top-level fields (eventName,
// userIdentity, ...); only those are converted, unless a query reads the
// event as a whole. A Value is not safe for concurrent use.
type Value struct {
	ev   *event.Event
	m    map[string]any
	full bool
}

// NewValue prepares ev for queries; nothing is converted yet.
func NewValue(ev *event.Event) *Value { return &Value{ev: ev} }

// For returns the input for q: the event with at least the fields q reads.
// Giving a query more fields than it reads does not change its results,
// because For only converts part of the event for queries that never look
// at the event object as a whole.
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
		v.full = true
		return v.m
	}
	if v.m == nil {
		v.m = make(map[string]any, len(q.keys))
	}
	missing := false
	for _, k := range q.keys {
		if _, ok := v.m[k]; !ok {
			missing = true
			break
		}
	}
	if missing {
		obj.Visit(func(k []byte, x *fastjson.Value) {
			for _, want := range q.keys {
				if string(k) == want {
					v.m[want] = convert(x)
					return
				}
			}
		})
	}
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
		o.Visit(func(k []byte, x *fastjson.Value) {
			m[string(k)] = convert(x)
		})
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
