package state

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// silentListener accepts connections and never answers, as a DynamoDB
// endpoint behind a black-holing network does.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return "http://" + ln.Addr().String()
}

// refusedEndpoint is an address nothing listens on.
func refusedEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func unreachable(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	}, DynamoDBOptions)
}

// TestUnreachableDynamoDBFailsWithinBudget: with the table unreachable a
// call fails within CallTimeout, whether the endpoint refuses or never
// answers, and says why.
func TestUnreachableDynamoDBFailsWithinBudget(t *testing.T) {
	for name, endpoint := range map[string]string{"silent": silentListener(t), "refused": refusedEndpoint(t)} {
		t.Run(name, func(t *testing.T) {
			s := WithCallTimeout(NewDynamoDB(unreachable(endpoint), "trailwatch-state", nil), CallTimeout)
			start := time.Now()
			_, _, err := s.Get(context.Background(), "k")
			took := time.Since(start)
			if err == nil {
				t.Fatal("Get on an unreachable table succeeded")
			}
			if took > CallTimeout+500*time.Millisecond {
				t.Fatalf("Get took %s; want at most about %s", took, CallTimeout)
			}
			if name == "silent" && !errors.Is(err, ErrCallTimeout) && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v does not say the store did not answer", err)
			}
			t.Logf("%s: %s: %v", name, took.Round(time.Millisecond), err)
		})
	}
}

func TestWithCallTimeoutKeepsTheCallersDeadline(t *testing.T) {
	s := WithCallTimeout(NewDynamoDB(unreachable(silentListener(t)), "trailwatch-state", nil), time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Put(ctx, "k", []byte("v"), 0); err == nil {
		t.Fatal("Put succeeded")
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Put took %s past a 200ms deadline", took)
	}
	if WithCallTimeout(NewMemory(nil), 0) == nil {
		t.Fatal("no store")
	}
}
