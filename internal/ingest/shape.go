package ingest

import "bytes"

// checkShape counts the values of the JSON text b and how deep they nest,
// in one pass that allocates nothing, and returns a *LimitError when b
// holds more than maxValues values or nests deeper than MaxDepth. It does
// not validate b; the parser that runs after it does. The parser builds a
// tree of a few hundred bytes per value, so this pass is what keeps a
// record of a few KB gzipped from costing gigabytes.
//
// Values are counted as the parser makes them: the top-level value, and
// each element of an array and each member of an object (a member's key is
// not a value). Depth is counted the parser's way too: the top-level value
// is at level 1, a value inside n arrays or objects at level n+1, and a
// value at a level over MaxDepth is refused.
func checkShape(b []byte, maxValues int) error {
	values := 1
	depth := 0
	afterOpen := false // the last structural byte opened an array or object
	for i := 0; i < len(b); i++ {
		k := shapeClass[b[i]]
		if k == shapeSpace {
			continue
		}
		if afterOpen {
			afterOpen = false
			if k != shapeClose {
				// The first element of a non-empty array or object.
				values++
				if depth >= MaxDepth {
					return &LimitError{Limit: LimitDepth, Max: MaxDepth}
				}
			}
		}
		switch k {
		case shapeQuote:
			i = stringEnd(b, i+1) - 1
		case shapeOpen:
			depth++
			afterOpen = true
		case shapeClose:
			depth--
		case shapeComma:
			if depth > 0 {
				values++
				if depth >= MaxDepth {
					return &LimitError{Limit: LimitDepth, Max: MaxDepth}
				}
			}
		}
		if values > maxValues {
			return &LimitError{Limit: LimitValues, Max: int64(maxValues)}
		}
	}
	return nil
}

// stringEnd returns the index after the quote that closes the string whose
// content starts at b[i], or len(b) when it does not close.
func stringEnd(b []byte, i int) int {
	start := i
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return len(b)
		}
		i += q + 1
		if !oddBackslashes(b, start, i-1) {
			return i
		}
	}
}

// Byte classes of checkShape.
const (
	shapeOther = iota // a byte of a number or literal, or a colon
	shapeSpace
	shapeQuote
	shapeOpen
	shapeClose
	shapeComma
)

var shapeClass = func() (t [256]byte) {
	for _, c := range []byte(" \t\r\n") {
		t[c] = shapeSpace
	}
	t['"'] = shapeQuote
	t['{'], t['['] = shapeOpen, shapeOpen
	t['}'], t[']'] = shapeClose, shapeClose
	t[','] = shapeComma
	return t
}()
