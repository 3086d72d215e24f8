package state

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"time"
)

// Memory is a Store in process memory, for tests and single runs. Its zero
// value is not usable; call NewMemory. Safe for concurrent use.
type Memory struct {
	now func() time.Time

	mu     sync.Mutex
	items  map[string]memItem
	closed bool
}

type memItem struct {
	value   []byte
	expires time.Time // zero: never
}

// NewMemory returns an empty store. now is the clock; nil means time.Now.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, items: make(map[string]memItem)}
}

func (m *Memory) live(key string, now time.Time) (memItem, bool) {
	it, ok := m.items[key]
	if !ok {
		return memItem{}, false
	}
	if !it.expires.IsZero() && !now.Before(it.expires) {
		delete(m.items, key)
		return memItem{}, false
	}
	return it, true
}

func expiry(now time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return now.Add(ttl)
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, false, ErrClosed
	}
	it, ok := m.live(key, m.now())
	if !ok {
		return nil, false, nil
	}
	return bytes.Clone(it.value), true, nil
}

// Put implements Store.
func (m *Memory) Put(_ context.Context, key string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.items[key] = memItem{value: bytes.Clone(value), expires: expiry(m.now(), ttl)}
	return nil
}

// PutIfAbsent implements Store.
func (m *Memory) PutIfAbsent(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, ErrClosed
	}
	now := m.now()
	if _, ok := m.live(key, now); ok {
		return false, nil
	}
	m.items[key] = memItem{value: bytes.Clone(value), expires: expiry(now, ttl)}
	return true, nil
}

// CompareAndSwap implements Store.
func (m *Memory) CompareAndSwap(_ context.Context, key string, old, new []byte, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, ErrClosed
	}
	now := m.now()
	it, ok := m.live(key, now)
	if ok != (old != nil) || (ok && !bytes.Equal(it.value, old)) {
		return false, nil
	}
	m.items[key] = memItem{value: bytes.Clone(new), expires: expiry(now, ttl)}
	return true, nil
}

// Add implements Store.
func (m *Memory) Add(_ context.Context, key string, delta int64, ttl time.Duration) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	now := m.now()
	it, ok := m.live(key, now)
	var n int64
	if ok {
		v, err := strconv.ParseInt(string(it.value), 10, 64)
		if err != nil {
			return 0, &NotCounterError{Key: key}
		}
		n = v
	} else {
		it.expires = expiry(now, ttl)
	}
	n += delta
	it.value = strconv.AppendInt(nil, n, 10)
	m.items[key] = it
	return n, nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	delete(m.items, key)
	return nil
}

// GetMany implements Batcher: every key under one lock.
func (m *Memory) GetMany(_ context.Context, keys []string) (map[string][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	now := m.now()
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		if it, ok := m.live(k, now); ok {
			out[k] = bytes.Clone(it.value)
		}
	}
	return out, nil
}

// PutMany implements Batcher: every item under one lock.
func (m *Memory) PutMany(_ context.Context, items []Item) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	now := m.now()
	for _, it := range items {
		m.items[it.Key] = memItem{value: bytes.Clone(it.Value), expires: expiry(now, it.TTL)}
	}
	return nil
}

// Close implements Store.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// NotCounterError is returned by Add when the key holds a non-integer value.
type NotCounterError struct{ Key string }

func (e *NotCounterError) Error() string {
	return "state: key " + strconv.Quote(e.Key) + " does not hold a counter"
}
