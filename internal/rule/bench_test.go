package rule_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
	"github.com/trailwatch/trailwatch/internal/rule"
	"github.com/trailwatch/trailwatch/rules"
)

// BenchmarkMatchBuiltin matches pre-parsed Invictus events against every
// built-in pack: the rule engine's share of the end-to-end cost.
func BenchmarkMatchBuiltin(b *testing.B) {
	rs, err := rule.Load(rule.Selection{Builtin: rules.FS, Packs: []string{rule.PacksAll}})
	if err != nil {
		b.Fatal(err)
	}
	set, err := rule.NewSet(rs...)
	if err != nil {
		b.Fatal(err)
	}
	benchMatch(b, set, parsedInvictus(b))
}

// BenchmarkMatchDefault is BenchmarkMatchBuiltin with the packs that run
// by default.
func BenchmarkMatchDefault(b *testing.B) {
	rs, err := rule.Load(rule.Selection{Builtin: rules.FS})
	if err != nil {
		b.Fatal(err)
	}
	set, err := rule.NewSet(rs...)
	if err != nil {
		b.Fatal(err)
	}
	benchMatch(b, set, parsedInvictus(b))
}

var (
	parsedOnce sync.Once
	parsed     []*event.Event
)

func parsedInvictus(b *testing.B) []*event.Event {
	parsedOnce.Do(func() {
		for i, r := range ingesttest.InvictusRecords(b) {
			ev, err := event.Parse(r, event.Origin{Input: "invictus", Index: i})
			if err != nil {
				b.Fatal(err)
			}
			parsed = append(parsed, ev)
		}
	})
	return parsed
}

func benchMatch(b *testing.B, set *rule.Set, evs []*event.Event) {
	ctx := context.Background()
	yield := func(*rule.Rule, string) bool { return true }
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime(b)
	for b.Loop() {
		for _, ev := range evs {
			if err := set.Match(ctx, ev, yield); err != nil {
				b.Fatal(err)
			}
		}
	}
	used := cpuTime(b) - cpu
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
	b.ReportMetric(float64(used.Nanoseconds())/float64(b.N)/float64(len(evs)), "cpu-ns/event")
}

// cpuTime returns the CPU time the process has used (user and system, all
// threads, garbage collector included). On a shared machine it shows what
// one core does when wall-clock figures are inflated by other processes.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// unpinnedRules is how many generated rules match on something other than
// the event name, in every generated set.
const unpinnedRules = 5

// generatedRules writes n rules: unpinnedRules rules that do not pin the
// event name (root activity, access denied, ...), and the rest pinned each
// to one event name, cycling through pattern, filter and jq. The names come
// from a pool of 1,000: every name in the Invictus logs and made-up ones, as
// a large rule set covers many more APIs than one log file uses.
func generatedRules(tb testing.TB, n int, names []string, langs int) string {
	tb.Helper()
	pool := slices.Clone(names)
	for i := 0; len(pool) < 1000; i++ {
		pool = append(pool, fmt.Sprintf("Synthetic%04dCall", i))
	}
	var b strings.Builder
	b.WriteString("rules:\n")
	unpinned := []string{
		`filter: '{ $.userIdentity.type = Root && $.eventType != AwsServiceEvent }'`,
		`pattern: {errorCode: [{prefix: AccessDenied}, {suffix: UnauthorizedOperation}]}`,
		`pattern: {userAgent: [{wildcard: "*stratus-red-team*"}], readOnly: [false]}`,
		`filter: '{ $.sourceIPAddress = "203.0.113.*" }'`,
		`pattern: {userIdentity: {type: [IAMUser]}, additionalEventData: {MFAUsed: ["No"]}}`,
	}
	for i := range n {
		fmt.Fprintf(&b, "  - id: gen-%04d\n    title: Generated %d\n    severity: low\n", i, i)
		if i < unpinnedRules && i < n {
			fmt.Fprintf(&b, "    %s\n", unpinned[i])
			continue
		}
		name := pool[(i*7)%len(pool)]
		switch i % langs {
		case 0:
			fmt.Fprintf(&b, "    pattern: {eventName: [%s], userIdentity: {type: [Root, IAMUser]}}\n", name)
		case 1:
			fmt.Fprintf(&b, "    filter: '{ ($.eventName = %s) && ($.errorCode NOT EXISTS) }'\n", name)
		case 2:
			fmt.Fprintf(&b, "    jq: 'select(.eventName == \"%s\" and .readOnly == false) | .userIdentity.arn'\n", name)
		}
	}
	return b.String()
}

func generatedSet(b *testing.B, n int, evs []*event.Event, langs int) *rule.Set {
	var names []string
	for _, ev := range evs {
		if !slices.Contains(names, ev.Name()) {
			names = append(names, ev.Name())
		}
	}
	rs, err := rule.LoadFS(fstest.MapFS{"gen.yaml": {Data: []byte(generatedRules(b, n, names, langs))}}, ".")
	if err != nil {
		b.Fatal(err)
	}
	if len(rs) != n {
		b.Fatalf("%d rules; want %d", len(rs), n)
	}
	set, err := rule.NewSet(rs...)
	if err != nil {
		b.Fatal(err)
	}
	return set
}

// BenchmarkScaling matches the Invictus events against generated sets of
// 10, 100 and 1,000 rules: pinned rules written as patterns and filters
// only, and with every third rule in jq.
func BenchmarkScaling(b *testing.B) {
	evs := parsedInvictus(b)
	for _, mix := range []struct {
		name  string
		langs int
	}{{"pattern+filter", 2}, {"pattern+filter+jq", 3}} {
		for _, n := range []int{10, 100, 1000} {
			b.Run(fmt.Sprintf("%s/rules=%d", mix.name, n), func(b *testing.B) {
				benchMatch(b, generatedSet(b, n, evs, mix.langs), evs)
			})
		}
	}
}
