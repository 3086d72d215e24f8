package detect_test

import (
	"context"
	"fmt"
	"time"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/state"
)

// A trusted-network detector alerts on a console sign-in from outside the
// office network.
func Example() {
	cfg, err := detect.ParseConfig([]byte(`
networks:
  office: [203.0.113.0/24]
detectors:
  - id: signin-untrusted-network
    kind: trusted-network
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	now := func() time.Time { return time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC) }
	set, err := detect.New(cfg, detect.Options{Store: state.NewMemory(now), Now: now})
	if err != nil {
		fmt.Println(err)
		return
	}
	ev := event.MustParse(`{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com",
		"eventType":"AwsConsoleSignIn","eventID":"e1","eventTime":"2026-11-23T00:00:00Z",
		"sourceIPAddress":"192.0.2.7","userIdentity":{"type":"IAMUser","userName":"anaya","accountId":"111122223333"},
		"responseElements":{"ConsoleLogin":"Success"}}`)
	alerts, err := set.Observe(context.Background(), ev)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range alerts {
		fmt.Println(a.Rule.ID, a.Rule.Severity, "-", a.Annotation)
	}
	// Output: signin-untrusted-network high - 192.0.2.7 is outside the trusted networks (office)
}
