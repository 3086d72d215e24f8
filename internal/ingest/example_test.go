package ingest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/trailwatch/trailwatch/internal/ingest"
)

// A Lambda payload is sniffed for its trigger; here an EventBridge event
// whose detail is the CloudTrail record.
func ExampleReader_Payload() {
	payload := []byte(`{"version":"0","id":"6f87d04b","detail-type":"AWS Console Sign In via CloudTrail",
		"source":"aws.signin","account":"123456789012","region":"us-east-1",
		"detail":{"eventVersion":"1.08","userIdentity":{"type":"Root","accountId":"123456789012"},
		"eventTime":"2016-01-05T18:21:27Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin",
		"awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","responseElements":{"ConsoleLogin":"Success"},
		"eventID":"d1a8c4f2","eventType":"AwsConsoleSignIn"}}`)

	r := ingest.New(ingest.Options{})
	for ev, err := range r.Payload(context.Background(), "invocation", payload) {
		var skip *ingest.SkipError
		switch {
		case errors.As(err, &skip):
			fmt.Println("skipped:", skip.Reason)
		case err != nil:
			fmt.Println("error:", err)
		default:
			fmt.Println(ev.Name(), ev.Principal(), ev.LoginResult(), ev.Origin().Path)
		}
	}
	// Output: ConsoleLogin root Success eventbridge
}
