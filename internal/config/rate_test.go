package config

import (
	"strings"
	"testing"
)

func TestReceiverRate(t *testing.T) {
	c := mustParse(t, `
receivers:
  - name: slack
    slack: {webhook_url: env:SLACK_URL}
    rate: {per_second: 0.5, burst: 2}
  - name: hook
    webhook: {url: env:HOOK_URL}
    rate: {per_second: 20}
  - name: out
    stdout: {}
route:
  receiver: slack
`)
	if r := c.Receivers[0].Rate; r == nil || r.PerSecond != 0.5 || r.Burst != 2 {
		t.Errorf("slack rate = %+v", r)
	}
	if r := c.Receivers[1].Rate; r == nil || r.PerSecond != 20 || r.Burst != 0 {
		t.Errorf("webhook rate = %+v", r)
	}
	if c.Receivers[2].Rate != nil {
		t.Errorf("stdout rate = %+v, want none", c.Receivers[2].Rate)
	}
	out, err := c.Dump()
	if err != nil || !strings.Contains(string(out), "rate:\n      per_second: 0.5\n      burst: 2") {
		t.Errorf("dump (%v):\n%s", err, out)
	}
}

func TestReceiverRateErrors(t *testing.T) {
	for _, tt := range []struct{ rate, want string }{
		{"{per_second: 0}", `trailwatch.yaml:4: receivers[0].rate.per_second: 0 is not a rate (want a number of messages a second above 0 and at most 10000, such as 1 or 0.5)`},
		{"{burst: 3}", `trailwatch.yaml:4: receivers[0].rate.per_second: 0 is not a rate (want a number of messages a second above 0 and at most 10000, such as 1 or 0.5)`},
		{"{per_second: -1}", `trailwatch.yaml:4: receivers[0].rate.per_second: -1 is not a rate (want a number of messages a second above 0 and at most 10000, such as 1 or 0.5)`},
		{"{per_second: 100000}", `trailwatch.yaml:4: receivers[0].rate.per_second: 100000 is not a rate (want a number of messages a second above 0 and at most 10000, such as 1 or 0.5)`},
		{"{per_second: 1, burst: -2}", `trailwatch.yaml:4: receivers[0].rate.burst: -2 is not a burst (want a whole number from 1 to 10000)`},
		{"{per_second: fast}", `trailwatch.yaml:4: receivers[0].rate.per_second: expected a number, found a string`},
		{"{per_second: 1, burst: 1.5}", `trailwatch.yaml:4: receivers[0].rate.burst: expected a whole number, found a number`},
		{"{per_minute: 1}", `trailwatch.yaml:4: receivers[0].rate: unknown field "per_minute"`},
		{"1/s", `trailwatch.yaml:4: receivers[0].rate: expected a mapping, found a string`},
	} {
		_, err := parse(t, `
receivers:
  - name: slack
    slack: {webhook_url: env:SLACK_URL}
    rate: `+tt.rate+`
route:
  receiver: slack
`)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("rate %s: error\n got: %v\nwant: %s", tt.rate, err, tt.want)
		}
	}
}
