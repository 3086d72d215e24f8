package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that no input makes Parse panic or hang, and that every
// failure is a located, one-line-per-problem error.
func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte("recievers: []\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("x-a: &a {receiver: x}\nroute:\n  <<: *a\n"))
	f.Add([]byte("route: {routes: [{routes: [{matchers: ['rule =~ (']}]}]}\n"))
	f.Add([]byte("\x00\xff---\n---\n"))
	f.Add([]byte("route: &r\n  receiver: a\n  routes: [*r]\n"))
	f.Add([]byte("state: &s\n  <<: *s\n"))
	examples, _ := filepath.Glob("../../examples/*.yaml")
	for _, e := range examples {
		if b, err := os.ReadFile(e); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data, Options{Now: func() time.Time { return testNow }})
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "f.yaml") {
					t.Fatalf("error line %q does not name the file", line)
				}
			}
			return
		}
		if c.Route == nil || c.Location == nil || len(c.Receivers) == 0 {
			t.Fatalf("accepted config is incomplete: %+v", c)
		}
		if _, err := c.Dump(); err != nil {
			t.Fatalf("Dump: %v", err)
		}
	})
}
