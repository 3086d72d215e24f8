package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDBAPI is the part of the DynamoDB client the store uses.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// Attribute names in the DynamoDB table. The table's partition key is "pk"
// (string); "ttl" is the table's TTL attribute (epoch seconds).
const (
	attrKey     = "pk"
	attrValue   = "v"
	attrCounter = "n"
	attrExpires = "exp" // Unix milliseconds; the exact expiry the store honours
	attrTTL     = "ttl" // Unix seconds; DynamoDB's TTL deletes the item some time after
)

// DynamoDB is a Store in a DynamoDB table, for Lambda: every invocation, in
// every container, sees the same state, and conditional writes keep
// PutIfAbsent, CompareAndSwap and Add atomic across them. Reads are strongly
// consistent. DynamoDB deletes expired items lazily (often hours later), so
// every read and condition compares the item's own expiry with the clock.
type DynamoDB struct {
	client DynamoDBAPI
	table  string
	now    func() time.Time
}

// NewDynamoDB returns a store in table, whose partition key must be the
// string attribute "pk" and whose TTL attribute should be "ttl". now is the
// clock; nil means time.Now.
func NewDynamoDB(client DynamoDBAPI, table string, now func() time.Time) *DynamoDB {
	if now == nil {
		now = time.Now
	}
	return &DynamoDB{client: client, table: table, now: now}
}

func (d *DynamoDB) key(k string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrKey: &types.AttributeValueMemberS{Value: k}}
}

func millis(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)}
}

// item builds a full item; exp zero means it never expires.
func (d *DynamoDB) item(key string, value []byte, exp time.Time) map[string]types.AttributeValue {
	it := d.key(key)
	it[attrValue] = &types.AttributeValueMemberB{Value: value}
	if value == nil {
		it[attrValue] = &types.AttributeValueMemberB{Value: []byte{}}
	}
	if !exp.IsZero() {
		it[attrExpires] = millis(exp)
		it[attrTTL] = &types.AttributeValueMemberN{Value: strconv.FormatInt(exp.Add(time.Second-1).Unix(), 10)}
	}
	return it
}

// absentCond is true when the item does not exist or has expired.
const absentCond = "attribute_not_exists(#pk) OR (attribute_exists(#exp) AND #exp <= :now)"

// liveCond is true when the item exists and has not expired.
const liveCond = "attribute_exists(#pk) AND (attribute_not_exists(#exp) OR #exp > :now)"

func (d *DynamoDB) wrap(op, key string, err error) error {
	return fmt.Errorf("state: dynamodb %s %q in table %s: %w", op, key, d.table, err)
}

func isConditionFailed(err error) bool {
	var cf *types.ConditionalCheckFailedException
	return errors.As(err, &cf)
}

func live(it map[string]types.AttributeValue, now time.Time) bool {
	if len(it) == 0 {
		return false
	}
	if e, ok := it[attrExpires].(*types.AttributeValueMemberN); ok {
		ms, err := strconv.ParseInt(e.Value, 10, 64)
		if err == nil && ms <= now.UnixMilli() {
			return false
		}
	}
	return true
}

// Get implements Store.
func (d *DynamoDB) Get(ctx context.Context, key string) ([]byte, bool, error) {
	out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(d.table),
		Key:            d.key(key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, false, d.wrap("get", key, err)
	}
	v, ok := itemValue(out.Item, d.now())
	return v, ok, nil
}

// itemValue is what Get returns for an item: a counter's digits, else the
// value; ok is false for no item or an expired one.
func itemValue(it map[string]types.AttributeValue, now time.Time) ([]byte, bool) {
	if !live(it, now) {
		return nil, false
	}
	if n, ok := it[attrCounter].(*types.AttributeValueMemberN); ok {
		return []byte(n.Value), true
	}
	if v, ok := it[attrValue].(*types.AttributeValueMemberB); ok {
		return v.Value, true
	}
	return []byte{}, true
}

// Put implements Store.
func (d *DynamoDB) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	_, err := d.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.table),
		Item:      d.item(key, value, expiry(d.now(), ttl)),
	})
	if err != nil {
		return d.wrap("put", key, err)
	}
	return nil
}

// PutIfAbsent implements Store.
func (d *DynamoDB) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	now := d.now()
	_, err := d.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(d.table),
		Item:                      d.item(key, value, expiry(now, ttl)),
		ConditionExpression:       aws.String(absentCond),
		ExpressionAttributeNames:  map[string]string{"#pk": attrKey, "#exp": attrExpires},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": millis(now)},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, d.wrap("put-if-absent", key, err)
	}
	return true, nil
}

// CompareAndSwap implements Store.
func (d *DynamoDB) CompareAndSwap(ctx context.Context, key string, old, new []byte, ttl time.Duration) (bool, error) {
	if old == nil {
		return d.PutIfAbsent(ctx, key, new, ttl)
	}
	now := d.now()
	_, err := d.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(d.table),
		Item:                      d.item(key, new, expiry(now, ttl)),
		ConditionExpression:       aws.String("(" + liveCond + ") AND #v = :old"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrKey, "#exp": attrExpires, "#v": attrValue},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": millis(now), ":old": &types.AttributeValueMemberB{Value: old}},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, d.wrap("compare-and-swap", key, err)
	}
	return true, nil
}

// Add implements Store. A live counter is incremented in place; an absent or
// expired one is replaced by a fresh counter with a new expiry. Either write
// is conditional, and a lost race is retried.
func (d *DynamoDB) Add(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error) {
	for attempt := 0; attempt < 10; attempt++ {
		now := d.now()
		out, err := d.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(d.table),
			Key:                       d.key(key),
			UpdateExpression:          aws.String("ADD #n :d"),
			ConditionExpression:       aws.String(liveCond),
			ExpressionAttributeNames:  map[string]string{"#pk": attrKey, "#exp": attrExpires, "#n": attrCounter},
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": millis(now), ":d": &types.AttributeValueMemberN{Value: strconv.FormatInt(delta, 10)}},
			ReturnValues:              types.ReturnValueAllNew,
		})
		if err == nil {
			n, ok := out.Attributes[attrCounter].(*types.AttributeValueMemberN)
			if !ok {
				return 0, &NotCounterError{Key: key}
			}
			return strconv.ParseInt(n.Value, 10, 64)
		}
		if !isConditionFailed(err) {
			return 0, d.wrap("add", key, err)
		}
		it := d.key(key)
		it[attrCounter] = &types.AttributeValueMemberN{Value: strconv.FormatInt(delta, 10)}
		if exp := expiry(now, ttl); !exp.IsZero() {
			it[attrExpires] = millis(exp)
			it[attrTTL] = &types.AttributeValueMemberN{Value: strconv.FormatInt(exp.Add(time.Second-1).Unix(), 10)}
		}
		_, err = d.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 aws.String(d.table),
			Item:                      it,
			ConditionExpression:       aws.String(absentCond),
			ExpressionAttributeNames:  map[string]string{"#pk": attrKey, "#exp": attrExpires},
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": millis(now)},
		})
		if err == nil {
			return delta, nil
		}
		if !isConditionFailed(err) {
			return 0, d.wrap("add", key, err)
		}
		// Another writer created the counter between our two writes: add again.
	}
	return 0, d.wrap("add", key, errors.New("too much contention on one counter"))
}

// Delete implements Store.
func (d *DynamoDB) Delete(ctx context.Context, key string) error {
	_, err := d.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(d.table), Key: d.key(key)})
	if err != nil {
		return d.wrap("delete", key, err)
	}
	return nil
}

// Limits of DynamoDB's batch calls, and how this store uses them.
const (
	// DynamoDBGetBatch and DynamoDBPutBatch are the most keys one
	// BatchGetItem and items one BatchWriteItem take.
	DynamoDBGetBatch = 100
	DynamoDBPutBatch = 25
	// dynamoBatchParallel bounds the batch calls of one GetMany or
	// PutMany in flight at once.
	dynamoBatchParallel = 8
	// dynamoBatchTries is how many calls a batch gets to have every item
	// processed: DynamoDB answers a throttled batch with the items it left
	// unprocessed, to be sent again after a pause.
	dynamoBatchTries = 6
)

// GetMany implements Batcher with strongly consistent BatchGetItem calls
// of up to 100 keys, several at once.
func (d *DynamoDB) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	uniq := make([]string, 0, len(keys))
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, k)
		}
	}
	var (
		mu  sync.Mutex
		out = make(map[string][]byte, len(uniq))
	)
	chunks := chunk(uniq, DynamoDBGetBatch)
	errs := make([]error, len(chunks))
	forEach(len(chunks), dynamoBatchParallel, func(i int) {
		pending := make([]map[string]types.AttributeValue, len(chunks[i]))
		for j, k := range chunks[i] {
			pending[j] = d.key(k)
		}
		errs[i] = d.batchTries(ctx, func() (int, error) {
			res, err := d.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
				RequestItems: map[string]types.KeysAndAttributes{d.table: {Keys: pending, ConsistentRead: aws.Bool(true)}},
			})
			if err != nil {
				return 0, err
			}
			now := d.now()
			mu.Lock()
			for _, it := range res.Responses[d.table] {
				k, ok := it[attrKey].(*types.AttributeValueMemberS)
				if !ok {
					continue
				}
				if v, ok := itemValue(it, now); ok {
					out[k.Value] = v
				}
			}
			mu.Unlock()
			pending = res.UnprocessedKeys[d.table].Keys
			return len(pending), nil
		})
	})
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("state: dynamodb batch-get of %d keys in table %s: %w", len(uniq), d.table, err)
	}
	return out, nil
}

// PutMany implements Batcher with BatchWriteItem calls of up to 25 items,
// several at once. Only plain puts are batched: DynamoDB's batches take no
// conditions.
func (d *DynamoDB) PutMany(ctx context.Context, items []Item) error {
	// A batch must not name a key twice: the later item wins.
	last := make(map[string]int, len(items))
	for i, it := range items {
		last[it.Key] = i
	}
	now := d.now()
	reqs := make([]types.WriteRequest, 0, len(last))
	for i, it := range items {
		if last[it.Key] == i {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: d.item(it.Key, it.Value, expiry(now, it.TTL))}})
		}
	}
	chunks := chunk(reqs, DynamoDBPutBatch)
	errs := make([]error, len(chunks))
	forEach(len(chunks), dynamoBatchParallel, func(i int) {
		pending := chunks[i]
		errs[i] = d.batchTries(ctx, func() (int, error) {
			res, err := d.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]types.WriteRequest{d.table: pending},
			})
			if err != nil {
				return 0, err
			}
			pending = res.UnprocessedItems[d.table]
			return len(pending), nil
		})
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("state: dynamodb batch-write of %d items in table %s: %w", len(reqs), d.table, err)
	}
	return nil
}

// batchTries calls try until it reports nothing left unprocessed, pausing
// between calls (25 ms, doubling), at most dynamoBatchTries times.
func (d *DynamoDB) batchTries(ctx context.Context, try func() (left int, err error)) error {
	pause := 25 * time.Millisecond
	for n := 0; ; n++ {
		left, err := try()
		if err != nil || left == 0 {
			return err
		}
		if n+1 == dynamoBatchTries {
			return fmt.Errorf("%d items still unprocessed after %d calls (the table is throttled)", left, dynamoBatchTries)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
		pause *= 2
	}
}

// chunk cuts s into slices of at most n.
func chunk[T any](s []T, n int) [][]T {
	var out [][]T
	for len(s) > n {
		out = append(out, s[:n:n])
		s = s[n:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}

// forEach calls fn(0) ... fn(n-1), at most limit at a time, and waits for
// them all.
func forEach(n, limit int, fn func(i int)) {
	if n == 1 {
		fn(0)
		return
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}

// Close implements Store; the client needs no closing.
func (d *DynamoDB) Close() error { return nil }
