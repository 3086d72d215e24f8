package pattern_test

import (
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/rule/pattern"
)

// A pattern written for EventBridge matches a CloudTrail record whatever
// path it arrived by: here a root console sign-in read from a log file.
func Example() {
	p, err := pattern.Compile([]byte(`{
	  "source": ["aws.signin"],
	  "detail-type": ["AWS Console Sign In via CloudTrail"],
	  "detail": {
	    "eventName": ["ConsoleLogin"],
	    "userIdentity": {"type": ["Root"]},
	    "additionalEventData": {"MFAUsed": [{"anything-but": "Yes"}]}
	  }
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	names, _ := p.EventNames()
	fmt.Println("indexed under", names)

	root := event.MustParse(`{"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
	  "eventType": "AwsConsoleSignIn", "userIdentity": {"type": "Root"},
	  "additionalEventData": {"MFAUsed": "No"}}`)
	user := event.MustParse(`{"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
	  "eventType": "AwsConsoleSignIn", "userIdentity": {"type": "IAMUser"},
	  "additionalEventData": {"MFAUsed": "No"}}`)
	fmt.Println("root:", p.Match(root))
	fmt.Println("IAM user:", p.Match(user))

	_, err = pattern.Compile([]byte(`{"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/33"}]}}`))
	fmt.Println(err)
	// Output:
	// indexed under [ConsoleLogin]
	// root: true
	// IAM user: false
	// pattern: detail.sourceIPAddress: cidr "10.0.0.0/33": invalid prefix length
}
