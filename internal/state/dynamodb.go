package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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
	if !live(out.Item, d.now()) {
		return nil, false, nil
	}
	if n, ok := out.Item[attrCounter].(*types.AttributeValueMemberN); ok {
		return []byte(n.Value), true, nil
	}
	if v, ok := out.Item[attrValue].(*types.AttributeValueMemberB); ok {
		return v.Value, true, nil
	}
	return []byte{}, true, nil
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

// Close implements Store; the client needs no closing.
func (d *DynamoDB) Close() error { return nil }
