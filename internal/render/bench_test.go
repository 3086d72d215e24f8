package render

import "testing"

// BenchmarkRender renders the root console sign-in and the 300-alert burst
// (5 shown) for every kind.
func BenchmarkRender(b *testing.B) {
	r := newTestRenderer(b, "ja")
	for _, c := range goldenCases() {
		if c.name != "root-console-login" && c.name != "burst" {
			continue
		}
		g := c.group(b)
		for _, kind := range Kinds() {
			b.Run(c.name+"/"+kind, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := r.Render(kind, "ops", g); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
