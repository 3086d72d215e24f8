package pin

import (
	"fmt"
	"testing"
)

func TestAndOr(t *testing.T) {
	name := Pin{Path: []string{"eventName"}, Values: []string{"CreateUser"}}
	names := Pin{Path: []string{"eventName"}, Values: []string{"Delete"}, Prefix: true}
	src := Pin{Path: []string{"eventSource"}, Values: []string{"iam.amazonaws.com"}}
	for _, tc := range []struct {
		name string
		got  []Pin
		want string
	}{
		// "and" keeps one pin per field, the stronger one.
		{"and", And([]Pin{names}, []Pin{name, src}), "[{[eventName] [CreateUser] false false} {[eventSource] [iam.amazonaws.com] false false}]"},
		{"and keeps the first of equals", And([]Pin{src}, []Pin{{Path: src.Path, Values: []string{"sts.amazonaws.com"}}}), "[{[eventSource] [iam.amazonaws.com] false false}]"},
		// "or" keeps only the fields both pin, every value, as the weaker kind says them.
		{"or", Or([]Pin{name, src}, []Pin{names}), "[{[eventName] [CreateUser Delete] true false}]"},
		{"or of disjoint fields", Or([]Pin{name}, []Pin{src}), "[]"},
	} {
		if got := fmt.Sprint(tc.got); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	if k := (Pin{Substring: true, Prefix: true}).Kind(); k != Contains {
		t.Errorf("substring and prefix: kind %d", k)
	}
	if p := (Pin{}).WithKind(BeginsWith); !p.Prefix || p.Substring {
		t.Errorf("WithKind(BeginsWith) = %+v", p)
	}
}
