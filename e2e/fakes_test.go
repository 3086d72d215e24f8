package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	miniserver "github.com/truora/minidyn/server"
)

// fakeS3 is an in-process S3 holding objects the function fetches.
type fakeS3 struct {
	srv     *httptest.Server
	backend *s3mem.Backend
}

func newFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	b := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(b).Server())
	t.Cleanup(srv.Close)
	return &fakeS3{srv: srv, backend: b}
}

// put stores an object, creating its bucket when needed.
func (s *fakeS3) put(t *testing.T, bucket, key string, data []byte) {
	t.Helper()
	if ok, _ := s.backend.BucketExists(bucket); !ok {
		if err := s.backend.CreateBucket(bucket); err != nil {
			t.Fatalf("create bucket %s: %v", bucket, err)
		}
	}
	if _, err := s.backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

// fakeDynamoDB is an in-process DynamoDB. It adds the CRC32 header real
// DynamoDB sends, so the function's SDK client runs unmodified.
type fakeDynamoDB struct {
	srv    *httptest.Server
	client *dynamodb.Client

	mu       sync.Mutex
	requests map[string]int // by operation (X-Amz-Target without prefix)
}

func newFakeDynamoDB(t *testing.T) *fakeDynamoDB {
	t.Helper()
	inner := miniserver.NewServer()
	d := &fakeDynamoDB{requests: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		d.mu.Lock()
		d.requests[op]++
		d.mu.Unlock()
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
		w.WriteHeader(rec.Code)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(fakeKeyID, fakeSecret, ""),
	})
	d.srv, d.client = srv, client
	return d
}

// ops returns how many requests of each operation the function made.
func (d *fakeDynamoDB) ops() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]int{}
	for k, v := range d.requests {
		if k != "CreateTable" {
			out[k] = v
		}
	}
	return out
}

// createTable makes a state table shaped as deploy/trailwatch.yaml makes it.
func (d *fakeDynamoDB) createTable(t *testing.T, name string) {
	t.Helper()
	_, err := d.client.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
}

// fakeSlack stands in for a Slack incoming webhook. It records every
// request; status decides each answer (nil: always 200 "ok").
type fakeSlack struct {
	srv *httptest.Server
	// path is the webhook's secret path, as Slack issues them.
	path string

	mu       sync.Mutex
	attempts int
	posts    []slackPost // answered 200
	status   func(attempt int) int
}

// slackPost is one message Slack accepted.
type slackPost struct {
	Text string // the message's fallback text
	Rule string // the rule id in the message's fields
	Body []byte
}

func newFakeSlack(t *testing.T) *fakeSlack {
	t.Helper()
	s := &fakeSlack{path: "/services/T0E2E0000/B0E2E0000/e2eSecretWebhookToken0123"}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// url is the webhook URL, a secret the function reads by reference.
func (s *fakeSlack) url() string { return s.srv.URL + s.path }

func (s *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	var body bytes.Buffer
	body.ReadFrom(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if r.Method != http.MethodPost || r.URL.Path != s.path {
		http.Error(w, "no_service", http.StatusNotFound)
		return
	}
	code := http.StatusOK
	if s.status != nil {
		code = s.status(s.attempts)
	}
	if code != http.StatusOK {
		http.Error(w, "internal error", code)
		return
	}
	var msg struct {
		Text string `json:"text"`
	}
	json.Unmarshal(body.Bytes(), &msg)
	s.posts = append(s.posts, slackPost{Text: msg.Text, Rule: ruleField(body.Bytes()), Body: body.Bytes()})
	w.Write([]byte("ok"))
}

// ruleField finds the "*Rule*\n<id>" field of a message.
func ruleField(body []byte) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	var found string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case string:
			if id, ok := strings.CutPrefix(x, "*Rule*\n"); ok && found == "" {
				found = id
			}
		}
	}
	walk(v)
	return found
}

// setStatus decides the answers from now on.
func (s *fakeSlack) setStatus(f func(attempt int) int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = f
}

// rules returns the rule ids of the accepted posts, sorted.
func (s *fakeSlack) rules() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range s.posts {
		out = append(out, p.Rule)
	}
	slices.Sort(out)
	return out
}

func (s *fakeSlack) count() (attempts, posts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts, len(s.posts)
}

func (s *fakeSlack) allPosts() []slackPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.posts)
}
