package config

import (
	"strconv"

	"github.com/goccy/go-yaml/ast"
)

// Rate paces one receiver: at most PerSecond messages a second on average,
// and Burst at once after a quiet spell. A receiver without one is paced at
// its kind's default (docs/receivers.md lists them).
//
//	rate: {per_second: 0.5, burst: 2}
type Rate struct {
	// PerSecond may be a fraction (0.5 is one message every two seconds).
	PerSecond float64 `yaml:"per_second"`
	// Burst is at least 1; zero (unset) means 1.
	Burst int `yaml:"burst,omitempty"`
}

// Bounds of a configured rate.
const (
	maxPerSecond = 10000
	maxBurst     = 10000
)

// rate reads a receiver's rate mapping.
func (d *decoder) rate(n ast.Node, path string) *Rate {
	r := &Rate{}
	d.mapping(n, path, func(k string, v ast.Node) bool {
		p := joinPath(path, k)
		switch k {
		case "per_second":
			r.PerSecond = d.number(v, p)
		case "burst":
			r.Burst = d.integer(v, p)
		default:
			return false
		}
		return true
	})
	return r
}

// number reads a whole or decimal number.
func (d *decoder) number(n ast.Node, path string) float64 {
	n = d.resolve(n)
	switch n.(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		f, err := strconv.ParseFloat(n.GetToken().Value, 64)
		if err == nil {
			return f
		}
		d.fail(n, path, "number %s is out of range", n.GetToken().Value)
		return 0
	}
	d.fail(n, path, "expected a number, found %s", kindOf(n))
	return 0
}

// validateRate checks a receiver's rate; p is its path (receivers[0].rate).
func (v *checker) validateRate(p string, r *Rate) {
	if r == nil {
		return
	}
	if !(r.PerSecond > 0 && r.PerSecond <= maxPerSecond) {
		v.failAt(joinPath(p, "per_second"), "%s is not a rate (want a number of messages a second above 0 and at most %d, such as 1 or 0.5)",
			strconv.FormatFloat(r.PerSecond, 'g', -1, 64), maxPerSecond)
	}
	if r.Burst < 0 || r.Burst > maxBurst {
		v.failAt(joinPath(p, "burst"), "%d is not a burst (want a whole number from 1 to %d)", r.Burst, maxBurst)
	}
}
