package jq

import (
	"context"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
)

// BenchmarkDecide measures tattletail's decision on a matching event for
// the three shapes of first output: the record itself (select form, the
// identity check), a string annotation, and a rebuilt copy of the record
// (compared field by field).
func BenchmarkDecide(b *testing.B) {
	ev := event.MustParse(createUser)
	for _, c := range []struct{ name, src string }{
		{"select", `select(.eventName == "CreateUser")`},
		{"annotation", `select(.eventName == "CreateUser") | "user \(.requestParameters.userName)"`},
		{"copy", `select(.eventName == "CreateUser") | . + {}`},
	} {
		q, err := Compile(c.src)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if m, _, err := q.MatchValue(context.Background(), NewValue(ev)); !m || err != nil {
					b.Fatal(m, err)
				}
			}
		})
	}
}
