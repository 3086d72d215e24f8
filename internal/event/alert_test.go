package event

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

func readRecord(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withField returns the record with one top-level field replaced.
func withField(t *testing.T, rec []byte, path []string, v any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec, &m); err != nil {
		t.Fatal(err)
	}
	o := m
	for _, k := range path[:len(path)-1] {
		o = o[k].(map[string]any)
	}
	o[path[len(path)-1]] = v
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestIdentityForgedCopy: a record that copies a real eventID but names
// another call has another identity, so its alert cannot make the real
// one count as delivered; the real record re-encoded (another path writes
// it with other spacing and key order) keeps its identity.
func TestIdentityForgedCopy(t *testing.T) {
	rec := readRecord(t, "delete-trail.json")
	real := MustParse(string(rec))
	// Another path's bytes: same fields, another key order and spacing.
	var m map[string]any
	json.Unmarshal(rec, &m)
	reencoded, _ := json.MarshalIndent(m, "", "  ")
	if got, want := MustParse(string(reencoded)).Identity(), real.Identity(); got != want {
		t.Fatalf("the same record re-encoded has identity %s; want %s", got, want)
	}
	if !strings.HasPrefix(real.Identity(), "fcec2e46-3cc3-4ac2-8144-3674f06990e4|") {
		t.Fatalf("identity %s does not start with the eventID", real.Identity())
	}
	forged := map[string][]byte{
		"another source address": withField(t, rec, []string{"sourceIPAddress"}, "198.51.100.7"),
		"another time":           withField(t, rec, []string{"eventTime"}, "2023-07-10T12:07:04Z"),
		"another caller":         withField(t, rec, []string{"userIdentity", "arn"}, "arn:aws:iam::123837392027:user/alice"),
		"another request id":     withField(t, rec, []string{"requestID"}, "00000000-3ab7-4ed3-b542-2f932957aa6e"),
		"an error added":         withField(t, rec, []string{"errorCode"}, "AccessDenied"),
		"another call":           withField(t, rec, []string{"eventName"}, "StopLogging"),
		"another account":        withField(t, rec, []string{"recipientAccountId"}, "111122223333"),
		"another user agent":     withField(t, rec, []string{"userAgent"}, "aws-cli/2.13.0"),
	}
	for what, b := range forged {
		f := MustParse(string(b))
		if f.ID() != real.ID() {
			t.Fatalf("%s: the forged copy lost the eventID", what)
		}
		if f.Identity() == real.Identity() {
			t.Errorf("%s: the forged copy has the real event's identity %s", what, f.Identity())
		}
		a := &Alert{Rule: RuleInfo{ID: "cloudtrail-deleted"}, Event: f}
		r := &Alert{Rule: RuleInfo{ID: "cloudtrail-deleted"}, Event: real}
		if a.Key() == r.Key() {
			t.Errorf("%s: the forged alert has the real alert's key", what)
		}
	}
	noID := MustParse(`{"eventName":"X"}`)
	if !strings.HasPrefix(noID.Identity(), "sha256:") {
		t.Errorf("a record without an eventID is named %s; want a digest of its bytes", noID.Identity())
	}
}

func TestLabelsNameTheCallersAccount(t *testing.T) {
	// A call from account 111122223333 into 123837392027 (a role assumed
	// across accounts shows the caller's account in userIdentity).
	ev := MustParse(`{"eventID":"1","recipientAccountId":"123837392027","userIdentity":{"type":"IAMUser","accountId":"111122223333","userName":"ci-bot","arn":"arn:aws:iam::111122223333:user/ci-bot"}}`)
	l := (&Alert{Event: ev}).Labels()
	if l["account"] != "123837392027" || l["principal_account"] != "111122223333" || l["principal"] != "ci-bot" {
		t.Fatalf("labels %v", l)
	}
}

func TestBoundCutsLargeRecords(t *testing.T) {
	rec := readRecord(t, "delete-trail.json")
	small := &Alert{Rule: RuleInfo{ID: "r"}, Event: MustParse(string(rec))}
	before := small.Event
	small.Bound()
	if small.Event != before {
		t.Error("a record below BoundSize was copied")
	}

	huge := strings.Repeat("A", 6<<20)
	items := make([]any, 10000)
	for i := range items {
		items[i] = i
	}
	deep := any("bottom")
	for range 40 {
		deep = map[string]any{"d": deep}
	}
	b := withField(t, rec, []string{"userAgent"}, huge)
	b = withField(t, b, []string{"requestParameters"}, map[string]any{"items": items, "deep": deep, "bad": "a\xffb\u202e"})
	a := &Alert{Rule: RuleInfo{ID: "cloudtrail-deleted"}, Event: MustParse(string(b))}
	key := a.Key()
	labels := a.Labels()
	a.Bound()
	raw := a.Event.Raw()
	if len(raw) > BoundSize+8<<10 {
		t.Fatalf("the cut record is %d bytes; want about %d", len(raw), BoundSize)
	}
	if !json.Valid(raw) {
		t.Fatalf("the cut record is not JSON: %.200s", raw)
	}
	if a.Key() != key {
		t.Errorf("Bound changed the key from %s to %s", key, a.Key())
	}
	for _, k := range []string{"rule", "account", "principal", "principal_arn", "event_name", "source_ip", "region"} {
		if got := a.Labels()[k]; got != labels[k] {
			t.Errorf("label %s = %q after the cut; was %q", k, got, labels[k])
		}
	}
	ua := a.Event.UserAgent()
	if len(ua) > 5<<10 || !strings.HasPrefix(ua, "AAAA") || !strings.Contains(ua, CutMarker+"6287360 bytes]") {
		t.Errorf("user agent cut to %d bytes ending %q", len(ua), ua[max(0, len(ua)-40):])
	}
	if got := a.Event.Field("requestParameters.items.64"); !strings.HasPrefix(got, CutMarker+"9936 more items") {
		t.Errorf("item 64 = %q; want the cut marker", got)
	}
	if !strings.Contains(a.Event.Field("requestParameters.deep"), CutMarker+"nested deeper]") {
		t.Errorf("deep nesting kept: %.200s", a.Event.Field("requestParameters.deep"))
	}
	if a.Event.Name() != "DeleteTrail" || a.Event.ID() != "fcec2e46-3cc3-4ac2-8144-3674f06990e4" || a.Event.Origin() != MustParse(string(b)).Origin() {
		t.Errorf("the cut record lost what names the event: %.300s", raw)
	}
}

func TestBoundKeepsFirstFieldsWithinBudget(t *testing.T) {
	// Hundreds of 4 KiB fields before the ones messages need: the budget
	// runs out on the filler, not on eventName.
	var sb strings.Builder
	sb.WriteString(`{`)
	for i := range 300 {
		sb.WriteString(`"f` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `":"` + strings.Repeat("z", 4000) + `",`)
	}
	sb.WriteString(`"eventName":"DeleteTrail","eventID":"e1","userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root"}}`)
	a := &Alert{Rule: RuleInfo{ID: "r"}, Event: MustParse(sb.String())}
	a.Bound()
	if a.Event.Name() != "DeleteTrail" || a.Event.Principal().Type != PrincipalRoot {
		t.Fatalf("fields messages need were cut: %.300s", a.Event.Raw())
	}
	if n := len(a.Event.Raw()); n > BoundSize+8<<10 {
		t.Fatalf("cut record of %d bytes", n)
	}
}

func TestSelfAlert(t *testing.T) {
	at := time.Date(2026, 11, 23, 1, 2, 3, 0, time.UTC)
	facts := map[string]string{"input": "s3://b/AWSLogs/x\"\n\u202e.json.gz", "reason": "not read in time"}
	a := SelfAlert(RuleInfo{ID: "trailwatch-input-refused"}, "InputRefused", at, facts, Origin{Input: "payload", MessageID: "m1"})
	b := SelfAlert(RuleInfo{ID: "trailwatch-input-refused"}, "InputRefused", at.Add(time.Hour), facts, Origin{})
	if a.Key() != b.Key() {
		t.Errorf("the same finding has keys %s and %s", a.Key(), b.Key())
	}
	c := SelfAlert(RuleInfo{ID: "trailwatch-input-refused"}, "InputRefused", at, map[string]string{"input": "s3://b/other", "reason": "not read in time"}, Origin{})
	if c.Key() == a.Key() {
		t.Error("two findings share a key")
	}
	ev := a.Event
	if ev.Source() != SelfSource || ev.Name() != "InputRefused" || ev.Time() != at || ev.Str("requestParameters", "input") != facts["input"] || ev.Origin().MessageID != "m1" {
		t.Errorf("self alert record %s", ev.Raw())
	}
}

// FuzzBound: whatever record an alert carries, its cut copy is JSON, keeps
// the alert's key, and is about BoundSize at most.
func FuzzBound(f *testing.F) {
	for _, s := range []string{
		`{"eventID":"e","eventName":"X"}`,
		`{"eventID":"e","userAgent":"` + strings.Repeat("a", 70<<10) + `"}`,
		`{"eventID":"e","a":[` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `]}`,
		`{"eventID":"\u0000\ud800","k":` + strings.Repeat("1", 100) + `}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ev, err := Parse([]byte(s), Origin{Input: "fuzz"})
		if err != nil {
			return
		}
		a := &Alert{Rule: RuleInfo{ID: "r"}, Event: ev}
		key := a.Key()
		// Force the cut even on small records.
		b := ev.bounded()
		if !json.Valid(b.Raw()) {
			t.Fatalf("cut copy is not JSON: %q", b.Raw())
		}
		if len(b.Raw()) > BoundSize+64<<10 {
			t.Fatalf("cut copy of %d bytes", len(b.Raw()))
		}
		a.Bound()
		if a.Key() != key {
			t.Fatalf("key changed from %q to %q", key, a.Key())
		}
	})
}
