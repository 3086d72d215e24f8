package state

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"
)

// ScopeMaxKnown bounds what a Scope remembers; past it, the Scope forgets
// everything and starts again. ScopeMaxAge bounds how long it trusts a
// value it read (a value it wrote is trusted until it expires).
const (
	ScopeMaxKnown = 16384
	ScopeMaxAge   = time.Minute
)

// Scope is one unit of work's view of a Store, such as the events of one
// log file or one SQS message. It is a Store itself:
//
//   - It remembers what it read and wrote, so a key used again (a
//     principal's burst window, a threshold's count, a first-seen record)
//     costs no second read. Writes still go to the store, and conditional
//     writes are still decided there, so a remembered value that another
//     process has since changed makes the conditional write that follows
//     fail, as a read just before it could have; the Scope then forgets the
//     key and the caller's next read goes to the store. This is why
//     detectors read, then write conditionally. The one write not sent is
//     a PutIfAbsent of a key the Scope wrote itself and that has not
//     expired: it would change nothing.
//   - Once a call has failed on the store, every later call fails at once
//     with the same error: an unreachable store costs one timeout per
//     unit of work, not one per event.
//
// End makes the unit's writes durable (Flush) and forgets what the Scope
// remembered; keep a Scope to one unit of work, so that what it remembers
// is never older than that. Safe for concurrent use.
type Scope struct {
	s   Store
	now func() time.Time

	mu    sync.Mutex
	known map[string]known
	err   error
}

// known is what a Scope remembers of a key: its value, or that it is
// absent, and until when that holds: the expiry of a value the Scope
// wrote, ScopeMaxAge after a read.
type known struct {
	value   []byte
	present bool
	exp     time.Time // zero: never
	wrote   bool      // the Scope wrote the value itself
}

// NewScope returns a Scope over s; now is the clock (nil means time.Now).
func NewScope(s Store, now func() time.Time) *Scope {
	if now == nil {
		now = time.Now
	}
	return &Scope{s: s, now: now, known: map[string]known{}}
}

// End flushes the store (see Flusher), forgets what the Scope remembered
// and clears a failure (already returned to the call that met it), so the
// Scope can serve the next unit of work. What the store holds is flushed
// even after a failure: those writes were answered as made.
func (c *Scope) End(ctx context.Context) error {
	c.mu.Lock()
	clear(c.known)
	c.err = nil
	c.mu.Unlock()
	return Flush(ctx, c.s)
}

// Err returns the failure that stopped the Scope, or nil.
func (c *Scope) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// note records the store's answer for key: a failure stops the Scope (a
// key that is not a counter is the data's problem, not the store's); ok
// remembers v (present or not, expiring at exp), and !ok forgets the key.
func (c *Scope) note(key string, err error, ok bool, v known) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var nc *NotCounterError
	switch {
	case err != nil && !errors.As(err, &nc):
		if c.err == nil {
			c.err = err
		}
		delete(c.known, key)
	case err != nil || !ok:
		delete(c.known, key)
	default:
		if len(c.known) >= ScopeMaxKnown {
			clear(c.known)
		}
		c.known[key] = v
	}
	return err
}

// Get implements Store.
func (c *Scope) Get(ctx context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	if c.err != nil {
		defer c.mu.Unlock()
		return nil, false, c.err
	}
	k, ok := c.known[key]
	c.mu.Unlock()
	now := c.now()
	if ok && (k.exp.IsZero() || now.Before(k.exp)) {
		if !k.present {
			return nil, false, nil
		}
		return bytes.Clone(k.value), true, nil
	}
	v, found, err := c.s.Get(ctx, key)
	return v, found, c.note(key, err, true, c.read(v, found, now))
}

// read is what the Scope remembers of a value it has just read.
func (c *Scope) read(v []byte, found bool, now time.Time) known {
	return known{value: bytes.Clone(v), present: found, exp: now.Add(ScopeMaxAge)}
}

// Put implements Store.
func (c *Scope) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := c.Err(); err != nil {
		return err
	}
	err := c.s.Put(ctx, key, value, ttl)
	return c.note(key, err, true, c.wrote(value, ttl))
}

// wrote is what the Scope remembers of a value it has just written.
func (c *Scope) wrote(value []byte, ttl time.Duration) known {
	return known{value: bytes.Clone(value), present: true, exp: expiry(c.now(), ttl), wrote: true}
}

// PutIfAbsent implements Store. It is decided by the store, except on a
// key the Scope itself wrote and whose value has not expired: no one
// deletes what another process wrote, so that key is present, and a write
// that could change nothing is not sent (an event delivered twice in one
// input claims its marker once).
func (c *Scope) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	c.mu.Lock()
	if c.err != nil {
		defer c.mu.Unlock()
		return false, c.err
	}
	k, ok := c.known[key]
	c.mu.Unlock()
	if ok && k.wrote && (k.exp.IsZero() || c.now().Before(k.exp)) {
		return false, nil
	}
	stored, err := c.s.PutIfAbsent(ctx, key, value, ttl)
	return stored, c.note(key, err, stored, c.wrote(value, ttl))
}

// CompareAndSwap implements Store; it is decided by the store.
func (c *Scope) CompareAndSwap(ctx context.Context, key string, old, new []byte, ttl time.Duration) (bool, error) {
	if err := c.Err(); err != nil {
		return false, err
	}
	swapped, err := c.s.CompareAndSwap(ctx, key, old, new, ttl)
	return swapped, c.note(key, err, swapped, c.wrote(new, ttl))
}

// Add implements Store. The Scope does not remember counters: their
// expiry was set by whoever created them.
func (c *Scope) Add(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error) {
	if err := c.Err(); err != nil {
		return 0, err
	}
	n, err := c.s.Add(ctx, key, delta, ttl)
	return n, c.note(key, err, false, known{})
}

// Delete implements Store.
func (c *Scope) Delete(ctx context.Context, key string) error {
	if err := c.Err(); err != nil {
		return err
	}
	return c.note(key, c.s.Delete(ctx, key), true, known{})
}

// GetMany implements Batcher: remembered keys from memory, the others in
// one call to the store.
func (c *Scope) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	if err := c.Err(); err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(keys))
	var rest []string
	now := c.now()
	c.mu.Lock()
	for _, key := range keys {
		k, ok := c.known[key]
		switch {
		case !ok || !k.exp.IsZero() && !now.Before(k.exp):
			rest = append(rest, key)
		case k.present:
			out[key] = bytes.Clone(k.value)
		}
	}
	c.mu.Unlock()
	if len(rest) == 0 {
		return out, nil
	}
	got, err := GetMany(ctx, c.s, rest)
	if err != nil {
		return nil, c.note("", err, false, known{})
	}
	for _, key := range rest {
		v, found := got[key]
		c.note(key, nil, true, c.read(v, found, now))
		if found {
			out[key] = v
		}
	}
	return out, nil
}

// PutMany implements Batcher.
func (c *Scope) PutMany(ctx context.Context, items []Item) error {
	if err := c.Err(); err != nil {
		return err
	}
	if err := PutMany(ctx, c.s, items); err != nil {
		for _, it := range items {
			c.note(it.Key, nil, false, known{})
		}
		return c.note("", err, false, known{})
	}
	for _, it := range items {
		c.note(it.Key, nil, true, c.wrote(it.Value, it.TTL))
	}
	return nil
}

// Flush implements Flusher.
func (c *Scope) Flush(ctx context.Context) error {
	if err := c.Err(); err != nil {
		return err
	}
	return c.note("", Flush(ctx, c.s), false, known{})
}

// Close implements Store by forgetting what the Scope remembered; the
// store stays open (its owner closes it).
func (c *Scope) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.known)
	return nil
}
