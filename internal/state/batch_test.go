package state

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/trailwatch/trailwatch/internal/state/statetest"
)

func TestBatcher(t *testing.T) {
	all := stores(t)
	all["dynamodb-timed"] = func(t *testing.T, now func() time.Time) Store {
		return WithCallTimeout(NewDynamoDB(statetest.DynamoDB(t), statetest.Table, now), CallTimeout)
	}
	for name, mk := range all {
		for _, scoped := range []bool{false, true} {
			label := name
			if scoped {
				label = "scope/" + name
			}
			t.Run(label, func(t *testing.T) {
				ctx := context.Background()
				clk := newClock()
				s := mk(t, clk.Now)
				defer s.Close()
				if scoped {
					s = NewScope(s, clk.Now)
				}
				// 250 items: more than one batch call of every backend;
				// every third expires in a minute; k0 is named twice and
				// the later value wins.
				var items []Item
				for i := range 250 {
					it := Item{Key: fmt.Sprintf("k%d", i), Value: []byte(strconv.Itoa(i))}
					if i%3 == 0 {
						it.TTL = time.Minute
					}
					items = append(items, it)
				}
				items = append(items, Item{Key: "k0", Value: []byte("again"), TTL: time.Minute})
				if err := PutMany(ctx, s, items); err != nil {
					t.Fatal(err)
				}
				keys := []string{"missing", "k0", "k0"}
				for i := range 250 {
					keys = append(keys, fmt.Sprintf("k%d", i))
				}
				got, err := GetMany(ctx, s, keys)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 250 || string(got["k0"]) != "again" || string(got["k249"]) != "249" {
					t.Fatalf("GetMany found %d keys (k0 %q, k249 %q); want 250, again, 249", len(got), got["k0"], got["k249"])
				}
				if _, ok := got["missing"]; ok {
					t.Fatal("GetMany returned a key never written")
				}
				if v, ok, _ := s.Get(ctx, "k7"); !ok || string(v) != "7" {
					t.Fatalf("Get after PutMany = %q %v; want 7", v, ok)
				}
				clk.Advance(61 * time.Second)
				got, err = GetMany(ctx, s, keys)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 250-84 {
					t.Fatalf("after a minute GetMany found %d keys; want the %d without a TTL", len(got), 250-84)
				}
				if _, ok := got["k3"]; ok {
					t.Fatal("GetMany returned an expired item")
				}
			})
		}
	}
}

func TestDynamoDBBatchesRequests(t *testing.T) {
	client, reqs := statetest.CountedDynamoDB(t)
	s := NewDynamoDB(client, statetest.Table, nil)
	ctx := context.Background()
	var items []Item
	var keys []string
	for i := range 250 {
		items = append(items, Item{Key: fmt.Sprintf("delivered:%d", i), Value: []byte("sent"), TTL: time.Hour})
		keys = append(keys, items[i].Key)
	}
	if err := s.PutMany(ctx, items); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMany(ctx, keys)
	if err != nil || len(got) != 250 {
		t.Fatalf("GetMany = %d values, %v", len(got), err)
	}
	// One request per 25 writes and per 100 reads, none per item.
	if w, r, total := reqs.Count("BatchWriteItem"), reqs.Count("BatchGetItem"), reqs.Total(); w != 10 || r != 3 || total != 13 {
		t.Fatalf("requests %v; want 10 BatchWriteItem and 3 BatchGetItem", reqs.Ops())
	}
}

// stingyDynamoDB leaves part of every batch unprocessed on its first call,
// as DynamoDB does when a batch is throttled.
type stingyDynamoDB struct {
	*dynamodb.Client
	gets, writes atomic.Int64
}

func (s *stingyDynamoDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	if s.gets.Add(1) > 1 {
		return s.Client.BatchGetItem(ctx, in, opts...)
	}
	for table, ka := range in.RequestItems {
		half := len(ka.Keys) / 2
		kept, left := ka, ka
		kept.Keys, left.Keys = ka.Keys[:half], ka.Keys[half:]
		out, err := s.Client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{table: kept}}, opts...)
		if err != nil {
			return nil, err
		}
		out.UnprocessedKeys = map[string]types.KeysAndAttributes{table: left}
		return out, nil
	}
	return &dynamodb.BatchGetItemOutput{}, nil
}

func (s *stingyDynamoDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	if s.writes.Add(1) > 1 {
		return s.Client.BatchWriteItem(ctx, in, opts...)
	}
	for table, reqs := range in.RequestItems {
		half := len(reqs) / 2
		out, err := s.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs[:half]}}, opts...)
		if err != nil {
			return nil, err
		}
		out.UnprocessedItems = map[string][]types.WriteRequest{table: reqs[half:]}
		return out, nil
	}
	return &dynamodb.BatchWriteItemOutput{}, nil
}

func TestDynamoDBBatchSendsUnprocessedAgain(t *testing.T) {
	api := &stingyDynamoDB{Client: statetest.DynamoDB(t)}
	s := NewDynamoDB(api, statetest.Table, nil)
	ctx := context.Background()
	var items []Item
	var keys []string
	for i := range 20 {
		items = append(items, Item{Key: fmt.Sprintf("k%d", i), Value: []byte{byte(i)}})
		keys = append(keys, items[i].Key)
	}
	if err := s.PutMany(ctx, items); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMany(ctx, keys)
	if err != nil || len(got) != 20 {
		t.Fatalf("GetMany = %d values, %v; want all 20", len(got), err)
	}
	if api.gets.Load() != 2 || api.writes.Load() != 2 {
		t.Fatalf("%d BatchGetItem and %d BatchWriteItem calls; want 2 each (the unprocessed half again)", api.gets.Load(), api.writes.Load())
	}
}

// TestFileCrashLosesOnlyTheBatch writes records, flushes some and then
// crashes (closes without flushing): what was flushed is in the file,
// what came after is not.
func TestFileCrashLosesOnlyTheBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	ctx := context.Background()
	f, err := OpenFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Put(ctx, "before", []byte("1"), time.Hour)
	f.Add(ctx, "count", 2, time.Hour)
	if err := f.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	f.Put(ctx, "after", []byte("2"), time.Hour)
	f.PutIfAbsent(ctx, "claimed", []byte("3"), time.Hour)
	f.Add(ctx, "count", 5, time.Hour)
	f.Delete(ctx, "before")
	// Before the crash every caller sees every write.
	if _, ok, _ := f.Get(ctx, "before"); ok {
		t.Fatal("a held delete is not seen")
	}
	if v, _, _ := f.Get(ctx, "count"); string(v) != "7" {
		t.Fatalf("held count = %q; want 7", v)
	}
	if err := f.Abandon(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Get(ctx, "after"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Abandon: %v; want ErrClosed", err)
	}

	f, err = OpenFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, ok, _ := f.Get(ctx, "before"); !ok || string(v) != "1" {
		t.Fatalf("flushed record = %q %v; want it kept", v, ok)
	}
	if v, _, _ := f.Get(ctx, "count"); string(v) != "2" {
		t.Fatalf("count = %q; want the flushed 2", v)
	}
	for _, k := range []string{"after", "claimed"} {
		if _, ok, _ := f.Get(ctx, k); ok {
			t.Fatalf("%s, written after the last flush, survived the crash", k)
		}
	}
}

// TestFileFlushesWhenItHoldsMany checks that held writes are bounded: past
// FileMaxHeld the store writes them to the file before taking more.
func TestFileFlushesWhenItHoldsMany(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	ctx := context.Background()
	f, err := OpenFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range FileMaxHeld + 10 {
		if err := f.Put(ctx, fmt.Sprintf("k%05d", i), []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
	}
	f.Abandon()
	f, err = OpenFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := f.GetMany(ctx, []string{"k00000", fmt.Sprintf("k%05d", FileMaxHeld-1), fmt.Sprintf("k%05d", FileMaxHeld+9)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("after a crash %d of the 3 probed keys are in the file; want the first %d writes kept and the last ones lost", len(got), FileMaxHeld)
	}
}

// countingStore counts the calls that reach a store; failGet makes Get
// fail.
type countingStore struct {
	Store
	mu      sync.Mutex
	calls   map[string]int
	failGet error
}

func (c *countingStore) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[op]++
}

func (c *countingStore) n(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

func (c *countingStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	c.count("get")
	if c.failGet != nil {
		return nil, false, c.failGet
	}
	return c.Store.Get(ctx, key)
}

func (c *countingStore) CompareAndSwap(ctx context.Context, key string, old, new []byte, ttl time.Duration) (bool, error) {
	c.count("cas")
	return c.Store.CompareAndSwap(ctx, key, old, new, ttl)
}

func (c *countingStore) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	c.count("put-if-absent")
	return c.Store.PutIfAbsent(ctx, key, value, ttl)
}

func TestScopeRemembersAndForgets(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	inner := &countingStore{Store: NewMemory(clk.Now), calls: map[string]int{}}
	sc := NewScope(inner, clk.Now)

	// A value read once is read from memory after.
	inner.Put(ctx, "w", []byte("1"), time.Hour)
	for range 3 {
		if v, ok, _ := sc.Get(ctx, "w"); !ok || string(v) != "1" {
			t.Fatalf("Get = %q %v", v, ok)
		}
	}
	if n := inner.n("get"); n != 1 {
		t.Fatalf("three Gets read the store %d times; want 1", n)
	}
	// A value it wrote needs no read.
	if ok, _ := sc.CompareAndSwap(ctx, "w", []byte("1"), []byte("2"), time.Hour); !ok {
		t.Fatal("CompareAndSwap failed")
	}
	if v, _, _ := sc.Get(ctx, "w"); string(v) != "2" || inner.n("get") != 1 {
		t.Fatalf("Get after a swap = %q, %d store reads; want 2 from memory", v, inner.n("get"))
	}
	// Another process changes the value: the remembered one makes the
	// next conditional write fail, and the key is read again after it.
	inner.Put(ctx, "w", []byte("other"), time.Hour)
	if ok, _ := sc.CompareAndSwap(ctx, "w", []byte("2"), []byte("3"), time.Hour); ok {
		t.Fatal("CompareAndSwap against a stale value succeeded")
	}
	if v, _, _ := sc.Get(ctx, "w"); string(v) != "other" || inner.n("get") != 2 {
		t.Fatalf("Get after a failed swap = %q, %d store reads; want other, read again", v, inner.n("get"))
	}
	// A lost PutIfAbsent is forgotten too.
	inner.Put(ctx, "m", []byte("theirs"), time.Hour)
	if ok, _ := sc.PutIfAbsent(ctx, "m", []byte("mine"), time.Hour); ok {
		t.Fatal("PutIfAbsent on a present key succeeded")
	}
	if v, _, _ := sc.Get(ctx, "m"); string(v) != "theirs" {
		t.Fatalf("Get after a lost PutIfAbsent = %q; want theirs", v)
	}
	// A value written with a TTL is not remembered past it.
	sc.Put(ctx, "short", []byte("x"), time.Second)
	clk.Advance(2 * time.Second)
	if _, ok, _ := sc.Get(ctx, "short"); ok {
		t.Fatal("the Scope returned a value past its expiry")
	}
	// A value read is trusted for ScopeMaxAge at most.
	reads := inner.n("get")
	sc.Get(ctx, "w")
	clk.Advance(ScopeMaxAge)
	sc.Get(ctx, "w")
	if inner.n("get") != reads+1 {
		t.Fatalf("%d store reads for a key read again after ScopeMaxAge; want it read again", inner.n("get")-reads)
	}
	// End forgets.
	reads = inner.n("get")
	sc.End(ctx)
	sc.Get(ctx, "w")
	if inner.n("get") != reads+1 {
		t.Fatal("the Scope remembered a key past End")
	}
}

func TestScopeFailsFast(t *testing.T) {
	ctx := context.Background()
	down := errors.New("connection refused")
	inner := &countingStore{Store: NewMemory(nil), calls: map[string]int{}, failGet: down}
	sc := NewScope(inner, nil)
	if _, _, err := sc.Get(ctx, "a"); !errors.Is(err, down) {
		t.Fatalf("Get: %v", err)
	}
	for range 5 {
		if _, err := sc.PutIfAbsent(ctx, "b", []byte("x"), 0); !errors.Is(err, down) {
			t.Fatalf("PutIfAbsent after a failure: %v; want the same failure at once", err)
		}
		if _, _, err := sc.Get(ctx, "c"); !errors.Is(err, down) {
			t.Fatalf("Get after a failure: %v", err)
		}
	}
	if inner.n("get") != 1 || inner.n("put-if-absent") != 0 {
		t.Fatalf("the store was called %v after it failed; want only the first call", inner.calls)
	}
	if !errors.Is(sc.Err(), down) {
		t.Fatalf("Err = %v", sc.Err())
	}
	// The next unit of work tries the store again.
	inner.failGet = nil
	if err := sc.End(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sc.Get(ctx, "a"); err != nil || sc.Err() != nil {
		t.Fatalf("Get after End: %v", err)
	}
}

// TestScopesAgreeThroughDynamoDB runs many Scopes, each over its own
// DynamoDB store on one table (as concurrent Lambda containers are), each
// adding to one value by read and compare-and-swap and claiming one key:
// no addition is lost to a remembered value, and one claim wins.
func TestScopesAgreeThroughDynamoDB(t *testing.T) {
	client := statetest.DynamoDB(t)
	ctx := context.Background()
	const workers, adds = 8, 15
	var wg sync.WaitGroup
	var winners atomic.Int64
	for range workers {
		wg.Go(func() {
			sc := NewScope(NewDynamoDB(client, statetest.Table, nil), nil)
			defer sc.End(ctx)
			if ok, err := sc.PutIfAbsent(ctx, "claim", []byte("x"), time.Hour); err != nil {
				t.Error(err)
			} else if ok {
				winners.Add(1)
			}
			for range adds {
				for {
					cur, ok, err := sc.Get(ctx, "total")
					if err != nil {
						t.Error(err)
						return
					}
					n := 0
					if ok {
						n, _ = strconv.Atoi(string(cur))
					}
					next := []byte(strconv.Itoa(n + 1))
					var swapped bool
					if ok {
						swapped, err = sc.CompareAndSwap(ctx, "total", cur, next, time.Hour)
					} else {
						swapped, err = sc.PutIfAbsent(ctx, "total", next, time.Hour)
					}
					if err != nil {
						t.Error(err)
						return
					}
					if swapped {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	v, _, err := NewDynamoDB(client, statetest.Table, nil).Get(ctx, "total")
	if err != nil {
		t.Fatal(err)
	}
	if string(v) != strconv.Itoa(workers*adds) {
		t.Fatalf("total = %s after %d additions", v, workers*adds)
	}
	if winners.Load() != 1 {
		t.Fatalf("%d Scopes claimed one key; want exactly 1", winners.Load())
	}
}

// TestScopeClaimsOnce: a key the Scope wrote is not claimed from the store
// again while it lives (an event delivered twice in one input), and is
// claimed again once it expired.
func TestScopeClaimsOnce(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	inner := &countingStore{Store: NewMemory(clk.Now), calls: map[string]int{}}
	sc := NewScope(inner, clk.Now)
	if ok, _ := sc.PutIfAbsent(ctx, "marker", []byte("1"), time.Minute); !ok {
		t.Fatal("first claim failed")
	}
	for range 3 {
		if ok, _ := sc.PutIfAbsent(ctx, "marker", []byte("2"), time.Minute); ok {
			t.Fatal("a second claim of a live key succeeded")
		}
	}
	if n := inner.n("put-if-absent"); n != 1 {
		t.Fatalf("%d claims reached the store; want 1", n)
	}
	// A key present in the store but only read is claimed from the store.
	inner.Put(ctx, "theirs", []byte("x"), time.Minute)
	sc.Get(ctx, "theirs")
	if ok, _ := sc.PutIfAbsent(ctx, "theirs", []byte("y"), time.Minute); ok || inner.n("put-if-absent") != 2 {
		t.Fatalf("claim of a key read, not written: ok %v, %d store claims; want the store to refuse it", ok, inner.n("put-if-absent"))
	}
	clk.Advance(time.Minute)
	if ok, _ := sc.PutIfAbsent(ctx, "marker", []byte("3"), time.Minute); !ok {
		t.Fatal("the claim of an expired key failed")
	}
}
