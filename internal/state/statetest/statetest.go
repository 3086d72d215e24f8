// Package statetest provides an in-process DynamoDB stand-in holding
// trailwatch's state table, for the tests of every package that keeps state
// in DynamoDB.
package statetest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	miniserver "github.com/truora/minidyn/server"
)

// Table is the state table's name in the stand-in.
const Table = "trailwatch-state"

// DynamoDB starts a DynamoDB stand-in (minidyn over loopback HTTP) with the
// state table (partition key "pk", a string) and returns a real SDK client
// pointed at it. The server stops when the test ends.
func DynamoDB(t testing.TB) *dynamodb.Client {
	t.Helper()
	client, _ := CountedDynamoDB(t)
	return client
}

// Requests counts the requests a DynamoDB stand-in served, by operation
// ("GetItem", "BatchWriteItem", ...). Safe for concurrent use.
type Requests struct {
	mu sync.Mutex
	n  map[string]int
}

// Count returns how many requests of op were served.
func (r *Requests) Count(op string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[op]
}

// Total returns how many requests were served, the table's creation left
// out.
func (r *Requests) Total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	total := 0
	for op, n := range r.n {
		if op != "CreateTable" {
			total += n
		}
	}
	return total
}

// Ops returns a copy of the counts, the table's creation left out.
func (r *Requests) Ops() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for op, n := range r.n {
		if op != "CreateTable" {
			out[op] = n
		}
	}
	return out
}

// Reset sets every count to zero.
func (r *Requests) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.n)
}

// CountedDynamoDB is DynamoDB, and counts the requests the stand-in serves.
func CountedDynamoDB(t testing.TB) (*dynamodb.Client, *Requests) {
	t.Helper()
	reqs := &Requests{n: map[string]int{}}
	inner := miniserver.NewServer()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The operation is the X-Amz-Target header's last part:
		// "DynamoDB_20120810.GetItem".
		target := r.Header.Get("X-Amz-Target")
		op := target[strings.LastIndexByte(target, '.')+1:]
		reqs.mu.Lock()
		reqs.n[op]++
		reqs.mu.Unlock()
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		// The stand-in sends no CRC32 header.
		DisableValidateResponseChecksum: true,
	})
	_, err := client.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(Table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("create the state table: %v", err)
	}
	return client, reqs
}
