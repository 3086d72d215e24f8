package jq

import (
	"fmt"
	"reflect"

	"github.com/itchyny/gojq"
)

// decide is the one place a query's result becomes a verdict, exactly as
// cloudtrail-tattletail decides, so that its jq_match rules behave the same
// here. Only the first output counts (later outputs are never computed):
//
//   - no output, null or false: no match;
//   - true: a match without an annotation;
//   - the event itself (the select(...) form; whole tells): a match without
//     an annotation, since the record is already the alert's subject;
//   - any other value: a match annotated with it, a string as it is and
//     anything else as compact JSON.
//
// An error as the first output is no match, reported by the caller.
func decide(out any, ok bool, whole func(map[string]any) bool) (matched bool, annotation string, err error) {
	if !ok {
		return false, "", nil
	}
	switch v := out.(type) {
	case nil:
		return false, "", nil
	case bool:
		return v, "", nil
	case string:
		return true, v, nil
	case map[string]any:
		if whole(v) {
			return true, "", nil
		}
	}
	b, err := gojq.Marshal(out)
	if err != nil {
		return false, "", fmt.Errorf("jq: result cannot be written as JSON: %w", err)
	}
	return true, string(b), nil
}

// sameRecord reports whether out is the record rec: the very map (what
// select and . return), or one equal to it as jq compares values.
func sameRecord(out map[string]any, rec any) bool {
	m, ok := rec.(map[string]any)
	if !ok {
		return false
	}
	if reflect.ValueOf(out).UnsafePointer() == reflect.ValueOf(m).UnsafePointer() {
		return true
	}
	return len(out) == len(m) && gojq.Compare(out, m) == 0
}

// isWhole reports whether out, an object the query returned from input
// (what For gave it), is the whole event. A query given only some fields can
// return the event only by building an object with every one of the
// event's fields; then the whole event is converted to compare.
func (v *Value) isWhole(out map[string]any, input any) bool {
	if v.full {
		return sameRecord(out, v.m)
	}
	obj, err := v.ev.Value().Object()
	if err != nil {
		return sameRecord(out, input)
	}
	if len(out) > obj.Len() {
		return false
	}
	return sameRecord(out, convert(v.ev.Value()))
}
