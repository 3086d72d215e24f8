package rule_test

import (
	"testing"

	"github.com/trailwatch/trailwatch/internal/rule"
	"github.com/trailwatch/trailwatch/rules"
)

// BenchmarkLoadBuiltin loads the built-in packs as each command does:
//
//   - run: the default packs without their tests, as check, render and the
//     Lambda function load them (rule.Selection's SkipBuiltinTests);
//   - with-tests: the default packs with their tests, as every command
//     loaded them before;
//   - test: every pack with its tests, as `trailwatch test` does.
//
// cpu-ms/op is the process's CPU time per load, garbage collection
// included; with GOMAXPROCS above 1 the packs are parsed in parallel, so it
// exceeds the wall time.
//
//	go test -run '^$' -bench LoadBuiltin -benchmem ./internal/rule
func BenchmarkLoadBuiltin(b *testing.B) {
	for _, bc := range []struct {
		name string
		sel  rule.Selection
	}{
		{"run", rule.Selection{Builtin: rules.FS, SkipBuiltinTests: true}},
		{"with-tests", rule.Selection{Builtin: rules.FS}},
		{"test", rule.Selection{Builtin: rules.FS, Packs: []string{rule.PacksAll}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime(b)
			for b.Loop() {
				if _, err := rule.Load(bc.sel); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
