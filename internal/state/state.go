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

// Item is one write of a PutMany: value under key, expiring after TTL
// (zero: never).
type Item struct {
	Key   string
	Value []byte
	TTL   time.Duration
}

// Batcher is a Store that reads and writes many keys in one call: one
// transaction for the file store, BatchGetItem and BatchWriteItem for
// DynamoDB. Only plain reads and unconditional writes are batched.
type Batcher interface {
	// GetMany returns the live values of keys, keyed by key; absent and
	// expired keys are left out. Duplicate keys are read once.
	GetMany(ctx context.Context, keys []string) (map[string][]byte, error)
	// PutMany stores every item as Put does. When two items name one key,
	// the later one is stored. On error some items may have been stored.
	PutMany(ctx context.Context, items []Item) error
}

// Flusher is a Store that holds writes before making them durable (the
// file store). Flush writes what it holds; until then a crash loses it.
type Flusher interface {
	Flush(ctx context.Context) error
}

// GetMany reads keys from s in one call when s is a Batcher, else one Get
// at a time.
func GetMany(ctx context.Context, s Store, keys []string) (map[string][]byte, error) {
	if b, ok := s.(Batcher); ok {
		return b.GetMany(ctx, keys)
	}
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		if _, seen := out[k]; seen {
			continue
		}
		v, ok, err := s.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out[k] = v
		}
	}
	return out, nil
}

// PutMany writes items to s in one call when s is a Batcher, else one Put
// at a time, stopping at the first failure.
func PutMany(ctx context.Context, s Store, items []Item) error {
	if b, ok := s.(Batcher); ok {
		return b.PutMany(ctx, items)
	}
	for _, it := range items {
		if err := s.Put(ctx, it.Key, it.Value, it.TTL); err != nil {
			return err
		}
	}
	return nil
}

// Flush makes what s holds durable when s is a Flusher; other stores
// have nothing to flush.
func Flush(ctx context.Context, s Store) error {
	if f, ok := s.(Flusher); ok {
		return f.Flush(ctx)
	}
	return nil
}
