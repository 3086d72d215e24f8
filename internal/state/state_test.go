package state

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/trailwatch/trailwatch/internal/state/statetest"
)

// clock is a manual clock shared by a store under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type factory func(t *testing.T, now func() time.Time) Store

func stores(t *testing.T) map[string]factory {
	return map[string]factory{
		"memory": func(t *testing.T, now func() time.Time) Store { return NewMemory(now) },
		"file": func(t *testing.T, now func() time.Time) Store {
			s, err := OpenFile(filepath.Join(t.TempDir(), "sub", "state.db"), now)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"dynamodb": func(t *testing.T, now func() time.Time) Store {
			return NewDynamoDB(statetest.DynamoDB(t), statetest.Table, now)
		},
	}
}

func TestStoreContract(t *testing.T) {
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			clk := newClock()
			s := mk(t, clk.Now)
			defer s.Close()
			contract(t, s, clk)
		})
		// A Scope over the store answers as the store does.
		t.Run("scope/"+name, func(t *testing.T) {
			clk := newClock()
			s := mk(t, clk.Now)
			defer s.Close()
			contract(t, NewScope(s, clk.Now), clk)
		})
	}
}

// contract checks the Store contract on s, whose clock is clk.
func contract(t *testing.T, s Store, clk *clock) {
	t.Helper()
	ctx := context.Background()
	if _, ok, err := s.Get(ctx, "missing"); ok || err != nil {
		t.Fatalf("Get(missing) = ok %v, err %v; want absent", ok, err)
	}
	if err := s.Put(ctx, "k", []byte("v1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := s.Get(ctx, "k"); !ok || err != nil || string(v) != "v1" {
		t.Fatalf("Get(k) = %q %v %v; want v1", v, ok, err)
	}
	if stored, err := s.PutIfAbsent(ctx, "k", []byte("v2"), time.Minute); stored || err != nil {
		t.Fatalf("PutIfAbsent on a live key = %v %v; want false", stored, err)
	}
	if ok, err := s.CompareAndSwap(ctx, "k", []byte("nope"), []byte("v3"), time.Minute); ok || err != nil {
		t.Fatalf("CompareAndSwap with a wrong old value = %v %v; want false", ok, err)
	}
	if ok, err := s.CompareAndSwap(ctx, "k", []byte("v1"), []byte("v3"), time.Minute); !ok || err != nil {
		t.Fatalf("CompareAndSwap with the right old value = %v %v; want true", ok, err)
	}
	if ok, err := s.CompareAndSwap(ctx, "fresh", nil, []byte("a"), 0); !ok || err != nil {
		t.Fatalf("CompareAndSwap(nil) on an absent key = %v %v; want true", ok, err)
	}

	// Expiry: the item is gone once its TTL has passed, whatever the
	// backend has physically deleted.
	clk.Advance(61 * time.Second)
	if _, ok, _ := s.Get(ctx, "k"); ok {
		t.Fatal("Get returned an expired item")
	}
	if stored, err := s.PutIfAbsent(ctx, "k", []byte("v4"), 0); !stored || err != nil {
		t.Fatalf("PutIfAbsent on an expired key = %v %v; want true", stored, err)
	}
	if v, _, _ := s.Get(ctx, "fresh"); string(v) != "a" {
		t.Fatalf("a key without TTL expired: %q", v)
	}

	// Counters keep the expiry set at creation.
	for i, want := range []int64{3, 5} {
		n, err := s.Add(ctx, "c", []int64{3, 2}[i], time.Minute)
		if err != nil || n != want {
			t.Fatalf("Add #%d = %d %v; want %d", i, n, err, want)
		}
	}
	if v, ok, _ := s.Get(ctx, "c"); !ok || string(v) != "5" {
		t.Fatalf("Get(counter) = %q %v; want 5", v, ok)
	}
	clk.Advance(30 * time.Second)
	if n, _ := s.Add(ctx, "c", 1, time.Minute); n != 6 {
		t.Fatalf("Add within the window = %d; want 6", n)
	}
	clk.Advance(31 * time.Second)
	if n, _ := s.Add(ctx, "c", 1, time.Minute); n != 1 {
		t.Fatalf("Add after the window = %d; want a fresh counter at 1", n)
	}

	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatalf("deleting an absent key: %v", err)
	}
	if _, ok, _ := s.Get(ctx, "k"); ok {
		t.Fatal("Get after Delete found the key")
	}
	v := []byte("binary\x00\xff")
	if err := s.Put(ctx, "bin", v, 0); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Get(ctx, "bin"); !bytes.Equal(got, v) {
		t.Fatalf("binary value = %q; want %q", got, v)
	}
}

func TestStoreConcurrentPutIfAbsent(t *testing.T) {
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := mk(t, time.Now)
			defer s.Close()
			var winners atomic.Int64
			var wg sync.WaitGroup
			for i := 0; i < 16; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					stored, err := s.PutIfAbsent(context.Background(), "first-seen", []byte("x"), time.Hour)
					if err != nil {
						t.Error(err)
					}
					if stored {
						winners.Add(1)
					}
					if _, err := s.Add(context.Background(), "count", 1, time.Hour); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if winners.Load() != 1 {
				t.Fatalf("%d callers stored the key; want exactly 1", winners.Load())
			}
			n, err := s.Add(context.Background(), "count", 0, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if n != 16 {
				t.Fatalf("counter = %d after 16 concurrent adds; want 16", n)
			}
		})
	}
}

func TestClosedStore(t *testing.T) {
	for name, mk := range stores(t) {
		if name == "dynamodb" {
			continue // a DynamoDB client has nothing to close
		}
		t.Run(name, func(t *testing.T) {
			s := mk(t, time.Now)
			s.Close()
			if _, _, err := s.Get(context.Background(), "k"); !errors.Is(err, ErrClosed) {
				t.Fatalf("Get after Close: %v; want ErrClosed", err)
			}
			if err := s.Put(context.Background(), "k", nil, 0); !errors.Is(err, ErrClosed) {
				t.Fatalf("Put after Close: %v; want ErrClosed", err)
			}
		})
	}
}

func TestFileStorePersistsAndSweeps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	clk := newClock()
	s, err := OpenFile(path, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.Put(ctx, "keep", []byte("1"), time.Hour)
	s.Put(ctx, "drop", []byte("2"), time.Minute)
	s.Close()

	clk.Advance(2 * time.Minute)
	s, err = OpenFile(path, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, ok, _ := s.Get(ctx, "keep"); !ok || string(v) != "1" {
		t.Fatalf("keep = %q %v after reopen", v, ok)
	}
	var n int
	s.db.View(func(tx *bolt.Tx) error { n = tx.Bucket(fileBucket).Stats().KeyN; return nil })
	if n != 1 {
		t.Fatalf("%d items in the file after reopening; want the expired one swept", n)
	}
}
