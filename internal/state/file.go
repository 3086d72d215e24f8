package state

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

var fileBucket = []byte("trailwatch")

// File is a Store in one bbolt file, the CLI's default. bbolt locks the file,
// so two trailwatch processes on one machine take turns: the second waits up
// to the open timeout and then fails with a clear error instead of
// corrupting state. Safe for concurrent use within the process.
//
// Writes are held in memory and written to the file together, in one
// transaction, by Flush, by Close, and before a write when many are held
// (FileMaxHeld): one fsync per batch instead of one per write. Since this
// process alone holds the file, every caller sees the held writes and each
// method answers exactly as if the write had reached the file; what holding
// changes is that a crash loses the writes since the last Flush.
type File struct {
	db   *bolt.DB
	path string
	now  func() time.Time

	mu        sync.Mutex
	held      map[string]heldItem
	heldBytes int
	closed    bool
}

// heldItem is a write not yet in the file: a value and its expiry, or a
// deletion.
type heldItem struct {
	value []byte
	exp   time.Time
	gone  bool
}

// How much a File holds before it writes to the file on its own: a bound
// on memory, and on what a crash can lose beyond the caller's own batch.
const (
	FileMaxHeld      = 8192
	FileMaxHeldBytes = 8 << 20
)

// DefaultFilePath returns the file store's default location in the user's
// cache directory.
func DefaultFilePath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("state: no cache directory for the default state file (set state.path): %w", err)
	}
	return filepath.Join(dir, "trailwatch", "state.db"), nil
}

// OpenFile opens or creates the store at path, creating its directory. now
// is the clock; nil means time.Now.
func OpenFile(path string, now func() time.Time) (*File, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state: create directory for %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 10 * time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("state: %s is locked by another trailwatch process (waited 10s)", path)
		}
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	// Expired items are dropped when the file is opened, so the file does
	// not grow without bound across runs.
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(fileBucket)
		if err != nil {
			return err
		}
		c, t := b.Cursor(), now()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if _, _, live := decodeItem(v, t); !live {
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("state: initialise %s: %w", path, err)
	}
	return &File{db: db, path: path, now: now, held: map[string]heldItem{}}, nil
}

// An item is stored as 8 bytes of expiry (Unix nanoseconds, 0 = never)
// followed by the value.
func encodeItem(value []byte, exp time.Time) []byte {
	b := make([]byte, 8+len(value))
	if !exp.IsZero() {
		binary.BigEndian.PutUint64(b, uint64(exp.UnixNano()))
	}
	copy(b[8:], value)
	return b
}

func decodeItem(b []byte, now time.Time) (value []byte, exp time.Time, live bool) {
	if len(b) < 8 {
		return nil, time.Time{}, false
	}
	if n := binary.BigEndian.Uint64(b); n != 0 {
		exp = time.Unix(0, int64(n))
		if !now.Before(exp) {
			return nil, exp, false
		}
	}
	return b[8:], exp, true
}

// read returns key's live value, held or in the file. The value is the
// store's own: callers clone it before handing it out. f.mu is held.
func (f *File) read(key string, now time.Time) (value []byte, exp time.Time, live bool, err error) {
	if h, ok := f.held[key]; ok {
		if h.gone || !h.exp.IsZero() && !now.Before(h.exp) {
			return nil, time.Time{}, false, nil
		}
		return h.value, h.exp, true, nil
	}
	err = f.db.View(func(tx *bolt.Tx) error {
		var v []byte
		if v, exp, live = decodeItem(tx.Bucket(fileBucket).Get([]byte(key)), now); live {
			value = bytes.Clone(v) // valid only within the transaction
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, false, closedErr(err)
	}
	return value, exp, live, nil
}

// hold records a write; value must be the store's own copy. f.mu is held.
func (f *File) hold(key string, value []byte, exp time.Time) {
	f.heldBytes += len(key) + len(value) + 64
	f.held[key] = heldItem{value: value, exp: exp}
}

// begin starts a method: ErrClosed after Close, and first a flush when the
// store holds too much, so that a write is only taken when it can be kept.
// f.mu is held.
func (f *File) begin() error {
	if f.closed {
		return ErrClosed
	}
	if len(f.held) >= FileMaxHeld || f.heldBytes >= FileMaxHeldBytes {
		return f.flush()
	}
	return nil
}

// flush writes every held write to the file in one transaction. On
// failure the writes stay held, for the next Flush or Close to try again.
// f.mu is held.
func (f *File) flush() error {
	if len(f.held) == 0 {
		return nil
	}
	now := f.now()
	err := f.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(fileBucket)
		// In key order: bbolt then fills its pages front to back.
		for _, k := range slices.Sorted(maps.Keys(f.held)) {
			h := f.held[k]
			var err error
			if h.gone || !h.exp.IsZero() && !now.Before(h.exp) {
				err = b.Delete([]byte(k))
			} else {
				err = b.Put([]byte(k), encodeItem(h.value, h.exp))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state: write %d records to %s: %w", len(f.held), f.path, closedErr(err))
	}
	clear(f.held)
	f.heldBytes = 0
	return nil
}

// fail turns bbolt's closed-database error into ErrClosed.
func closedErr(err error) error {
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Get implements Store.
func (f *File) Get(_ context.Context, key string) ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, false, ErrClosed
	}
	v, _, live, err := f.read(key, f.now())
	if err != nil || !live {
		return nil, false, err
	}
	return bytes.Clone(v), true, nil
}

// Put implements Store.
func (f *File) Put(_ context.Context, key string, value []byte, ttl time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return err
	}
	f.hold(key, bytes.Clone(value), expiry(f.now(), ttl))
	return nil
}

// PutIfAbsent implements Store.
func (f *File) PutIfAbsent(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return false, err
	}
	now := f.now()
	_, _, live, err := f.read(key, now)
	if err != nil || live {
		return false, err
	}
	f.hold(key, bytes.Clone(value), expiry(now, ttl))
	return true, nil
}

// CompareAndSwap implements Store.
func (f *File) CompareAndSwap(_ context.Context, key string, old, new []byte, ttl time.Duration) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return false, err
	}
	now := f.now()
	v, _, live, err := f.read(key, now)
	if err != nil || live != (old != nil) || (live && !bytes.Equal(v, old)) {
		return false, err
	}
	f.hold(key, bytes.Clone(new), expiry(now, ttl))
	return true, nil
}

// Add implements Store.
func (f *File) Add(_ context.Context, key string, delta int64, ttl time.Duration) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return 0, err
	}
	now := f.now()
	v, exp, live, err := f.read(key, now)
	if err != nil {
		return 0, err
	}
	var n int64
	if live {
		if n, err = strconv.ParseInt(string(v), 10, 64); err != nil {
			return 0, &NotCounterError{Key: key}
		}
	} else {
		exp = expiry(now, ttl)
	}
	n += delta
	f.hold(key, strconv.AppendInt(nil, n, 10), exp)
	return n, nil
}

// Delete implements Store.
func (f *File) Delete(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return err
	}
	f.heldBytes += len(key) + 64
	f.held[key] = heldItem{gone: true}
	return nil
}

// GetMany implements Batcher: the keys not held are read in one
// transaction.
func (f *File) GetMany(_ context.Context, keys []string) (map[string][]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
	}
	now := f.now()
	out := make(map[string][]byte, len(keys))
	var rest []string
	for _, k := range keys {
		h, ok := f.held[k]
		switch {
		case !ok:
			rest = append(rest, k)
		case !h.gone && (h.exp.IsZero() || now.Before(h.exp)):
			out[k] = bytes.Clone(h.value)
		}
	}
	if len(rest) == 0 {
		return out, nil
	}
	err := f.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(fileBucket)
		for _, k := range rest {
			if v, _, live := decodeItem(b.Get([]byte(k)), now); live {
				out[k] = bytes.Clone(v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, closedErr(err)
	}
	return out, nil
}

// PutMany implements Batcher.
func (f *File) PutMany(_ context.Context, items []Item) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return err
	}
	now := f.now()
	for _, it := range items {
		f.hold(it.Key, bytes.Clone(it.Value), expiry(now, it.TTL))
	}
	return nil
}

// Flush implements Flusher: every held write, in one transaction.
func (f *File) Flush(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	return f.flush()
}

// Close implements Store: it writes what is held, then closes the file.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	return errors.Join(f.flush(), f.db.Close())
}

// Abandon closes the file without writing what is held, as a crash would;
// tests use it to check what a crash loses.
func (f *File) Abandon() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	f.held = nil
	return f.db.Close()
}
