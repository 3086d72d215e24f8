package notify

import (
	"context"
	"errors"
	"strings"

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
