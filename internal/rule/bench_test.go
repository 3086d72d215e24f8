package rule_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
	"github.com/trailwatch/trailwatch/internal/rule"
	"github.com/trailwatch/trailwatch/internal/rule/filter"
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

// ruleMix says what a generated rule set holds.
type ruleMix struct {
	// unnamedEvery makes every n-th rule name no event (matching on a user
	// name, an address prefix, a user agent, an event source or an error
	// code instead); 0 makes every rule name its event.
	unnamedEvery int
	// firing makes the named rules hold on the events they name, and names
	// only events of the corpus; otherwise no rule fires.
	firing bool
	// langs are the languages the rules cycle through.
	langs []string
	// classic writes the jq rules with == alone (select(.a == "x" and
	// ...)), as the first release could answer without gojq, instead of
	// IN, test, startswith and contains.
	classic bool
}

// neverConds and firingConds are the second condition of a named rule, in
// each language: the first never holds on the Invictus events (no root
// principal, no such error code or user agent there), the second holds on
// almost every event.
var (
	neverConds = map[string][]string{
		"pattern": {`userIdentity: {type: [Root]}`, `errorCode: [Gen{i}Exception]`, `userAgent: [{wildcard: "*gen-tool-{i}*"}]`},
		"filter":  {`($.userIdentity.type = "Root")`, `($.errorCode = "Gen{i}Exception")`, `($.userAgent = "*gen-tool-{i}*")`},
		"jq": {
			`select(.eventName == "{name}" and .userIdentity.type == "Root") | .userIdentity.arn`,
			`.eventName == "{name}" and .errorCode == "Gen{i}Exception"`,
			`select(.eventName | IN("{name}", "Other{i}Call")) | select(.userAgent | contains("gen-tool-{i}")) | "\(.eventName) by \(.userIdentity.arn)"`,
			`select(.eventName == "{name}") | select(.sourceIPAddress | test("^198\\.18\\.{i}\\."))`,
		},
		"sigma": {`userIdentity.type: Root`, `errorCode: Gen{i}Exception`, `userAgent|contains: gen-tool-{i}`},
	}
	firingConds = map[string][]string{
		"pattern": {`userIdentity: {type: [{anything-but: Root}]}`},
		"filter":  {`($.userIdentity.type != "Root")`},
		"jq": {
			`select(.eventName == "{name}" and .userIdentity.type != "Root") | .userIdentity.arn`,
			`select(.eventName == "{name}") | select(.userAgent | contains("gen-tool-{i}") | not) | "\(.eventName) by \(.userIdentity.arn)"`,
		},
		"sigma": {`userIdentity.type: IAMUser`},
	}
	// classicJQ are the jq conditions of a classic mix: never, firing and
	// unnamed.
	classicJQ = [][]string{
		{
			`select(.eventName == "{name}" and .userIdentity.type == "Root") | .userIdentity.arn`,
			`.eventName == "{name}" and .errorCode == "Gen{i}Exception"`,
			`select(.eventName == "{name}" and .userAgent == "gen-tool-{i}") | "\(.eventName) by \(.userIdentity.arn)"`,
		},
		{`select(.eventName == "{name}" and .readOnly == null) | .userIdentity.arn`},
		{
			`jq: 'select(.userIdentity.userName == "gen-user-{i}") | .eventName'`,
			`jq: 'select(.sourceIPAddress == "198.18.{i}.1") | "\(.eventName) from \(.sourceIPAddress)"'`,
			`jq: '.userAgent == "gen-tool-{i}"'`,
			`jq: 'select(.eventSource == "gen{i}.amazonaws.com" and .userIdentity.type == "Root")'`,
			`jq: '.errorCode == "Gen{i}Exception"'`,
		},
	}
	// unnamed are the rules that name no event, by kind: a user name, an
	// address prefix, a user-agent fragment, an event source with a
	// principal type, an error code. None fires on the Invictus events.
	unnamed = map[string][]string{
		"pattern": {
			`pattern: {userIdentity: {userName: [gen-user-{i}]}}`,
			`pattern: {sourceIPAddress: [{prefix: "198.18.{i}."}]}`,
			`pattern: {userAgent: [{wildcard: "*gen-tool-{i}*"}]}`,
			`pattern: {eventSource: [gen{i}.amazonaws.com], userIdentity: {type: [Root]}}`,
			`pattern: {errorCode: [Gen{i}Exception]}`,
		},
		"filter": {
			`filter: '{ $.userIdentity.userName = "gen-user-{i}" }'`,
			`filter: '{ $.sourceIPAddress = "198.18.{i}.*" }'`,
			`filter: '{ $.userAgent = "*gen-tool-{i}*" }'`,
			`filter: '{ ($.eventSource = "gen{i}.amazonaws.com") && ($.userIdentity.type = "Root") }'`,
			`filter: '{ $.errorCode = "Gen{i}Exception" }'`,
		},
		"jq": {
			`jq: 'select(.userIdentity.userName == "gen-user-{i}") | .eventName'`,
			`jq: 'select(.sourceIPAddress | startswith("198.18.{i}.")) | "\(.eventName) from \(.sourceIPAddress)"'`,
			`jq: '.userAgent | contains("gen-tool-{i}")'`,
			`jq: 'select(.eventSource == "gen{i}.amazonaws.com" and .userIdentity.type == "Root")'`,
			`jq: '.errorCode == "Gen{i}Exception"'`,
		},
		"sigma": {
			`sigma: {title: s, logsource: {product: aws, service: cloudtrail}, detection: {sel: {userIdentity.userName: gen-user-{i}}, condition: sel}}`,
			`sigma: {title: s, logsource: {product: aws, service: cloudtrail}, detection: {sel: {sourceIPAddress|startswith: "198.18.{i}."}, condition: sel}}`,
			`sigma: {title: s, logsource: {product: aws, service: cloudtrail}, detection: {sel: {userAgent|contains: gen-tool-{i}}, condition: sel}}`,
			`sigma: {title: s, logsource: {product: aws, service: cloudtrail}, detection: {sel: {eventSource: gen{i}.amazonaws.com, userIdentity.type: Root}, condition: sel}}`,
			`sigma: {title: s, logsource: {product: aws, service: cloudtrail}, detection: {sel: {errorCode: Gen{i}Exception}, condition: sel}}`,
		},
	}
)

// mixedRules writes n rules of the mix. Named rules take their event name
// from a pool: the names of the corpus, and for quiet sets made-up ones up
// to 1,000, as a large rule set covers many more APIs than one log file
// uses. Every rule carries a summary, rendered for each alert.
func mixedRules(n int, names []string, mix ruleMix) string {
	pool := slices.Clone(names)
	for i := 0; !mix.firing && len(pool) < 1000; i++ {
		pool = append(pool, fmt.Sprintf("Synthetic%04dCall", i))
	}
	var b strings.Builder
	b.WriteString("rules:\n")
	for i := range n {
		lang := mix.langs[i%len(mix.langs)]
		fmt.Fprintf(&b, "  - id: gen-%04d\n", i)
		if lang != "sigma" {
			fmt.Fprintf(&b, "    title: Generated %d\n    severity: low\n    summary: '{{.Principal}} called {{.Name}} from {{.SourceIP}}'\n", i)
		}
		if mix.unnamedEvery > 0 && i%mix.unnamedEvery == mix.unnamedEvery-1 {
			kinds := unnamed[lang]
			if mix.classic && lang == "jq" {
				kinds = classicJQ[2]
			}
			fmt.Fprintf(&b, "    %s\n", fill(kinds[(i/mix.unnamedEvery)%len(kinds)], i, ""))
			continue
		}
		name := pool[(i*7)%len(pool)]
		conds := neverConds[lang]
		if mix.firing {
			conds = firingConds[lang]
		}
		if mix.classic && lang == "jq" {
			conds = classicJQ[0]
			if mix.firing {
				conds = classicJQ[1]
			}
		}
		cond := fill(conds[(i/len(mix.langs))%len(conds)], i, name)
		switch lang {
		case "pattern":
			fmt.Fprintf(&b, "    pattern: {eventName: [%s], %s}\n", name, cond)
		case "filter":
			fmt.Fprintf(&b, "    filter: '{ ($.eventName = %s) && %s }'\n", name, cond)
		case "jq":
			fmt.Fprintf(&b, "    jq: '%s'\n", strings.ReplaceAll(cond, "'", "''"))
		case "sigma":
			fmt.Fprintf(&b, "    sigma: {title: s, logsource: {product: aws, service: cloudtrail}, detection: {sel: {eventName: %s, %s}, condition: sel}}\n", name, cond)
		}
	}
	return b.String()
}

// fill writes i and name into a rule template.
func fill(tmpl string, i int, name string) string {
	return strings.NewReplacer("{i}", strconv.Itoa(i), "{name}", name).Replace(tmpl)
}

func corpusNames(evs []*event.Event) []string {
	var names []string
	for _, ev := range evs {
		if !slices.Contains(names, ev.Name()) {
			names = append(names, ev.Name())
		}
	}
	return names
}

func mixedSet(b *testing.B, n int, names []string, mix ruleMix) *rule.Set {
	rs, err := rule.LoadFS(fstest.MapFS{"gen.yaml": {Data: []byte(mixedRules(n, names, mix))}}, ".")
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

var (
	invictusGzipOnce sync.Once
	invictusGzip     []byte
)

// invictusLog returns the Invictus records as one gzipped log file.
func invictusLog(b *testing.B) ([]byte, int) {
	n := len(ingesttest.InvictusRecords(b))
	invictusGzipOnce.Do(func() {
		var buf bytes.Buffer
		ingesttest.WriteReplicaLog(b, &buf, n, gzip.DefaultCompression)
		invictusGzip = buf.Bytes()
	})
	return invictusGzip, n
}

// BenchmarkRuleCount compares generated sets of 10 and 1,000 rules, each
// mixing patterns, filters and jq queries (and Sigma rules in "sigma"):
//
//   - quiet: no rule fires, and every tenth rule names no event (a user
//     name, an address prefix, a user-agent fragment, an event source, an
//     error code);
//   - named: no rule fires, and every rule names its event;
//   - firing: the named rules fire on the events they name, so alerts grow
//     with the rules;
//   - classic: quiet, with the jq rules written with == alone.
//
// "match" matches the parsed events (Set.Match, no alert made); "check"
// is what `trailwatch check` does short of printing: gunzip and decode the
// log file, and make each alert with its summaries (Set.Each).
func BenchmarkRuleCount(b *testing.B) {
	evs := parsedInvictus(b)
	names := corpusNames(evs)
	pfj := []string{"pattern", "filter", "jq"}
	for _, m := range []struct {
		name string
		mix  ruleMix
	}{
		{"quiet", ruleMix{unnamedEvery: 10, langs: pfj}},
		{"classic", ruleMix{unnamedEvery: 10, langs: pfj, classic: true}},
		{"named", ruleMix{langs: pfj}},
		{"firing", ruleMix{unnamedEvery: 10, firing: true, langs: pfj}},
		{"sigma", ruleMix{unnamedEvery: 10, langs: append(pfj, "sigma")}},
	} {
		for _, n := range []int{10, 1000} {
			set := mixedSet(b, n, names, m.mix)
			b.Run(fmt.Sprintf("%s/rules=%d/match", m.name, n), func(b *testing.B) { benchMatch(b, set, evs) })
			b.Run(fmt.Sprintf("%s/rules=%d/check", m.name, n), func(b *testing.B) { benchCheck(b, set) })
		}
	}
}

// benchCheck decodes the gzipped Invictus log and makes every alert.
func benchCheck(b *testing.B, set *rule.Set) {
	log, n := invictusLog(b)
	ctx := context.Background()
	rd := ingest.New(ingest.Options{})
	alerts := 0
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime(b)
	for b.Loop() {
		alerts = 0
		for ev, err := range rd.Stream(ctx, "invictus.json.gz", bytes.NewReader(log)) {
			if err != nil {
				b.Fatal(err)
			}
			if err := set.Each(ctx, ev, func(a *event.Alert) bool {
				alerts++
				return true
			}); err != nil {
				b.Fatal(err)
			}
		}
	}
	used := cpuTime(b) - cpu
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(used.Nanoseconds())/float64(b.N)/float64(n), "cpu-ns/event")
	b.ReportMetric(float64(alerts)/float64(n), "alerts/event")
}

// cisJQ are the 14 CIS monitoring controls CloudWatch.1 to CloudWatch.14
// written as jq, the way cloudtrail-tattletail rules write them (select
// with ==, or, IN and test), in the order of filter.CISControls.
var cisJQ = []string{
	`select(.userIdentity.type == "Root" and .userIdentity.invokedBy == null and .eventType != "AwsServiceEvent")`,
	`select((.errorCode // "") | endswith("UnauthorizedOperation") or startswith("AccessDenied"))`,
	`select(.eventName == "ConsoleLogin" and .additionalEventData.MFAUsed != "Yes" and .userIdentity.type == "IAMUser" and .responseElements.ConsoleLogin == "Success")`,
	`select(.eventName | IN("DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy", "PutRolePolicy", "PutUserPolicy", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion", "AttachRolePolicy", "DetachRolePolicy", "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy"))`,
	`select(.eventName == "CreateTrail" or .eventName == "UpdateTrail" or .eventName == "DeleteTrail" or .eventName == "StartLogging" or .eventName == "StopLogging")`,
	`select(.eventName == "ConsoleLogin" and .errorMessage == "Failed authentication")`,
	`select(.eventSource == "kms.amazonaws.com" and (.eventName == "DisableKey" or .eventName == "ScheduleKeyDeletion"))`,
	`select(.eventSource == "s3.amazonaws.com" and (.eventName | IN("PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle", "PutBucketReplication", "DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle", "DeleteBucketReplication")))`,
	`select(.eventSource == "config.amazonaws.com" and (.eventName | test("^(StopConfigurationRecorder|DeleteDeliveryChannel|PutDeliveryChannel|PutConfigurationRecorder)$")))`,
	`select(.eventName | test("^(Authorize|Revoke)SecurityGroup(Ingress|Egress)$|^(Create|Delete)SecurityGroup$"))`,
	`select(.eventName | IN("CreateNetworkAcl", "CreateNetworkAclEntry", "DeleteNetworkAcl", "DeleteNetworkAclEntry", "ReplaceNetworkAclEntry", "ReplaceNetworkAclAssociation"))`,
	`select(.eventName == "CreateCustomerGateway" or .eventName == "DeleteCustomerGateway" or .eventName == "AttachInternetGateway" or .eventName == "CreateInternetGateway" or .eventName == "DeleteInternetGateway" or .eventName == "DetachInternetGateway")`,
	`select(.eventName | IN("CreateRoute", "CreateRouteTable", "ReplaceRoute", "ReplaceRouteTableAssociation", "DeleteRouteTable", "DeleteRoute", "DisassociateRouteTable"))`,
	`select(.eventName | test("^(CreateVpc|DeleteVpc|ModifyVpcAttribute|AcceptVpcPeeringConnection|CreateVpcPeeringConnection|DeleteVpcPeeringConnection|RejectVpcPeeringConnection|AttachClassicLinkVpc|DetachClassicLinkVpc|DisableVpcClassicLink|EnableVpcClassicLink)$"))`,
}

// cisJQEq are the CIS controls as jq written with == and or alone where
// they can be (CloudWatch.2 needs startswith and endswith), as the first
// release could pin them by event name.
var cisJQEq = func() []string {
	out := slices.Clone(cisJQ)
	for i, c := range filter.CISControls()[:len(cisJQ)] {
		names, ok := filter.MustCompile(c.Pattern).EventNames()
		if !ok || strings.Contains(cisJQ[i], "ConsoleLogin") {
			continue
		}
		var or []string
		for _, n := range names {
			or = append(or, fmt.Sprintf(".eventName == %q", n))
		}
		if src, _, found := strings.Cut(cisJQ[i], " and ("); found {
			out[i] = src + " and (" + strings.Join(or, " or ") + "))"
			continue
		}
		out[i] = "select(" + strings.Join(or, " or ") + ")"
	}
	return out
}()

// cisSets returns the 14 CIS controls as filter rules and as jq rules.
func cisSets(tb testing.TB, queries []string) (filters, jqs *rule.Set) {
	tb.Helper()
	var fs, js strings.Builder
	fs.WriteString("rules:\n")
	js.WriteString("rules:\n")
	for i, c := range filter.CISControls()[:len(queries)] {
		fmt.Fprintf(&fs, "  - id: cis-%d\n    title: %s\n    severity: low\n    filter: %s\n", i+1, strconv.Quote(c.ID), strconv.Quote(c.Pattern))
		fmt.Fprintf(&js, "  - id: cis-%d\n    title: %s\n    severity: low\n    jq: %s\n", i+1, strconv.Quote(c.ID), strconv.Quote(queries[i]))
	}
	set := func(src string) *rule.Set {
		rs, err := rule.LoadFS(fstest.MapFS{"cis.yaml": {Data: []byte(src)}}, ".")
		if err != nil {
			tb.Fatal(err)
		}
		s, err := rule.NewSet(rs...)
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
	return set(fs.String()), set(js.String())
}

// BenchmarkCISAsJQ matches the Invictus events against the 14 CIS controls
// written as CloudWatch Logs filters (as AWS publishes them) and as jq
// queries, with IN, test and or ("jq") and with == and or alone ("jq-eq");
// "match" matches parsed events, "check" decodes the gzipped log and makes
// the alerts.
func BenchmarkCISAsJQ(b *testing.B) {
	evs := parsedInvictus(b)
	filters, queries := cisSets(b, cisJQ)
	_, eqs := cisSets(b, cisJQEq)
	for _, c := range []struct {
		name string
		set  *rule.Set
	}{{"filter", filters}, {"jq", queries}, {"jq-eq", eqs}} {
		b.Run(c.name+"/match", func(b *testing.B) { benchMatch(b, c.set, evs) })
		b.Run(c.name+"/check", func(b *testing.B) { benchCheck(b, c.set) })
	}
}

// BenchmarkLoadMixed loads and compiles the 1,000 quiet mixed rules of
// BenchmarkRuleCount: the cost paid once per run, before the first event.
func BenchmarkLoadMixed(b *testing.B) {
	names := corpusNames(parsedInvictus(b))
	src := []byte(mixedRules(1000, names, ruleMix{unnamedEvery: 10, langs: []string{"pattern", "filter", "jq"}}))
	b.ReportAllocs()
	for b.Loop() {
		rs, err := rule.LoadFS(fstest.MapFS{"gen.yaml": {Data: src}}, ".")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rule.NewSet(rs...); err != nil {
			b.Fatal(err)
		}
	}
}
