// Package state keeps what trailwatch must remember between events and
// between invocations: delivered alerts (idempotency), groups and their repeat
// intervals, first-seen networks and failure counters.
//
// Every implementation (Memory here, a bbolt file for the CLI, DynamoDB for
// Lambda) has the same contract: each method is atomic with respect to every
// other caller of the same store, including other processes sharing it, and
// an item whose TTL has passed is treated as absent even if the backend has
// not deleted it yet.
package state

import (
	"context"
	"errors"
	"time"
)

// ErrClosed is returned by a store used after Close.
var ErrClosed = errors.New("state: store is closed")

// Store is a small key-value store with expiry and atomic updates. Keys are
// printable strings up to 1 KiB; values up to 64 KiB. A ttl of zero means the
// item does not expire.
type Store interface {
	// Get returns the value stored under key; ok is false when there is none
	// or it has expired.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Put stores value under key, replacing any previous value.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// PutIfAbsent stores value only when key is absent or expired, and reports
	// whether it did. Exactly one of many concurrent callers gets true.
	PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (stored bool, err error)
	// CompareAndSwap replaces old with new under key, reporting whether the
	// stored value was old. An absent or expired key matches a nil old.
	CompareAndSwap(ctx context.Context, key string, old, new []byte, ttl time.Duration) (swapped bool, err error)
	// Add adds delta to the integer counter under key (absent counts as 0)
	// and returns the new value. The ttl is set when the counter is created
	// and kept on later adds, so a counter measures a fixed window.
	Add(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error)
	// Delete removes key; deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
	// Close releases the store.
	Close() error
}
