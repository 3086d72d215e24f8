package detect

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/yamlnode"
)

// Kinds of detector.
const (
	KindTrustedNetwork   = "trusted-network"
	KindFirstSeen        = "first-seen"
	KindBurst            = "burst"
	KindImpossibleTravel = "impossible-travel"
)

// First-seen attributes.
const (
	AttrNetwork   = "network"
	AttrCountry   = "country"
	AttrASN       = "asn"
	AttrUserAgent = "user-agent"
)

// Burst kinds ("what").
const (
	BurstFailedLogins = "failed-logins"
	BurstSpraying     = "spraying"
	BurstAccessDenied = "access-denied"
)

// Config is the detector part of trailwatch's configuration: named trusted
// networks and the detectors. It decodes from YAML (ParseConfig, or
// DecodeNodes inside a larger file); Merge layers configs; New builds a Set.
type Config struct {
	// Networks are named CIDR lists (IPv4 and IPv6) that trusted-network
	// detectors refer to.
	Networks map[string][]string `yaml:"networks"`
	// Detectors are the detectors to run.
	Detectors []Spec `yaml:"detectors"`
}

// Spec configures one detector. Which fields apply depends on Kind; a field
// set for a kind that does not use it is an error.
type Spec struct {
	// ID names the detector; alerts carry it as their rule id. Lower-case
	// kebab-case, unique among rules and detectors.
	ID string `yaml:"id"`
	// Kind is trusted-network, first-seen, burst or impossible-travel. A
	// spec without a kind patches the spec of the same id from an earlier
	// config (see Merge).
	Kind string `yaml:"kind"`
	// Title, Description and Tags describe alerts; each kind has defaults.
	Title       string   `yaml:"title"`
	Description string   `yaml:"description"`
	Tags        []string `yaml:"tags"`
	// Severity is info, low, medium, high or critical; each kind has a
	// default.
	Severity string `yaml:"severity"`
	// Enabled turns the detector off when false.
	Enabled *bool `yaml:"enabled"`
	// Locales holds the title and description in other locales ("ja");
	// each kind has Japanese defaults for its default text.
	Locales map[string]LocalText `yaml:"locales"`

	// Events are the event names watched (trusted-network, first-seen,
	// impossible-travel); default [ConsoleLogin].
	Events []string `yaml:"events"`
	// Failures makes trusted-network and first-seen watch failed sign-ins
	// too; by default only successful ones count.
	Failures bool `yaml:"failures"`

	// Networks names entries of Config.Networks (trusted-network); empty
	// means every named network.
	Networks []string `yaml:"networks"`
	// Regions are the expected AWS regions (trusted-network); empty means
	// any region.
	Regions []string `yaml:"regions"`
	// RootEvents makes trusted-network check every event of a Root
	// principal, whatever its name; default true.
	RootEvents *bool `yaml:"root_events"`

	// Attribute is what first-seen tracks: network, country, asn or
	// user-agent.
	Attribute string `yaml:"attribute"`
	// Learning is how long first-seen only records, per account, before it
	// alerts; default 168h.
	Learning Duration `yaml:"learning"`
	// Retention is how long a value stays known without being seen again;
	// default 2160h (90 days).
	Retention Duration `yaml:"retention"`
	// IPv4Prefix and IPv6Prefix are the network sizes first-seen network
	// compares; default 24 and 48.
	IPv4Prefix int `yaml:"ipv4_prefix"`
	IPv6Prefix int `yaml:"ipv6_prefix"`

	// What is the burst counted: failed-logins, spraying or access-denied.
	What string `yaml:"what"`
	// Threshold is how many in Window raise the alert (burst).
	Threshold int `yaml:"threshold"`
	// Window is the burst window.
	Window Duration `yaml:"window"`
	// ErrorCodes are the codes access-denied counts; default AccessDenied,
	// AccessDeniedException, UnauthorizedOperation,
	// Client.UnauthorizedOperation, UnauthorizedAccess.
	ErrorCodes []string `yaml:"error_codes"`

	// MaxSpeedKmh is the fastest believable travel (impossible-travel);
	// default 900.
	MaxSpeedKmh float64 `yaml:"max_speed_kmh"`
	// MinDistanceKm ignores pairs closer than this; default 100.
	MinDistanceKm float64 `yaml:"min_distance_km"`
}

// Duration is a time.Duration written as Go duration text ("5m", "168h"),
// also accepting whole days ("7d").
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// String returns the Go duration text.
func (d Duration) String() string { return time.Duration(d).String() }

func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok && n != "" {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 36500 {
			return 0, fmt.Errorf("invalid duration %q (want a whole number of days like 7d, or Go text like 168h)", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (want text like 5m, 168h or 7d)", s)
	}
	return v, nil
}

// ConfigError is one problem in a detector configuration. Line is the YAML
// line (1-based) when the configuration was decoded from YAML, else 0.
type ConfigError struct {
	Line int
	// Path locates the value, such as "detectors[2].threshold".
	Path string
	Msg  string

	path []any
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

var idPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ParseConfig decodes a YAML document holding "networks" and "detectors",
// strictly (unknown keys are errors), and validates it. Specs without a kind
// (patches of another config's detector) are allowed here; Merge and New
// check them. Every error is a *ConfigError with its line, joined.
func ParseConfig(src []byte) (*Config, error) {
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, yamlError(err)
	}
	var body ast.Node
	for _, d := range f.Docs {
		if d.Body != nil {
			body = d.Body
			break
		}
	}
	c := &Config{}
	if body == nil {
		return c, nil
	}
	if err := decode(body, c); err != nil {
		return nil, err
	}
	return c, locate(c.validate(true), func(p []any) ast.Node { return walk(body, p) })
}

// DecodeNodes decodes the values of the "networks" and "detectors" keys of a
// larger YAML file, such as a rule pack, for its loader. Either node may be
// nil. Errors are *ConfigError values carrying the file's line numbers.
func DecodeNodes(networks, detectors ast.Node) (*Config, error) {
	c := &Config{}
	if networks != nil {
		if err := decode(networks, &c.Networks); err != nil {
			return nil, err
		}
	}
	if detectors != nil {
		if err := decode(detectors, &c.Detectors); err != nil {
			return nil, err
		}
	}
	return c, locate(c.validate(true), func(p []any) ast.Node {
		switch {
		case len(p) > 0 && p[0] == "networks":
			return walk(networks, p[1:])
		case len(p) > 0 && p[0] == "detectors":
			return walk(detectors, p[1:])
		}
		return nil
	})
}

// decode decodes n into v strictly. Tags and anchors have no use in a
// detector configuration and are refused up front: they are where YAML
// decoders are weakest (the decoder in use panics on some tagged values).
// A panic that still escapes the decoder becomes an error.
func decode(n ast.Node, v any) (err error) {
	for _, typ := range []ast.NodeType{ast.TagType, ast.AnchorType, ast.AliasType} {
		if found := ast.Filter(typ, n); len(found) > 0 {
			return &ConfigError{Line: yamlnode.Line(found[0]), Msg: "YAML tags, anchors and aliases are not supported in detector configuration"}
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = &ConfigError{Line: yamlnode.Line(n), Msg: fmt.Sprintf("the YAML decoder failed on this configuration (%v); simplify it", r)}
		}
	}()
	if err := yaml.NodeToValue(n, v, yaml.Strict()); err != nil {
		return yamlError(err)
	}
	return nil
}

func yamlError(err error) error {
	if line, msg, ok := yamlnode.Error(err); ok {
		return &ConfigError{Line: line, Msg: msg}
	}
	return &ConfigError{Msg: err.Error()}
}

// locate fills in lines for errs by walking the YAML tree.
func locate(errs []*ConfigError, find func([]any) ast.Node) error {
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		// The deepest node that exists names the line.
		for p := e.path; ; p = p[:len(p)-1] {
			if n := find(p); n != nil {
				e.Line = yamlnode.Line(n)
				break
			}
			if len(p) == 0 {
				break
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// walk follows mapping keys (string) and list indexes (int) from n.
func walk(n ast.Node, path []any) ast.Node {
	for _, step := range path {
		for {
			switch t := n.(type) {
			case *ast.TagNode:
				n = t.Value
				continue
			case *ast.AnchorNode:
				n = t.Value
				continue
			}
			break
		}
		switch s := step.(type) {
		case string:
			var found ast.Node
			if m, ok := n.(*ast.MappingNode); ok {
				for _, kv := range m.Values {
					if kv.Key != nil && kv.Key.GetToken() != nil && kv.Key.GetToken().Value == s {
						found = kv.Value
					}
				}
			}
			if found == nil {
				return nil
			}
			n = found
		case int:
			seq, ok := n.(*ast.SequenceNode)
			if !ok || s < 0 || s >= len(seq.Values) {
				return nil
			}
			n = seq.Values[s]
		}
	}
	return n
}

// Validate checks a complete configuration (after Merge): every error, each
// naming the detector and field.
func (c *Config) Validate() error {
	errs := c.validate(false)
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return errors.Join(out...)
}

// validator collects errors with their paths.
type validator struct{ errs []*ConfigError }

func (v *validator) add(path []any, format string, args ...any) {
	var b strings.Builder
	for _, p := range path {
		switch s := p.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s)
		case int:
			fmt.Fprintf(&b, "[%d]", s)
		}
	}
	v.errs = append(v.errs, &ConfigError{Path: b.String(), Msg: fmt.Sprintf(format, args...), path: slices.Clone(path)})
}

// fieldKinds lists the kinds that use an optional field.
func fieldKinds(field string) []string {
	switch field {
	case "events":
		return []string{KindTrustedNetwork, KindFirstSeen, KindImpossibleTravel}
	case "failures":
		return []string{KindTrustedNetwork, KindFirstSeen}
	case "networks", "regions", "root_events":
		return []string{KindTrustedNetwork}
	case "attribute", "learning", "retention", "ipv4_prefix", "ipv6_prefix":
		return []string{KindFirstSeen}
	case "what", "threshold", "window", "error_codes":
		return []string{KindBurst}
	case "max_speed_kmh", "min_distance_km":
		return []string{KindImpossibleTravel}
	}
	return nil
}

// setFields returns the yaml names of the kind-specific fields s sets.
func (s *Spec) setFields() []string {
	var out []string
	add := func(name string, set bool) {
		if set {
			out = append(out, name)
		}
	}
	add("events", len(s.Events) > 0)
	add("failures", s.Failures)
	add("networks", len(s.Networks) > 0)
	add("regions", len(s.Regions) > 0)
	add("root_events", s.RootEvents != nil)
	add("attribute", s.Attribute != "")
	add("learning", s.Learning != 0)
	add("retention", s.Retention != 0)
	add("ipv4_prefix", s.IPv4Prefix != 0)
	add("ipv6_prefix", s.IPv6Prefix != 0)
	add("what", s.What != "")
	add("threshold", s.Threshold != 0)
	add("window", s.Window != 0)
	add("error_codes", len(s.ErrorCodes) > 0)
	add("max_speed_kmh", s.MaxSpeedKmh != 0)
	add("min_distance_km", s.MinDistanceKm != 0)
	return out
}

func (c *Config) validate(allowPatches bool) []*ConfigError {
	v := &validator{}
	for name, cidrs := range c.Networks {
		p := []any{"networks", name}
		if !idPattern.MatchString(name) {
			v.add(p, "network name %q is not lower-case kebab-case (like office or vpn-tokyo)", name)
		}
		if len(cidrs) == 0 {
			v.add(p, "network %q lists no CIDR blocks", name)
		}
		for i, s := range cidrs {
			if _, err := parsePrefix(s); err != nil {
				v.add(append(p, i), "network %q: %v", name, err)
			}
		}
	}
	seen := map[string]int{}
	for i := range c.Detectors {
		c.Detectors[i].validate(v, i, c.Networks, allowPatches)
		id := c.Detectors[i].ID
		if j, dup := seen[id]; dup && id != "" {
			v.add([]any{"detectors", i, "id"}, "detector %q is defined twice (detectors %d and %d)", id, j+1, i+1)
		}
		seen[id] = i
	}
	return v.errs
}

func (s *Spec) validate(v *validator, i int, networks map[string][]string, allowPatch bool) {
	at := func(field string) []any { return []any{"detectors", i, field} }
	who := fmt.Sprintf("detector #%d", i+1)
	switch {
	case s.ID == "":
		v.add([]any{"detectors", i}, "%s: missing id", who)
	case !idPattern.MatchString(s.ID):
		v.add(at("id"), "%s: id %q is not lower-case kebab-case (like signin-new-network)", who, s.ID)
	default:
		who = fmt.Sprintf("detector %q", s.ID)
	}
	if s.Severity != "" {
		if _, err := event.ParseSeverity(s.Severity); err != nil {
			v.add(at("severity"), "%s: severity %q is not one of info, low, medium, high, critical", who, s.Severity)
		}
	}
	for _, loc := range slices.Sorted(maps.Keys(s.Locales)) {
		if !slices.Contains(Locales, loc) {
			v.add([]any{"detectors", i, "locales", loc}, "%s: locale %q is not one of %s (the detector's own title is English)", who, loc, strings.Join(Locales, ", "))
		}
	}
	switch s.Kind {
	case KindTrustedNetwork, KindFirstSeen, KindBurst, KindImpossibleTravel:
	case "":
		if !allowPatch {
			v.add([]any{"detectors", i}, "%s: missing kind (trusted-network, first-seen, burst or impossible-travel)", who)
		}
		return
	default:
		v.add(at("kind"), "%s: unknown kind %q (want trusted-network, first-seen, burst or impossible-travel)", who, s.Kind)
		return
	}
	for _, f := range s.setFields() {
		if !slices.Contains(fieldKinds(f), s.Kind) {
			v.add(at(f), "%s: %s does not apply to kind %s", who, f, s.Kind)
		}
	}
	for j, name := range s.Events {
		if name == "" || strings.ContainsAny(name, " \t\n*") {
			v.add([]any{"detectors", i, "events", j}, "%s: event name %q is not a CloudTrail eventName", who, name)
		}
	}
	switch s.Kind {
	case KindTrustedNetwork:
		for j, n := range s.Networks {
			if _, ok := networks[n]; !ok && networks != nil {
				v.add([]any{"detectors", i, "networks", j}, "%s: network %q is not defined under networks", who, n)
			}
		}
		for j, r := range s.Regions {
			if !regionPattern.MatchString(r) {
				v.add([]any{"detectors", i, "regions", j}, "%s: %q is not an AWS region name (like us-east-1)", who, r)
			}
		}
	case KindFirstSeen:
		switch s.Attribute {
		case AttrNetwork, AttrCountry, AttrASN, AttrUserAgent:
		case "":
			v.add([]any{"detectors", i}, "%s: missing attribute (network, country, asn or user-agent)", who)
		default:
			v.add(at("attribute"), "%s: unknown attribute %q (want network, country, asn or user-agent)", who, s.Attribute)
		}
		if s.Learning < 0 {
			v.add(at("learning"), "%s: learning must not be negative", who)
		}
		if s.Retention < 0 || (s.Retention > 0 && s.Retention < Duration(time.Hour)) {
			v.add(at("retention"), "%s: retention must be at least 1h, got %s", who, s.Retention)
		}
		if s.IPv4Prefix != 0 && (s.IPv4Prefix < 8 || s.IPv4Prefix > 32) {
			v.add(at("ipv4_prefix"), "%s: ipv4_prefix must be between 8 and 32, got %d", who, s.IPv4Prefix)
		}
		if s.IPv6Prefix != 0 && (s.IPv6Prefix < 16 || s.IPv6Prefix > 128) {
			v.add(at("ipv6_prefix"), "%s: ipv6_prefix must be between 16 and 128, got %d", who, s.IPv6Prefix)
		}
		if (s.IPv4Prefix != 0 || s.IPv6Prefix != 0) && s.Attribute != AttrNetwork {
			v.add(at("attribute"), "%s: ipv4_prefix and ipv6_prefix apply only to attribute network", who)
		}
	case KindBurst:
		switch s.What {
		case BurstFailedLogins, BurstSpraying, BurstAccessDenied:
		case "":
			v.add([]any{"detectors", i}, "%s: missing what (failed-logins, spraying or access-denied)", who)
		default:
			v.add(at("what"), "%s: unknown what %q (want failed-logins, spraying or access-denied)", who, s.What)
		}
		if s.Threshold < 2 || s.Threshold > 10000 {
			v.add(at("threshold"), "%s: threshold must be between 2 and 10000, got %d", who, s.Threshold)
		}
		if s.Window < Duration(time.Second) || s.Window > Duration(24*time.Hour) {
			v.add(at("window"), "%s: window must be between 1s and 24h, got %s", who, s.Window)
		}
		if len(s.ErrorCodes) > 0 && s.What != BurstAccessDenied {
			v.add(at("error_codes"), "%s: error_codes apply only to what access-denied", who)
		}
	case KindImpossibleTravel:
		if s.MaxSpeedKmh < 0 || (s.MaxSpeedKmh > 0 && s.MaxSpeedKmh < 100) || s.MaxSpeedKmh > 100000 {
			v.add(at("max_speed_kmh"), "%s: max_speed_kmh must be between 100 and 100000, got %g", who, s.MaxSpeedKmh)
		}
		if s.MinDistanceKm < 0 || s.MinDistanceKm > 5000 {
			v.add(at("min_distance_km"), "%s: min_distance_km must be between 0 and 5000, got %g", who, s.MinDistanceKm)
		}
	}
}

var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// parsePrefix reads a CIDR block, or a single address as a /32 or /128.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR block (like 203.0.113.0/24 or 2001:db8::/32)", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR block or IP address", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Merge layers configs: later networks are added (a name defined twice is
// an error), a later detector with the id of an earlier one replaces it,
// and a later spec without a kind patches the earlier spec's set fields
// (for example only "enabled: false" or "threshold: 10"). The result is
// validated.
func Merge(cfgs ...*Config) (*Config, error) {
	out := &Config{Networks: map[string][]string{}}
	index := map[string]int{}
	var errs []error
	for _, c := range cfgs {
		if c == nil {
			continue
		}
		for name, cidrs := range c.Networks {
			if _, dup := out.Networks[name]; dup {
				errs = append(errs, fmt.Errorf("network %q is defined more than once", name))
				continue
			}
			out.Networks[name] = slices.Clone(cidrs)
		}
		for _, s := range c.Detectors {
			j, ok := index[s.ID]
			switch {
			case ok && s.Kind == "":
				out.Detectors[j] = patch(out.Detectors[j], s)
			case ok:
				out.Detectors[j] = s
			case s.Kind == "":
				errs = append(errs, fmt.Errorf("detector %q: no kind, and no earlier detector with this id to change", s.ID))
			default:
				index[s.ID] = len(out.Detectors)
				out.Detectors = append(out.Detectors, s)
			}
		}
	}
	if err := out.Validate(); err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// patch copies the fields o sets over b.
func patch(b, o Spec) Spec {
	setS := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	setL := func(dst *[]string, v []string) {
		if v != nil {
			*dst = v
		}
	}
	setS(&b.Title, o.Title)
	setS(&b.Description, o.Description)
	setS(&b.Severity, o.Severity)
	setS(&b.Attribute, o.Attribute)
	setS(&b.What, o.What)
	setL(&b.Tags, o.Tags)
	setL(&b.Events, o.Events)
	setL(&b.Networks, o.Networks)
	setL(&b.Regions, o.Regions)
	setL(&b.ErrorCodes, o.ErrorCodes)
	if o.Enabled != nil {
		b.Enabled = o.Enabled
	}
	if len(o.Locales) > 0 {
		merged := maps.Clone(b.Locales)
		if merged == nil {
			merged = map[string]LocalText{}
		}
		for loc, t := range o.Locales {
			cur := merged[loc]
			setS(&cur.Title, t.Title)
			setS(&cur.Description, t.Description)
			merged[loc] = cur
		}
		b.Locales = merged
	}
	if o.RootEvents != nil {
		b.RootEvents = o.RootEvents
	}
	if o.Failures {
		b.Failures = true
	}
	if o.Learning != 0 {
		b.Learning = o.Learning
	}
	if o.Retention != 0 {
		b.Retention = o.Retention
	}
	if o.Window != 0 {
		b.Window = o.Window
	}
	if o.IPv4Prefix != 0 {
		b.IPv4Prefix = o.IPv4Prefix
	}
	if o.IPv6Prefix != 0 {
		b.IPv6Prefix = o.IPv6Prefix
	}
	if o.Threshold != 0 {
		b.Threshold = o.Threshold
	}
	if o.MaxSpeedKmh != 0 {
		b.MaxSpeedKmh = o.MaxSpeedKmh
	}
	if o.MinDistanceKm != 0 {
		b.MinDistanceKm = o.MinDistanceKm
	}
	return b
}
