package filter_test

import (
	"testing"

	"github.com/trailwatch/trailwatch/internal/rule/filter"
)

// BenchmarkMatch runs the CIS filters over the 1,259 real CloudTrail records
// of testdata/invictus: "all" matches every record against all fifteen
// controls (one op = one record x fifteen filters), the others one control
// per record.
func BenchmarkMatch(b *testing.B) {
	events := loadInvictus(b)
	controls := filter.CISControls()
	fs := make([]*filter.Filter, len(controls))
	for i, c := range controls {
		fs[i] = filter.MustCompile(c.Pattern)
	}
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		i, hits := 0, 0
		for b.Loop() {
			ev := events[i%len(events)]
			for _, f := range fs {
				if f.Match(ev) {
					hits++
				}
			}
			i++
		}
		if hits == 0 && b.N >= len(events) {
			b.Fatal("no record matched")
		}
	})
	for i, c := range controls {
		f := fs[i]
		b.Run(c.ID, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				f.Match(events[i%len(events)])
				i++
			}
		})
	}
}

// BenchmarkCompile compiles the fifteen CIS filters.
func BenchmarkCompile(b *testing.B) {
	controls := filter.CISControls()
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range controls {
			if _, err := filter.Compile(c.Pattern); err != nil {
				b.Fatal(err)
			}
		}
	}
}
