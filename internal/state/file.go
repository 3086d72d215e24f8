package state

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

var fileBucket = []byte("trailwatch")

// File is a Store in one bbolt file, the CLI's default. bbolt locks the file,
// so two trailwatch processes on one machine take turns: the second waits up
// to the open timeout and then fails with a clear error instead of
// corrupting state. Safe for concurrent use within the process.
type File struct {
	db  *bolt.DB
	now func() time.Time
}

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
	return &File{db: db, now: now}, nil
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

func (f *File) update(fn func(b *bolt.Bucket, now time.Time) error) error {
	if f.db == nil {
		return ErrClosed
	}
	now := f.now()
	err := f.db.Update(func(tx *bolt.Tx) error { return fn(tx.Bucket(fileBucket), now) })
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Get implements Store.
func (f *File) Get(_ context.Context, key string) (value []byte, ok bool, err error) {
	if f.db == nil {
		return nil, false, ErrClosed
	}
	now := f.now()
	err = f.db.View(func(tx *bolt.Tx) error {
		v, _, live := decodeItem(tx.Bucket(fileBucket).Get([]byte(key)), now)
		if live {
			value, ok = bytes.Clone(v), true
		}
		return nil
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return nil, false, ErrClosed
	}
	return value, ok, err
}

// Put implements Store.
func (f *File) Put(_ context.Context, key string, value []byte, ttl time.Duration) error {
	return f.update(func(b *bolt.Bucket, now time.Time) error {
		return b.Put([]byte(key), encodeItem(value, expiry(now, ttl)))
	})
}

// PutIfAbsent implements Store.
func (f *File) PutIfAbsent(_ context.Context, key string, value []byte, ttl time.Duration) (stored bool, err error) {
	err = f.update(func(b *bolt.Bucket, now time.Time) error {
		if _, _, live := decodeItem(b.Get([]byte(key)), now); live {
			return nil
		}
		stored = true
		return b.Put([]byte(key), encodeItem(value, expiry(now, ttl)))
	})
	return stored, err
}

// CompareAndSwap implements Store.
func (f *File) CompareAndSwap(_ context.Context, key string, old, new []byte, ttl time.Duration) (swapped bool, err error) {
	err = f.update(func(b *bolt.Bucket, now time.Time) error {
		v, _, live := decodeItem(b.Get([]byte(key)), now)
		if live != (old != nil) || (live && !bytes.Equal(v, old)) {
			return nil
		}
		swapped = true
		return b.Put([]byte(key), encodeItem(new, expiry(now, ttl)))
	})
	return swapped, err
}

// Add implements Store.
func (f *File) Add(_ context.Context, key string, delta int64, ttl time.Duration) (n int64, err error) {
	err = f.update(func(b *bolt.Bucket, now time.Time) error {
		v, exp, live := decodeItem(b.Get([]byte(key)), now)
		if live {
			cur, perr := strconv.ParseInt(string(v), 10, 64)
			if perr != nil {
				return &NotCounterError{Key: key}
			}
			n = cur
		} else {
			exp = expiry(now, ttl)
		}
		n += delta
		return b.Put([]byte(key), encodeItem(strconv.AppendInt(nil, n, 10), exp))
	})
	return n, err
}

// Delete implements Store.
func (f *File) Delete(_ context.Context, key string) error {
	return f.update(func(b *bolt.Bucket, _ time.Time) error { return b.Delete([]byte(key)) })
}

// Close implements Store.
func (f *File) Close() error {
	if f.db == nil {
		return nil
	}
	err := f.db.Close()
	return err
}
