package detect

import (
	"context"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/parser"
	"github.com/trailwatch/trailwatch/internal/state"
)

func TestDefaultConfig(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Detectors) != 8 {
		t.Fatalf("%d default detectors; want 8", len(c.Detectors))
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"unknown key", `
detectors:
  - id: signin-failure-burst
    kind: burst
    what: failed-logins
    threshhold: 5
    window: 5m
`, `line 6: unknown field "threshhold"`},
		{"threshold", `
detectors:
  - id: signin-failure-burst
    kind: burst
    what: failed-logins
    threshold: 1
    window: 5m
`, `line 6: detector "signin-failure-burst": threshold must be between 2 and 10000, got 1`},
		{"field of another kind", `
detectors:
  - id: signin-new-network
    kind: first-seen
    attribute: network
    window: 5m
`, `line 6: detector "signin-new-network": window does not apply to kind first-seen`},
		{"bad duration", `
detectors:
  - id: signin-new-network
    kind: first-seen
    attribute: network
    learning: a week
`, `invalid duration "a week" (want text like 5m, 168h or 7d)`},
		{"bad cidr", `
networks:
  office: [203.0.113.0/24, 203.0.113.0/33]
`, `line 3: network "office": "203.0.113.0/33" is not a CIDR block (like 203.0.113.0/24 or 2001:db8::/32)`},
		{"undefined network", `
networks:
  office: [203.0.113.0/24]
detectors:
  - id: signin-untrusted-network
    kind: trusted-network
    networks: [office, vpn]
`, `line 7: detector "signin-untrusted-network": network "vpn" is not defined under networks`},
		{"unknown kind", `
detectors:
  - id: x
    kind: geo-fence
`, `line 4: detector "x": unknown kind "geo-fence" (want trusted-network, first-seen, burst or impossible-travel)`},
		{"bad region", `
networks: {office: [203.0.113.0/24]}
detectors:
  - {id: t, kind: trusted-network, regions: [tokyo]}
`, `line 4: detector "t": "tokyo" is not an AWS region name (like us-east-1)`},
		{"duplicate id", `
detectors:
  - {id: b, kind: burst, what: spraying, threshold: 3, window: 1m}
  - {id: b, kind: burst, what: spraying, threshold: 3, window: 1m}
`, `line 4: detector "b" is defined twice (detectors 1 and 2)`},
		{"bad attribute", `
detectors:
  - id: f
    kind: first-seen
    attribute: city
`, `line 5: detector "f": unknown attribute "city" (want network, country, asn or user-agent)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestMergePatches(t *testing.T) {
	base, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	user, err := ParseConfig([]byte(`
networks:
  office: [203.0.113.0/24]
detectors:
  - {id: signin-new-user-agent, enabled: false}
  - {id: signin-failure-burst, threshold: 10}
`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Merge(base, user)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(m, Options{Store: state.NewMemory(nil)})
	if err != nil {
		t.Fatal(err)
	}
	var disabled []string
	for _, d := range s.Disabled() {
		disabled = append(disabled, d.ID)
	}
	if strings.Join(disabled, ",") != "signin-new-user-agent,signin-new-country,signin-new-asn,signin-impossible-travel" {
		t.Fatalf("disabled = %v", disabled)
	}
	for _, d := range m.Detectors {
		if d.ID == "signin-failure-burst" && (d.Threshold != 10 || d.Window.String() != "5m0s" || d.Kind != KindBurst) {
			t.Fatalf("patched spec = %+v", d)
		}
	}
	if _, err := Merge(base, &Config{Detectors: []Spec{{ID: "nope", Threshold: 3}}}); err == nil ||
		!strings.Contains(err.Error(), `detector "nope": no kind, and no earlier detector with this id to change`) {
		t.Fatalf("patch of a missing detector: %v", err)
	}
}

func TestDecodeNodes(t *testing.T) {
	src := `rules: []
networks:
  office: [203.0.113.0/24]
detectors:
  - id: signin-untrusted-network
    kind: trusted-network
    regions: [us-east-1, nowhere]
`
	f, err := parser.ParseBytes([]byte(src), 0)
	if err != nil {
		t.Fatal(err)
	}
	top := f.Docs[0].Body
	nets, dets := walk(top, []any{"networks"}), walk(top, []any{"detectors"})
	_, err = DecodeNodes(nets, dets)
	if err == nil || err.Error() != `line 7: detector "signin-untrusted-network": "nowhere" is not an AWS region name (like us-east-1)` {
		t.Fatalf("DecodeNodes error = %v", err)
	}
	var ce *ConfigError
	if !asConfigError(err, &ce) || ce.Line != 7 || ce.Path != "detectors[0].regions[1]" {
		t.Fatalf("ConfigError = %+v", ce)
	}
}

func asConfigError(err error, target **ConfigError) bool {
	type unwrapper interface{ Unwrap() []error }
	if u, ok := err.(unwrapper); ok {
		for _, e := range u.Unwrap() {
			if c, ok := e.(*ConfigError); ok {
				*target = c
				return true
			}
		}
	}
	c, ok := err.(*ConfigError)
	*target = c
	return ok
}

func FuzzParseConfig(f *testing.F) {
	f.Add(DefaultYAML())
	f.Add([]byte(trustedConfig))
	f.Add([]byte(burstConfig))
	f.Add([]byte(geoConfig))
	f.Add([]byte("networks: {a: [::/0]}\ndetectors: [{id: a, kind: trusted-network}]"))
	f.Add([]byte("detectors:\n  - {id: x, kind: first-seen, attribute: network, ipv4_prefix: 40}\n"))
	f.Add([]byte("- 1\n- 2\n"))
	f.Add([]byte("detectors: &a [*a]"))
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := ParseConfig(src)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		for _, d := range c.Detectors {
			if d.Kind == "" {
				return // a patch: needs a base to build
			}
		}
		s, err := New(c, Options{Store: state.NewMemory(nil)})
		if err != nil {
			t.Fatalf("a config that parsed does not build: %v", err)
		}
		ev := failureEvent()
		if _, err := s.Observe(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	})
}
