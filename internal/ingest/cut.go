package ingest

import (
	"bytes"
)

// recordCut finds where a record of a CloudTrail log file ends without
// scanning it, so the parser's own pass is the only pass over the bytes.
//
// CloudTrail writes every record with the same first key, so the bytes
// `},{"eventVersion":` mark a record's end. The candidate found that way is
// handed to the parser; if it parses, it is the record: a JSON object ends at
// its matching brace, so a prefix of the stream that is itself a valid
// object is exactly the next value. A cut inside a string or a nested object
// leaves an unterminated string or unbalanced braces, which the parser
// rejects, and the scanner then finds the record's end the slow way.
//
// The marker is learned from the first record. When the shortcut keeps
// failing (pretty-printed files, records with varied key order) it turns
// itself off for the rest of the input, so a miss never costs more than a
// few searches.
type recordCut struct {
	marker       []byte // `},{"firstKey":`
	hits, misses int
	off          bool
}

// maxMisses is how many failed cuts turn the shortcut off, unless it has
// worked more often than it failed.
const maxMisses = 32

// candidate returns the bytes of the next record according to the marker,
// or nil. buf starts at the record.
func (c *recordCut) candidate(buf []byte) []byte {
	if c.off || c.marker == nil || len(buf) == 0 || buf[0] != '{' {
		return nil
	}
	k := bytes.Index(buf, c.marker)
	if k < 0 {
		return nil
	}
	return buf[: k+1 : k+1]
}

// learn sets the marker from the first record's first key.
func (c *recordCut) learn(rec []byte) {
	if c.marker != nil || c.off {
		return
	}
	if len(rec) < 4 || rec[0] != '{' || rec[1] != '"' {
		c.off = true
		return
	}
	end := bytes.IndexByte(rec[2:], '"')
	if end < 0 || end > 64 || bytes.IndexByte(rec[2:2+end], '\\') >= 0 || len(rec) < 2+end+2 || rec[2+end+1] != ':' {
		c.off = true
		return
	}
	c.marker = append([]byte("},"), rec[:2+end+2]...)
}

func (c *recordCut) hit() { c.hits++ }

func (c *recordCut) miss() {
	c.misses++
	if c.misses >= maxMisses && c.misses > c.hits {
		c.off = true
	}
}
