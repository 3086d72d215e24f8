package config

import (
	"strings"
	"testing"
)

func TestDumpHidesWebhookHeaders(t *testing.T) {
	c := mustParse(t, `
receivers:
  - name: hook
    webhook:
      url: env:HOOK_URL
      headers: {Authorization: "Bearer plain-t0k3n-d1st1nct", X-Team: security}
route:
  receiver: hook
`)
	out, err := c.Dump()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "plain-t0k3n") || !strings.Contains(string(out), "Authorization: <secret>") || !strings.Contains(string(out), "X-Team: <secret>") {
		t.Errorf("dump:\n%s", out)
	}
	if c.Receivers[0].Webhook.Headers["Authorization"] != "Bearer plain-t0k3n-d1st1nct" {
		t.Error("dumping changed the configuration")
	}
}
