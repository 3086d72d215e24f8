package detect

import (
	"context"
	"net/netip"
	"slices"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

// trusted alerts on sign-ins (and any Root event) from outside the trusted
// networks or expected regions. It keeps no state.
type trusted struct {
	base
	events   []string
	failures bool
	root     bool
	prefixes []netip.Prefix
	netNames []string
	regions  []string
}

func (d *trusted) wants(o *obs) bool {
	if slices.Contains(d.events, o.name) {
		return d.failures || o.isSuccess()
	}
	return d.root && o.ev.Str("userIdentity", "type") == event.PrincipalRoot
}

func (d *trusted) observe(_ context.Context, o *obs, _ bool) (*event.Alert, error) {
	var reasons trustedNote
	ctx := map[string]string{}
	if a, ok := o.sourceAddr(); ok && len(d.prefixes) > 0 {
		inside := false
		for _, p := range d.prefixes {
			if p.Contains(a) {
				inside = true
				break
			}
		}
		if !inside {
			reasons.outside(a.String(), d.netNames)
			ctx["source_ip"] = a.String()
			ctx["network"] = networkOf(a, 24, 48).String()
			ctx["trusted_networks"] = strings.Join(d.netNames, ", ")
			if _, _, err := o.location(); err != nil {
				return nil, err
			}
			addLocation(ctx, o)
		}
	}
	if r := o.ev.Region(); len(d.regions) > 0 && r != "" && !slices.Contains(d.regions, r) {
		reasons.region(r, d.regions)
		ctx["region"] = r
		ctx["expected_regions"] = strings.Join(d.regions, ", ")
	}
	if len(reasons.en) == 0 {
		return nil, nil
	}
	return d.alert(o, reasons.note(), ctx), nil
}

// networkOf masks a to the given IPv4 or IPv6 prefix length.
func networkOf(a netip.Addr, v4, v6 int) netip.Prefix {
	bits := v6
	if a.Is4() {
		bits = v4
	}
	p, _ := a.Prefix(bits)
	return p
}
