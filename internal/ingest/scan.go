package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// errLineBreak ends a JSON Lines record that is cut short at a line end.
var errLineBreak = errors.New("line ends before its JSON value is complete")

// syntaxError is a structural JSON error the scanner found at an offset.
type syntaxError struct {
	off int64
	msg string
	eof bool // the input ended inside a value
}

func (e *syntaxError) Error() string {
	if e.eof {
		return fmt.Sprintf("input ends at byte offset %d inside this record, so it is truncated", e.off)
	}
	return fmt.Sprintf("%s at byte offset %d", e.msg, e.off)
}

// readError is a failure of the underlying reader (truncated gzip, I/O).
type readError struct{ err error }

func (e *readError) Error() string {
	var ge *gzipError
	if errors.As(e.err, &ge) {
		return ge.Error()
	}
	var le *LimitError
	if errors.As(e.err, &le) {
		return le.Error()
	}
	return "input could not be read to its end: " + e.err.Error()
}
func (e *readError) Unwrap() error { return e.err }

// scanner finds the bytes of one JSON value after another in a stream,
// without parsing them. It tracks only strings, escapes and nesting depth;
// the parser that receives a value validates it.
//
// A value that lies wholly inside the bufio.Reader's window is returned as a
// slice of that window (no copy); one that spans refills is gathered in side.
// Either way the returned bytes stay valid until the next call on the
// scanner, which is what lets a yielded event point into them.
//
// Each time the window is refilled the scanner checks its context and the
// bytes read so far, so a long run of white space or an oversized value,
// which no record count sees, still stops at a deadline or at the input's
// byte limit. Once stopped it stays stopped: every later call returns the
// same *scanStop.
type scanner struct {
	br   buffered
	side []byte
	// inWindow: the last value returned lies in br's buffer (not side).
	inWindow bool
	max      int   // Limits.MaxRecordBytes
	maxBytes int64 // Limits.MaxInputBytes, or a message's own limit
	ctx      context.Context
	stop     *scanStop
	off      int64 // bytes consumed
	lines    bool  // JSON Lines: a line break ends every top-level value
}

// scanStop is returned by every scanner method once reading must stop: the
// context is done or the input is over its byte limit.
type scanStop struct{ err error }

func (e *scanStop) Error() string { return e.err.Error() }
func (e *scanStop) Unwrap() error { return e.err }

func newScanner(ctx context.Context, br buffered, lim Limits) *scanner {
	return &scanner{br: br, max: lim.MaxRecordBytes, maxBytes: lim.MaxInputBytes, ctx: ctx}
}

// tooLarge is the error for a value over the record limit.
func (s *scanner) tooLarge() error {
	return &LimitError{Limit: LimitRecordBytes, Max: int64(s.max)}
}

// isTooLarge reports a value skipped for being over the record limit.
func isTooLarge(err error) bool {
	var le *LimitError
	return errors.As(err, &le) && le.Limit == LimitRecordBytes
}

// window returns the buffered bytes, reading more when none are buffered.
// It returns an empty slice and the reader's error at the end, or a
// *scanStop.
func (s *scanner) window() ([]byte, error) {
	if s.br.Buffered() == 0 {
		if s.stop == nil {
			if err := s.ctx.Err(); err != nil {
				s.stop = &scanStop{err}
			} else if s.off >= s.maxBytes {
				s.stop = &scanStop{&LimitError{Limit: LimitInputBytes, Max: s.maxBytes}}
			}
		}
		if s.stop != nil {
			return nil, s.stop
		}
		if _, err := s.br.Peek(1); err != nil && s.br.Buffered() == 0 {
			if cerr := s.ctx.Err(); cerr != nil && errors.Is(err, cerr) {
				// A read that gave up waiting for the context (a
				// read-ahead) stops like a context check.
				s.stop = &scanStop{cerr}
				return nil, s.stop
			}
			return nil, err
		}
	}
	b, _ := s.br.Peek(s.br.Buffered())
	return b, nil
}

func (s *scanner) discard(n int) {
	s.br.Discard(n) //nolint:errcheck // n is at most Buffered()
	s.off += int64(n)
}

// peek skips white space and returns the next byte without consuming it.
// newline reports whether a line break was skipped. At the end it returns
// io.EOF; a failing reader's error comes back as a *readError.
func (s *scanner) peek() (c byte, newline bool, err error) {
	for {
		buf, err := s.window()
		if len(buf) == 0 {
			if err == io.EOF {
				return 0, newline, io.EOF
			}
			if stop, ok := err.(*scanStop); ok {
				return 0, newline, stop
			}
			return 0, newline, &readError{err}
		}
		for i, c := range buf {
			switch c {
			case ' ', '\t', '\r':
			case '\n':
				newline = true
			default:
				s.discard(i)
				return c, newline, nil
			}
		}
		s.discard(len(buf))
	}
}

// buffered returns the bytes in the window without reading more.
func (s *scanner) buffered() []byte {
	b, _ := s.br.Peek(s.br.Buffered())
	return b
}

// skipBOM drops a UTF-8 byte order mark at the start of the stream.
func (s *scanner) skipBOM() {
	if b, _ := s.br.Peek(3); bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		s.discard(3)
	}
}

// consume drops one byte already seen by peek.
func (s *scanner) consume() { s.discard(1) }

// objectOpensAlone reports whether the next line, from the current
// position, is a lone "{": the first line of a pretty-printed object. It
// looks only at what is already buffered, so a live stream never waits.
func (s *scanner) objectOpensAlone() bool {
	b, _ := s.br.Peek(min(s.br.Buffered(), 4096))
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return string(bytes.TrimSpace(b)) == "{"
}

// value returns the bytes of the JSON value that starts at the next non-space
// byte (the caller has skipped the white space with peek). A value larger than
// the limit is scanned to its end without being kept and reported with a
// *LimitError, so the caller may go on with the next value. multiline
// reports whether a line break occurred outside strings.
func (s *scanner) value() (v []byte, multiline bool, err error) {
	st := valueState{lines: s.lines}
	s.side = s.side[:0]
	tooLarge := false
	for {
		buf, rerr := s.window()
		if len(buf) == 0 {
			if rerr == io.EOF {
				if st.prim && !st.inStr {
					if tooLarge {
						return nil, st.multiline, s.tooLarge()
					}
					s.inWindow = false
					return s.side, st.multiline, nil
				}
				return nil, st.multiline, &syntaxError{off: s.off, eof: true}
			}
			if stop, ok := rerr.(*scanStop); ok {
				return nil, st.multiline, stop
			}
			return nil, st.multiline, &readError{rerr}
		}
		n, ferr := st.feed(buf)
		if ferr != nil {
			if errors.Is(ferr, errLineBreak) {
				s.discard(n)
				return nil, st.multiline, &syntaxError{off: s.off, msg: errLineBreak.Error()}
			}
			return nil, st.multiline, &syntaxError{off: s.off + int64(n), msg: ferr.Error()}
		}
		if n >= 0 {
			switch {
			case tooLarge || len(s.side)+n > s.max:
				s.discard(n)
				return nil, st.multiline, s.tooLarge()
			case len(s.side) == 0:
				v = buf[:n:n]
				s.inWindow = true
			default:
				s.side = append(s.side, buf[:n]...)
				v = s.side
				s.inWindow = false
			}
			s.discard(n)
			return v, st.multiline, nil
		}
		if !tooLarge && len(s.side)+len(buf) > s.max {
			tooLarge = true
			s.side = s.side[:0]
		}
		if !tooLarge {
			s.side = append(s.side, buf...)
		}
		s.discard(len(buf))
	}
}

// valueState is the scanner's memory between windows.
type valueState struct {
	depth     int
	inStr     bool
	esc       bool // the previous byte in a string was a backslash
	prim      bool // a number, true, false or null at depth 0
	started   bool
	lines     bool
	multiline bool
}

// feed scans b. It returns the length of the value within b when the value
// ends in b, or -1 when more input is needed. A syntax error comes with the
// offset in b where it was found.
func (st *valueState) feed(b []byte) (int, error) {
	if !st.started && len(b) > 0 && !st.lines {
		switch b[0] {
		case '{', '[':
			st.started = true
			st.depth = 1
			return st.fast(b, 1)
		case '"':
			st.started = true
			st.inStr = true
			return st.fast(b, 1)
		}
	} else if st.started && !st.lines && !st.prim {
		return st.fast(b, 0)
	}
	return st.careful(b)
}

// fast is feed for objects, arrays and strings outside JSON Lines mode, the
// hot path of log files: quotes and backslashes inside strings are found
// eight bytes at a time, and the few bytes between strings one at a time.
func (st *valueState) fast(b []byte, i int) (int, error) {
	depth := st.depth
	inStr := st.inStr
	if st.esc {
		st.esc = false
		i++
	}
	for i < len(b) {
		if inStr {
			// Only the backslashes right before a quote matter: an odd
			// run escapes it. Other escapes never hide a quote.
			start := i
			for {
				q := bytes.IndexByte(b[i:], '"')
				if q < 0 {
					st.esc = oddBackslashes(b, start, len(b))
					st.inStr, st.depth = true, depth
					return -1, nil
				}
				i += q + 1
				if i-2 < start || b[i-2] != '\\' || !oddBackslashes(b, start, i-1) {
					break
				}
			}
			inStr = false
			if depth == 0 {
				st.inStr, st.depth = false, 0
				return i, nil
			}
		}
		for i < len(b) {
			k := structural[b[i]]
			i++
			if k == 0 {
				continue
			}
			if k == '"' {
				inStr = true
				break
			}
			if k == '{' {
				depth++
				continue
			}
			if k == '}' {
				depth--
				if depth == 0 {
					st.inStr, st.depth = false, 0
					return i, nil
				}
				continue
			}
			st.multiline = true
		}
	}
	st.inStr, st.depth = inStr, depth
	return -1, nil
}

// structural maps the bytes that matter between strings: quote, openers
// (as '{'), closers (as '}') and line feed; every other byte maps to 0.
const structural = "" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\n\x00\x00\x00\x00\x00" + // 0x00
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0x10
	"\x00\x00\"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0x20
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0x30
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0x40
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00{\x00}\x00\x00" + // 0x50
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0x60
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00{\x00}\x00\x00" + // 0x70
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// oddBackslashes reports whether b[start:end] ends in an odd run of
// backslashes.
func oddBackslashes(b []byte, start, end int) bool {
	n := 0
	for k := end - 1; k >= start && b[k] == '\\'; k-- {
		n++
	}
	return n%2 == 1
}

// careful is feed for everything else: top-level numbers and literals, and
// JSON Lines, where a line break outside a string ends a broken record.
func (st *valueState) careful(b []byte) (int, error) {
	i := 0
	for i < len(b) {
		if st.inStr {
			if st.esc {
				st.esc = false
				i++
				continue
			}
			// Strings reach this path only in JSON Lines mode (the fast
			// path takes the rest): a raw line break inside a string ends
			// a broken record.
			n, err, done := st.stringLines(b, i)
			if err != nil || done {
				return n, err
			}
			if n < 0 {
				return -1, nil
			}
			i = n
			continue
		}
		c := b[i]
		switch c {
		case '"':
			if st.prim {
				return i, nil
			}
			st.inStr = true
			st.started = true
		case '{', '[':
			if st.prim {
				return i, nil
			}
			st.depth++
			st.started = true
		case '}', ']':
			if st.prim {
				return i, nil
			}
			st.depth--
			if st.depth < 0 {
				return i, fmt.Errorf("unexpected %q", c)
			}
			if st.depth == 0 {
				return i + 1, nil
			}
		case ' ', '\t', '\r', '\n':
			if st.prim {
				return i, nil
			}
			if c == '\n' {
				if st.lines && st.depth > 0 {
					return i + 1, errLineBreak
				}
				st.multiline = true
			}
		case ',', ':':
			if st.prim {
				return i, nil
			}
			if st.depth == 0 {
				return i, fmt.Errorf("unexpected %q", c)
			}
		default:
			if !st.started {
				st.started = true
				st.prim = true
			}
		}
		i++
	}
	return -1, nil
}

// stringLines scans a string from b[i] in JSON Lines mode. It returns the
// index after the closing quote (done when the value ends there), -1 when
// the string goes on past b, or an errLineBreak.
func (st *valueState) stringLines(b []byte, i int) (n int, err error, done bool) {
	for i < len(b) {
		switch b[i] {
		case '\\':
			if i+1 == len(b) {
				st.esc = true
				return -1, nil, false
			}
			i += 2
			continue
		case '\n':
			if st.lines {
				return i + 1, errLineBreak, true
			}
		case '"':
			st.inStr = false
			return i + 1, nil, st.depth == 0
		}
		i++
	}
	return -1, nil, false
}

// skipLine drops the rest of the current line.
func (s *scanner) skipLine() {
	for {
		buf, _ := s.window()
		if len(buf) == 0 {
			return
		}
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			s.discard(i + 1)
			return
		}
		s.discard(len(buf))
	}
}
