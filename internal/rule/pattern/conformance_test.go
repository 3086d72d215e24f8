package pattern

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// conformanceCase is one line of testdata/conformance/*.jsonl: a pattern,
// an event (or none, for a compile-only case), and what the reference
// engine answered. See testdata/README.md for where the cases come from.
type conformanceCase struct {
	ID      string          `json:"id"`
	Origin  string          `json:"origin"`
	Pattern string          `json:"pattern"`
	Event   *string         `json:"event"`
	Expect  json.RawMessage `json:"expect"` // true, false, "valid" or "invalid"
	Legal   bool            `json:"legal"`
	Why     string          `json:"why"`
	file    string
	line    int
}

// want says what trailwatch must do with the case: refuse the pattern, or
// compile it and (when there is an event) answer match or no match.
func (c conformanceCase) want() (refuse bool, match bool, hasEvent bool, err error) {
	var v any
	if err := json.Unmarshal(c.Expect, &v); err != nil {
		return false, false, false, err
	}
	if !c.Legal && !c.dotted() {
		return true, false, false, nil
	}
	switch v := v.(type) {
	case bool:
		if c.Event == nil {
			return false, false, false, fmt.Errorf("expect %v without an event", v)
		}
		if c.dotted() && literalDiffers[c.ID] {
			return false, !v, true, nil
		}
		return false, v, true, nil
	case string:
		switch v {
		case "valid":
			return false, false, false, nil
		case "invalid":
			return true, false, false, nil
		}
	}
	return false, false, false, fmt.Errorf("unknown expect %s", c.Expect)
}

// dotted reports a case the corpus sets aside because Event Ruler joins
// nested keys with dots ("a.b" and a → b collide), which EventBridge does
// not: keys are literal. The pattern is legal EventBridge and must compile;
// its answer is the one literal keys give, which is Event Ruler's except
// for the cases in literalDiffers.
func (c conformanceCase) dotted() bool {
	return !c.Legal && strings.Contains(c.Why, "key with a dot")
}

// literalDiffers lists the dotted cases whose pattern names a key such as
// "properties.foo" that the event only has as nested objects
// ({"properties": {"foo": ...}}): Event Ruler matches by joining the keys,
// EventBridge's literal reading does not.
var literalDiffers = map[string]bool{
	"er-1072": true, "er-1074": true, "er-1077": true, "er-1078": true, "er-1080": true,
}

func loadConformance(t *testing.T) []conformanceCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "conformance", "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance files: %v", err)
	}
	var out []conformanceCase
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 4<<20)
		line := 0
		for sc.Scan() {
			line++
			var c conformanceCase
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				t.Fatalf("%s:%d: %v", name, line, err)
			}
			c.file, c.line = filepath.Base(name), line
			out = append(out, c)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestConformance runs every case recorded from event-ruler's and Quamina's
// test suites: each pattern EventBridge accepts must compile and give the
// reference engine's answer on its event, and each pattern EventBridge
// refuses (Quamina's shellstyle and regexp, event-ruler's own keywords,
// malformed patterns) must fail to compile with an *Error. The number of
// agreeing cases is printed with -v.
func TestConformance(t *testing.T) {
	cases := loadConformance(t)
	var (
		agree, legal, refused, dotted int
		failures                      []string
	)
	for _, c := range cases {
		refuse, match, hasEvent, err := c.want()
		if err != nil {
			t.Fatalf("%s:%d (%s): %v", c.file, c.line, c.ID, err)
		}
		p, cerr := compileGeneric(c.Pattern)
		where := fmt.Sprintf("%s (%s:%d, %s)", c.ID, c.file, c.line, c.Origin)
		if refuse {
			refused++
			if cerr == nil {
				failures = append(failures, fmt.Sprintf("%s: compiled, want refused (%s)\n  pattern: %s", where, c.Why, c.Pattern))
				continue
			}
			var pe *Error
			if !errors.As(cerr, &pe) || strings.TrimSpace(pe.Reason) == "" {
				failures = append(failures, fmt.Sprintf("%s: refused without a pattern.Error: %v", where, cerr))
				continue
			}
			agree++
			continue
		}
		if c.dotted() {
			dotted++
		} else {
			legal++
		}
		if cerr != nil {
			failures = append(failures, fmt.Sprintf("%s: refused a legal pattern: %v\n  pattern: %s", where, cerr, c.Pattern))
			continue
		}
		if !hasEvent {
			agree++
			continue
		}
		if got := matchDocument(t, p, *c.Event); got != match {
			failures = append(failures, fmt.Sprintf("%s: matched %v, want %v\n  pattern: %s\n  event: %s", where, got, match, c.Pattern, oneLine(*c.Event)))
			continue
		}
		agree++
	}
	t.Logf("conformance: %d of %d cases agree (%d legal, %d refused as EventBridge refuses them, %d with dotted keys read literally)", agree, len(cases), legal, refused, dotted)
	slices.Sort(failures)
	for i, f := range failures {
		if i == 40 {
			t.Errorf("... and %d more", len(failures)-40)
			break
		}
		t.Error(f)
	}
	if agree != len(cases) {
		t.Errorf("%d of %d conformance cases disagree", len(cases)-agree, len(cases))
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
