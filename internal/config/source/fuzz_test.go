package source

import (
	"strings"
	"testing"
)

// FuzzResolve: no reference makes Parse or Resolve panic, and a relative
// reference next to an S3 object stays in its bucket.
func FuzzResolve(f *testing.F) {
	for _, s := range [][2]string{
		{"s3://b/tw/trailwatch.yaml", "rules/*.yaml"},
		{"s3://b/trailwatch.yaml", "../../x"},
		{"ssm:/trailwatch/config", "rules/"},
		{"ssm:cfg", "/a/b"},
		{"trailwatch.yaml", "s3://x/"},
		{"conf/t.yaml", "../r/"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, base, ref string) {
		b, err := Parse(base)
		if err != nil {
			return
		}
		got, err := b.Resolve(ref)
		if err != nil {
			return
		}
		if b.Kind == S3 && got.Kind == S3 && !strings.Contains(ref, "://") && got.Bucket != b.Bucket {
			t.Fatalf("%q next to %q left the bucket: %s", ref, base, got)
		}
		if got.Kind == S3 && strings.HasPrefix(got.Path, "/") {
			t.Fatalf("%q next to %q gives a key starting with /: %s", ref, base, got)
		}
		if got.Kind == SSM && !strings.Contains(ref, "ssm:") && !strings.HasPrefix(got.Path, "/") {
			t.Fatalf("%q next to %q gives a relative parameter name: %s", ref, base, got)
		}
	})
}
