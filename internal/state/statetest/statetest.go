// Package statetest provides an in-process DynamoDB stand-in holding
// trailwatch's state table, for the tests of every package that keeps state
// in DynamoDB.
package statetest

import (
	"context"
	"net/http/httptest"
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
	srv := httptest.NewServer(miniserver.NewServer())
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
	return client
}
