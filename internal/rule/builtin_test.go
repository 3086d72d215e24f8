package rule_test

import (
	"context"
	"testing"

	"github.com/trailwatch/trailwatch/internal/rule"
	"github.com/trailwatch/trailwatch/rules"
)

// TestBuiltinPacks loads every built-in pack and runs its tests.
func TestBuiltinPacks(t *testing.T) {
	rs, err := rule.Load(rule.Selection{Builtin: rules.FS, Packs: []string{rule.PacksAll}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) == 0 {
		t.Fatal("no built-in rules")
	}
	if _, err := rule.NewSet(rs...); err != nil {
		t.Fatal(err)
	}
	for _, res := range rule.RunTests(context.Background(), rs) {
		if !res.Passed() {
			t.Error(res.Failure())
		}
	}
}
