package finding_test

import (
	"context"
	"testing"

	"github.com/trailwatch/trailwatch/internal/finding"
)

// BenchmarkAlerts measures turning one documented finding event into its
// alert: reading the finding, copying its record, building the summaries.
func BenchmarkAlerts(b *testing.B) {
	for _, name := range []string{"guardduty-iam.json", "securityhub-cis-1.13.json"} {
		ev := readFile(b, name)[0]
		s := finding.New(finding.Options{})
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(ev.Raw())))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Alerts(context.Background(), ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
