package notify

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// AWSRetryable reports whether an AWS SDK failure may succeed later:
// throttling, server-side faults, timeouts and connection failures, as the
// SDK's own retryer judges them, plus the throttling codes it does not list
// (SNS "Throttled", "KMSThrottling"). A context that ended is not retryable.
func AWSRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var api smithy.APIError
	if errors.As(err, &api) && (strings.Contains(api.ErrorCode(), "Throttl") || api.ErrorFault() == smithy.FaultServer) {
		return true
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// RedactAWS returns err with the secret parts of the credentials creds
// provides (the secret access key and the session token) removed from its
// text. The SDK never writes them into an error itself, but an endpoint that
// quotes the request back (a proxy, a misconfigured endpoint URL) may echo
// the X-Amz-Security-Token header. A nil provider, or one that fails now,
// leaves err as it is.
func RedactAWS(ctx context.Context, creds aws.CredentialsProvider, err error) error {
	if err == nil || creds == nil {
		return err
	}
	// The attempt's context may be the reason err happened; the cached
	// credentials are read under a short context of their own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	c, cerr := creds.Retrieve(ctx)
	if cerr != nil {
		return err
	}
	return NewRedactor(c.SecretAccessKey, c.SessionToken).Error(err)
}
