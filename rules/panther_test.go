package rules

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/rule"
)

// pantherTests is Panther's labelled CloudTrail rule tests (one JSON object a
// line), gzipped; see testdata/README.md.
const pantherTests = "testdata/panther/panther-cloudtrail-tests.jsonl.gz"

// pantherRefPrefix marks a ref naming the Panther rule that detects the same
// thing as a built-in rule.
const pantherRefPrefix = "panther:"

// disagreement names one Panther test on which a built-in rule is known to
// decide differently from Panther.
type disagreement struct {
	rule string // built-in rule id
	test string // Panther test_name
}

// knownDisagreements lists every Panther test a built-in rule that names the
// Panther rule in its refs decides differently, and why. The test fails when
// a listed case agrees again, so the table cannot go stale.
var knownDisagreements = map[disagreement]string{
	{"login-profile-changed", "ChangeOwnPassword"}: "Panther's rule also requires the target user to differ " +
		"from the caller, a comparison of two fields that a stateless pattern cannot express",
}

// pantherCase is one line of the Panther test file.
type pantherCase struct {
	RuleID      string          `json:"rule_id"`
	TestName    string          `json:"test_name"`
	Expected    bool            `json:"expected"`
	Event       json.RawMessage `json:"event"`
	Mocks       json.RawMessage `json:"mocks"`
	Nonstandard bool            `json:"nonstandard_event_shape"`
}

// readPantherCases reads every Panther test, grouped by Panther rule id.
func readPantherCases(t *testing.T) map[string][]pantherCase {
	t.Helper()
	f, err := os.Open(pantherTests)
	if err != nil {
		t.Fatalf("opening %s: %v", pantherTests, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", pantherTests, err)
	}
	defer zr.Close()
	out := map[string][]pantherCase{}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		var c pantherCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s line %d: %v", pantherTests, line, err)
		}
		out[c.RuleID] = append(out[c.RuleID], c)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", pantherTests, err)
	}
	if line == 0 {
		t.Fatalf("%s holds no tests", pantherTests)
	}
	return out
}

// pantherRefs returns the Panther rule ids a rule's refs name.
func pantherRefs(r *rule.Rule) []string {
	var ids []string
	for _, ref := range r.Refs {
		if id, ok := strings.CutPrefix(ref, pantherRefPrefix); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// TestPantherAgreement checks every built-in rule that names a Panther rule
// against that rule's labelled tests: the built-in rule must decide as
// Panther does, or the case must be listed in knownDisagreements. Tests whose
// outcome depends on Panther's mocked helpers, or whose event is not plain
// CloudTrail, are skipped.
func TestPantherAgreement(t *testing.T) {
	ctx := context.Background()
	cases := readPantherCases(t)
	rules := loadAll(t)

	var agreed, disagreed, skipped, referenced int
	seen := map[disagreement]bool{}
	for _, r := range rules {
		set, err := rule.NewSet(r)
		if err != nil {
			t.Fatalf("%s: rule %q: %v", r.Where(), r.ID, err)
		}
		for _, pid := range pantherRefs(r) {
			referenced++
			tests, ok := cases[pid]
			if !ok {
				t.Errorf("%s: rule %q names %s%s, which has no tests in %s; fix the ref", r.Where(), r.ID, pantherRefPrefix, pid, pantherTests)
				continue
			}
			for _, c := range tests {
				if len(c.Mocks) > 0 || c.Nonstandard {
					skipped++
					continue
				}
				ev, err := event.Parse(c.Event, event.Origin{Input: pid + ": " + c.TestName})
				if err != nil {
					t.Errorf("Panther %s test %q: %v", pid, c.TestName, err)
					continue
				}
				fired, _, err := r.Match(ctx, ev)
				if err != nil {
					t.Errorf("rule %q on Panther %s test %q: %v", r.ID, pid, c.TestName, err)
					continue
				}
				// The set's event-name index must agree with the rule alone.
				var indexed bool
				if err := set.Match(ctx, ev, func(*rule.Rule, string) bool { indexed = true; return true }); err != nil {
					t.Errorf("rule %q on Panther %s test %q through a set: %v", r.ID, pid, c.TestName, err)
					continue
				}
				if indexed != fired {
					t.Errorf("rule %q on Panther %s test %q: fired=%v alone but %v through a set", r.ID, pid, c.TestName, fired, indexed)
				}
				key := disagreement{r.ID, c.TestName}
				reason, listed := knownDisagreements[key]
				if listed {
					seen[key] = true
				}
				switch {
				case fired == c.Expected && listed:
					t.Errorf("%s: rule %q now agrees with Panther %s on test %q (expected %v); remove it from knownDisagreements", r.Where(), r.ID, pid, c.TestName, c.Expected)
				case fired == c.Expected:
					agreed++
				case listed:
					disagreed++
					t.Logf("documented disagreement: rule %q, Panther %s test %q: Panther %v, trailwatch %v: %s", r.ID, pid, c.TestName, c.Expected, fired, reason)
				default:
					t.Errorf("%s: rule %q disagrees with Panther %s on test %q: Panther expects %v, the rule fired=%v; refine the rule or document the case in knownDisagreements", r.Where(), r.ID, pid, c.TestName, c.Expected, fired)
				}
			}
		}
	}
	for key := range knownDisagreements {
		if !seen[key] {
			t.Errorf("knownDisagreements lists rule %q test %q, but no built-in rule naming a Panther rule ran that test; remove the entry", key.rule, key.test)
		}
	}
	if referenced == 0 {
		t.Fatal("no built-in rule names a Panther rule")
	}
	t.Logf("%d Panther refs; %d tests agree, %d documented disagreements, %d skipped (mocks or non-standard events)", referenced, agreed, disagreed, skipped)
}

// TestKnownDisagreementsAreFew keeps the table honest: every entry has a
// reason, and the list stays small relative to the checked tests.
func TestKnownDisagreementsAreFew(t *testing.T) {
	keys := make([]disagreement, 0, len(knownDisagreements))
	for k, reason := range knownDisagreements {
		if strings.TrimSpace(reason) == "" {
			t.Errorf("knownDisagreements entry rule %q test %q has no reason", k.rule, k.test)
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b disagreement) int { return strings.Compare(a.rule+a.test, b.rule+b.test) })
	if len(keys) > 8 {
		t.Errorf("%d documented disagreements with Panther; refine the rules instead of growing the table", len(keys))
	}
}

// quietPacks are the packs that must stay quiet on the events Panther's
// tests label benign, so that they add no noise to a team's channel.
var quietPacks = []string{"storage", "network", "account", "threats"}

// knownBenignHits lists the benign-labelled Panther events (rule id, test
// name of one of its tests) a rule of quietPacks fires on, and why that is
// right. The test fails when one no longer fires, so the list stays exact.
var knownBenignHits = map[disagreement]string{
	{"s3-bucket-replication-changed", "AWS.S3.DeleteBucketReplication/Different S3 Event"}: "the event is a successful " +
		"PutBucketReplication, which Panther uses as the negative case of its replication-deletion rule; a new " +
		"replication destination is what the rule reports",
}

// TestQuietPacksOnBenignPanther runs the rules of quietPacks over every event
// that all of Panther's tests label benign (expected false).
func TestQuietPacksOnBenignPanther(t *testing.T) {
	ctx := context.Background()
	type benign struct {
		raw   json.RawMessage
		tests []string
		good  bool
	}
	byEvent := map[string]*benign{}
	var order []string
	for _, cases := range readPantherCases(t) {
		for _, c := range cases {
			var v any
			if err := json.Unmarshal(c.Event, &v); err != nil {
				t.Fatal(err)
			}
			key, _ := json.Marshal(v) // map keys sorted: one key per event
			b := byEvent[string(key)]
			if b == nil {
				b = &benign{raw: c.Event, good: true}
				byEvent[string(key)] = b
				order = append(order, string(key))
			}
			b.good = b.good && !c.Expected
			b.tests = append(b.tests, c.RuleID+"/"+c.TestName)
		}
	}
	rules, err := rule.Load(rule.Selection{Builtin: FS, Packs: quietPacks})
	if err != nil {
		t.Fatal(err)
	}
	set, err := rule.NewSet(rules...)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[disagreement]bool{}
	events := 0
	for _, key := range order {
		b := byEvent[key]
		if !b.good {
			continue
		}
		events++
		ev, err := event.Parse(b.raw, event.Origin{Input: b.tests[0]})
		if err != nil {
			continue // not one JSON object; the agreement test reports Panther's events
		}
		err = set.Match(ctx, ev, func(r *rule.Rule, _ string) bool {
			for _, name := range b.tests {
				if _, ok := knownBenignHits[disagreement{r.ID, name}]; ok {
					seen[disagreement{r.ID, name}] = true
					return true
				}
			}
			t.Errorf("%s: rule %q fires on an event Panther labels benign (%s); make it quieter or document why in knownBenignHits", r.Where(), r.ID, strings.Join(b.tests, ", "))
			return true
		})
		if err != nil {
			t.Error(err)
		}
	}
	for k := range knownBenignHits {
		if !seen[k] {
			t.Errorf("knownBenignHits lists rule %q on %q, which no longer fires; remove the entry", k.rule, k.test)
		}
	}
	if events < 200 {
		t.Fatalf("only %d benign events; the Panther corpus did not read as expected", events)
	}
	t.Logf("%d benign Panther events; the %s packs fire on %d, each documented", events, strings.Join(quietPacks, ", "), len(seen))
}
