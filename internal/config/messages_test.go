package config

import "testing"

func TestRouteMessages(t *testing.T) {
	c := mustParse(t, base+`  messages: per_event
  routes:
    - matchers: [tag:cis-1.7]
      messages: per_rule
    - matchers: [severity >= high]
`)
	if c.Route.Messages != MessagesPerEvent || c.Route.Routes[0].Messages != MessagesPerRule || c.Route.Routes[1].Messages != "" {
		t.Fatalf("messages: root %q, children %q %q", c.Route.Messages, c.Route.Routes[0].Messages, c.Route.Routes[1].Messages)
	}

	_, err := parse(t, base+`  routes:
    - matchers: [tag:cis-1.7]
      messages: per-rule
`)
	want := `trailwatch.yaml:9: route.routes[0].messages: "per-rule" is not a message mode (want per_event, one message per event, or per_rule, one per rule)`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	_, err = parse(t, base+`  messages: [per_rule]
`)
	if err == nil {
		t.Fatal("a list for messages was accepted")
	}
}
