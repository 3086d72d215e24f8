package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Time limits for DynamoDB. A state store that does not answer must not
// eat a Lambda invocation: with the SDK's defaults each failed call costs
// about 2.7 s of retries (and a listener that never answers, forever), and
// detectors make one or more calls per event.
const (
	// DynamoDBAttemptTimeout bounds one HTTP attempt.
	DynamoDBAttemptTimeout = time.Second
	// DynamoDBMaxAttempts is how many attempts one call makes.
	DynamoDBMaxAttempts = 3
	// DynamoDBMaxBackoff caps the wait between two attempts.
	DynamoDBMaxBackoff = 100 * time.Millisecond
	// CallTimeout bounds one store call, its attempts and waits included
	// (see WithCallTimeout).
	CallTimeout = 2 * time.Second
)

// DynamoDBOptions sets the retry budget and attempt timeout above on a
// DynamoDB client; pass it to dynamodb.NewFromConfig or dynamodb.New.
func DynamoDBOptions(o *dynamodb.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = DynamoDBMaxAttempts
		so.MaxBackoff = DynamoDBMaxBackoff
	})
	o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(DynamoDBAttemptTimeout)
}

// ErrCallTimeout is the cause of a store call cut off by WithCallTimeout.
var ErrCallTimeout = errors.New("state: the store did not answer in time")

// WithCallTimeout returns s with every call bounded by d (on top of the
// caller's own deadline): a call still running after d is abandoned with
// an error wrapping ErrCallTimeout. d <= 0 returns s unchanged.
func WithCallTimeout(s Store, d time.Duration) Store {
	if d <= 0 {
		return s
	}
	return &timed{s: s, d: d}
}

type timed struct {
	s Store
	d time.Duration
}

func (t *timed) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, t.d, fmt.Errorf("%w (%s)", ErrCallTimeout, t.d))
}

// cause adds why the call ended when it was the timeout.
func cause(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && errors.Is(context.Cause(ctx), ErrCallTimeout) && !errors.Is(err, ErrCallTimeout) {
		return fmt.Errorf("%w: %w", context.Cause(ctx), err)
	}
	return err
}

func (t *timed) Get(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	v, ok, err := t.s.Get(ctx, key)
	return v, ok, cause(ctx, err)
}

func (t *timed) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	return cause(ctx, t.s.Put(ctx, key, value, ttl))
}

func (t *timed) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	ok, err := t.s.PutIfAbsent(ctx, key, value, ttl)
	return ok, cause(ctx, err)
}

func (t *timed) CompareAndSwap(ctx context.Context, key string, old, new []byte, ttl time.Duration) (bool, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	ok, err := t.s.CompareAndSwap(ctx, key, old, new, ttl)
	return ok, cause(ctx, err)
}

func (t *timed) Add(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	n, err := t.s.Add(ctx, key, delta, ttl)
	return n, cause(ctx, err)
}

func (t *timed) Delete(ctx context.Context, key string) error {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	return cause(ctx, t.s.Delete(ctx, key))
}

// GetMany implements Batcher. A batch is bounded by d for each round of
// batch calls it makes.
func (t *timed) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	ctx, cancel := t.batchCtx(ctx, len(keys), DynamoDBGetBatch)
	defer cancel()
	out, err := GetMany(ctx, t.s, keys)
	return out, cause(ctx, err)
}

// PutMany implements Batcher, bounded as GetMany is.
func (t *timed) PutMany(ctx context.Context, items []Item) error {
	ctx, cancel := t.batchCtx(ctx, len(items), DynamoDBPutBatch)
	defer cancel()
	return cause(ctx, PutMany(ctx, t.s, items))
}

// batchCtx bounds a batch of n by d per round of batch calls of size each,
// dynamoBatchParallel at a time.
func (t *timed) batchCtx(ctx context.Context, n, size int) (context.Context, context.CancelFunc) {
	rounds := 1 + (n-1)/(size*dynamoBatchParallel)
	d := t.d * time.Duration(max(rounds, 1))
	return context.WithTimeoutCause(ctx, d, fmt.Errorf("%w (%s)", ErrCallTimeout, d))
}

// Flush implements Flusher.
func (t *timed) Flush(ctx context.Context) error {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	return cause(ctx, Flush(ctx, t.s))
}

// Close closes the wrapped store.
func (t *timed) Close() error { return t.s.Close() }
