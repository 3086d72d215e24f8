package detect

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/state"
)

const geoConfig = `
detectors:
  - id: signin-new-country
    kind: first-seen
    attribute: country
    learning: 24h
  - id: signin-impossible-travel
    kind: impossible-travel
`

// IP addresses of the test GeoIP database.
const (
	tokyo   = "203.0.113.10"
	osaka   = "198.51.100.20"
	london  = "192.0.2.30"
	newYork = "198.18.0.40"
)

func TestFirstSeenCountry(t *testing.T) {
	clk := newClock(t0())
	s := newSet(t, strings.Split(geoConfig, "  - id: signin-impossible-travel")[0], Options{Store: state.NewMemory(clk.Now), Geo: locator(t), Now: clk.Now})
	at := t0()
	step := func(ip string, d time.Duration) []*event.Alert {
		at = at.Add(d)
		clk.Set(at)
		return observe(t, s, login(t, "anaya", ip, at))
	}
	if a := step(tokyo, 0); len(a) != 0 {
		t.Fatalf("first sign-in alerted: %s", ids(a))
	}
	// Within the learning period a new country is learned, not alerted.
	if a := step(newYork, 3*time.Hour); len(a) != 0 {
		t.Fatalf("sign-in during the learning period alerted: %s", ids(a))
	}
	if a := step(osaka, 2*24*time.Hour); len(a) != 0 {
		t.Fatalf("Osaka (same country as Tokyo, days later) alerted: %s", ids(a))
	}
	if a := step(newYork, 24*time.Hour); len(a) != 0 {
		t.Fatalf("New York, learned during the learning period, alerted: %s", ids(a))
	}
	a := step(london, 24*time.Hour)
	if ids(a) != "signin-new-country" {
		t.Fatalf("London after learning = %q; want signin-new-country", ids(a))
	}
	got := a[0]
	if got.Context["country"] != "GB" || got.Context["location"] != "London, GB (AS5089)" || got.Context["network"] != "192.0.2.0/24" {
		t.Errorf("context = %v", got.Context)
	}
	if got.Annotation != "first sign-in from country GB for anaya in 90 days" || got.Rule.Severity != event.SeverityMedium {
		t.Errorf("annotation %q severity %s", got.Annotation, got.Rule.Severity)
	}
	if a := step(london, time.Hour); len(a) != 0 {
		t.Fatalf("London again alerted: %s", ids(a))
	}
}

func TestImpossibleTravel(t *testing.T) {
	clk := newClock(replayClock())
	s := newSet(t, geoConfig, Options{Store: state.NewMemory(clk.Now), Geo: locator(t), Now: clk.Now})
	// The first sign-ins set a baseline; learning does not apply to travel.
	observe(t, s, login(t, "anaya", tokyo, t0()))
	a := observe(t, s, login(t, "anaya", london, t0().Add(30*time.Minute)))
	var travel *event.Alert
	for _, x := range a {
		if x.Rule.ID == "signin-impossible-travel" {
			travel = x
		}
	}
	if travel == nil {
		t.Fatalf("Tokyo then London 30 minutes later: alerts %q; want signin-impossible-travel", ids(a))
	}
	if travel.Context["previous_location"] != "Tokyo, JP (AS2516)" || travel.Context["location"] != "London, GB (AS5089)" ||
		travel.Context["distance_km"] != "9559" || travel.Context["previous_ip"] != tokyo {
		t.Errorf("context = %v", travel.Context)
	}
	if !strings.HasPrefix(travel.Annotation, "9559 km from Tokyo, JP (AS2516) to London, GB (AS5089) in 30m0s (19117 km/h)") {
		t.Errorf("annotation = %q", travel.Annotation)
	}

	observe(t, s, login(t, "mary", tokyo, t0()))
	if a := observe(t, s, login(t, "mary", osaka, t0().Add(2*time.Hour))); len(a) != 0 {
		t.Fatalf("Tokyo then Osaka 2 hours later alerted: %s", ids(a))
	}
	// Within the minimum distance, even at once: no alert.
	if a := observe(t, s, login(t, "mary", "198.51.100.99", t0().Add(2*time.Hour))); len(a) != 0 {
		t.Fatalf("two Osaka addresses alerted: %s", ids(a))
	}
	// An unknown location is skipped, and does not become the baseline.
	if a := observe(t, s, login(t, "mary", "10.0.0.1", t0().Add(3*time.Hour))); len(a) != 0 {
		t.Fatalf("unknown location alerted: %s", ids(a))
	}
	// New York, 10 hours after Osaka: 11,000 km in 10h is too fast.
	a = observe(t, s, login(t, "mary", newYork, t0().Add(12*time.Hour)))
	if ids(a) != "signin-impossible-travel" || a[0].Context["previous_location"] != "Osaka, JP (AS9605)" {
		t.Fatalf("Osaka then New York 10h later = %q %v", ids(a), a)
	}
	// And 13 hours (846 km/h) is believable.
	observe(t, s, login(t, "lee", osaka, t0()))
	if a := observe(t, s, login(t, "lee", newYork, t0().Add(13*time.Hour))); len(a) != 0 {
		t.Fatalf("Osaka then New York 13h later alerted: %s", ids(a))
	}
	// The same event delivered twice alerts with the same comparison (delivery deduplicates).
	ev := login(t, "kim", tokyo, t0())
	observe(t, s, ev)
	ev2 := login(t, "kim", london, t0().Add(time.Hour))
	first, second := observe(t, s, ev2), observe(t, s, ev2)
	if ids(first) != "signin-impossible-travel" || ids(second) != ids(first) || first[0].Key() != second[0].Key() {
		t.Fatalf("redelivered event: %q then %q", ids(first), ids(second))
	}
}

const trustedConfig = `
networks:
  office: [203.0.113.0/24, 2001:db8:100::/48]
  vpn: [198.51.100.0/24]
detectors:
  - id: signin-untrusted-network
    kind: trusted-network
    severity: high
    networks: [office, vpn]
    regions: [ap-northeast-1, us-east-1]
`

func TestTrustedNetwork(t *testing.T) {
	clk := newClock(t0())
	s := newSet(t, trustedConfig, Options{Store: state.NewMemory(clk.Now), Geo: locator(t), Now: clk.Now})
	for _, ip := range []string{tokyo, "2001:db8:100:5::1", osaka, "signin.amazonaws.com", "AWS Internal"} {
		if a := observe(t, s, login(t, "anaya", ip, t0())); len(a) != 0 {
			t.Errorf("sign-in from %s alerted: %s", ip, ids(a))
		}
	}
	a := observe(t, s, login(t, "anaya", london, t0()))
	if ids(a) != "signin-untrusted-network" {
		t.Fatalf("sign-in from London = %q", ids(a))
	}
	want := map[string]string{
		"source_ip": london, "network": "192.0.2.0/24", "trusted_networks": "office, vpn",
		"location": "London, GB (AS5089)", "as_org": "Virgin Media Limited",
	}
	for k, v := range want {
		if a[0].Context[k] != v {
			t.Errorf("context[%s] = %q; want %q", k, a[0].Context[k], v)
		}
	}
	if a[0].Annotation != "192.0.2.30 is outside the trusted networks (office, vpn)" || a[0].Rule.Severity != event.SeverityHigh {
		t.Errorf("annotation %q", a[0].Annotation)
	}
	// A region outside the expected ones alerts even from the office.
	ev := vary(t, template(t, "console-login-success.json"), "sourceIPAddress", tokyo, "awsRegion", "eu-north-1")
	if a := observe(t, s, ev); ids(a) != "signin-untrusted-network" || a[0].Context["region"] != "eu-north-1" {
		t.Fatalf("unexpected region: %q", ids(a))
	}
	// Failed sign-ins are the burst detectors' business.
	if a := observe(t, s, failure(t, "anaya", london, t0())); len(a) != 0 {
		t.Fatalf("failed sign-in alerted: %s", ids(a))
	}
	// Any event of the root user is checked, whatever its name.
	root := vary(t, template(t, "console-login-root.json"), "eventName", "StopLogging", "eventType", "AwsApiCall",
		"eventSource", "cloudtrail.amazonaws.com", "responseElements", nil, "sourceIPAddress", london)
	if a := observe(t, s, root); ids(a) != "signin-untrusted-network" {
		t.Fatalf("root StopLogging from London = %q", ids(a))
	}
}

const burstConfig = `
detectors:
  - id: signin-failure-burst
    kind: burst
    what: failed-logins
    threshold: 5
    window: 5m
  - id: signin-password-spraying
    kind: burst
    what: spraying
    threshold: 10
    window: 10m
  - id: access-denied-burst
    kind: burst
    what: access-denied
    threshold: 20
    window: 5m
`

func TestBurstSequence(t *testing.T) {
	clk := newClock(replayClock())
	s := newSet(t, burstConfig, Options{Store: state.NewMemory(clk.Now), Now: clk.Now})

	// Six failed sign-ins for one user in five minutes: one alert, at the fifth.
	var got []*event.Alert
	for i := 0; i < 6; i++ {
		a := observe(t, s, failure(t, "anaya", london, t0().Add(time.Duration(i)*50*time.Second)))
		if len(a) > 0 && i != 4 {
			t.Errorf("failure #%d alerted", i+1)
		}
		got = append(got, a...)
	}
	if ids(got) != "signin-failure-burst" {
		t.Fatalf("six failures = %q; want one signin-failure-burst", ids(got))
	}
	if got[0].Annotation != "5 failed sign-ins in 3m20s" || got[0].Context["principal"] != "anaya" || got[0].Context["source_ip"] != london {
		t.Errorf("alert = %q %v", got[0].Annotation, got[0].Context)
	}
	// After the window a new burst can alert again; four more do not.
	later := t0().Add(10 * time.Minute)
	for i := 0; i < 4; i++ {
		if a := observe(t, s, failure(t, "anaya", london, later.Add(time.Duration(i)*time.Second))); len(a) != 0 {
			t.Fatalf("a new window alerted below the threshold: %s", ids(a))
		}
	}
	if a := observe(t, s, failure(t, "anaya", london, later.Add(time.Minute))); ids(a) != "signin-failure-burst" {
		t.Fatalf("fifth failure of the next window = %q", ids(a))
	}
	// Failures spread over many minutes never reach the threshold.
	for i := 0; i < 10; i++ {
		if a := observe(t, s, failure(t, "mary", osaka, t0().Add(time.Duration(i)*6*time.Minute))); len(a) != 0 {
			t.Fatalf("slow failures alerted: %s", ids(a))
		}
	}

	// Spraying: one address, 20 user names, 2 failures each.
	got = nil
	spray := t0().Add(time.Hour)
	for i := 0; i < 40; i++ {
		user := "user" + string(rune('a'+i%20))
		got = append(got, observe(t, s, failure(t, user, "198.18.5.5", spray.Add(time.Duration(i)*5*time.Second)))...)
	}
	if ids(got) != "signin-password-spraying" {
		t.Fatalf("spraying 20 users = %q; want one signin-password-spraying", ids(got))
	}
	if got[0].Annotation != "10 user names tried from 198.18.5.5 in 45s" {
		t.Errorf("spraying annotation = %q", got[0].Annotation)
	}
	// Unknown user names (CloudTrail hides them) count once per attempt.
	got = nil
	hidden := template(t, "console-login-unknown-user.json")
	for i := 0; i < 10; i++ {
		got = append(got, observe(t, s, vary(t, hidden, "sourceIPAddress", "198.18.6.6", "eventTime", spray.Add(time.Duration(i)*time.Second), "eventID", nextID()))...)
	}
	if !strings.Contains(ids(got), "signin-password-spraying") {
		t.Fatalf("10 unknown user names from one address = %q", ids(got))
	}

	// Access denied: 25 denied calls from one principal in a minute alert once.
	got = nil
	denied := jsonl(t, "panther-access-denied.jsonl")[0]
	for i := 0; i < 25; i++ {
		got = append(got, observe(t, s, vary(t, denied, "eventTime", t0().Add(time.Duration(i)*2*time.Second), "eventID", nextID()))...)
	}
	if ids(got) != "access-denied-burst" || got[0].Annotation != "20 denied calls in 38s (last: GetRole AccessDenied)" {
		t.Fatalf("25 denied calls = %q %v", ids(got), got)
	}
	// The same event delivered twice is counted once.
	got = nil
	ev := failure(t, "kim", london, t0())
	for i := 0; i < 8; i++ {
		got = append(got, observe(t, s, ev)...)
	}
	if len(got) != 0 {
		t.Fatalf("one event delivered 8 times alerted: %s", ids(got))
	}
}

func TestConcurrentFirstSeenDynamoDB(t *testing.T) {
	clk := newClock(t0())
	store := newDynamoDB(t, clk.Now)
	s := newSet(t, `
detectors:
  - id: signin-new-network
    kind: first-seen
    attribute: network
    learning: 24h
`, Options{Store: store, Now: clk.Now})
	observe(t, s, login(t, "anaya", tokyo, t0()))
	at := t0().Add(48 * time.Hour)
	clk.Set(at)
	var alerts atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := login(t, "anaya", "192.0.2."+string(rune('1'+i%9)), at.Add(time.Duration(i)*time.Second))
			a, err := s.Observe(context.Background(), ev)
			if err != nil {
				t.Error(err)
			}
			alerts.Add(int64(len(a)))
		}()
	}
	wg.Wait()
	if alerts.Load() != 1 {
		t.Fatalf("32 concurrent sign-ins from one new network raised %d alerts; want exactly 1", alerts.Load())
	}
}

func TestConcurrentBurstDynamoDB(t *testing.T) {
	clk := newClock(t0())
	s := newSet(t, burstConfig, Options{Store: newDynamoDB(t, clk.Now), Now: clk.Now})
	var mu sync.Mutex
	var got []*event.Alert
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := s.Observe(context.Background(), failure(t, "anaya", london, t0().Add(time.Duration(i)*time.Second)))
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			got = append(got, a...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if ids(got) != "signin-failure-burst" {
		t.Fatalf("32 concurrent failures = %q; want exactly one signin-failure-burst", ids(got))
	}
}

// TestReplayLearn replays a month of archived sign-ins in learn mode into
// the file store, then watches live events with a fresh Set on the same
// file: only what is genuinely new alerts.
func TestReplayLearn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	now := t0().Add(31 * 24 * time.Hour)
	clk := newClock(now)
	cfg, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	store, err := state.OpenFile(path, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, Options{Store: store, Geo: locator(t), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Every third day of a month (each write to the file store is synced
	// to disk, so the story is kept short).
	for day := 0; day < 30; day += 3 {
		at := t0().Add(time.Duration(day) * 24 * time.Hour)
		for _, ev := range []*event.Event{
			login(t, "anaya", tokyo, at),
			login(t, "anaya", osaka, at.Add(8*time.Hour)),
			login(t, "mary", london, at.Add(time.Hour)),
			failure(t, "mary", london, at.Add(2*time.Hour)),
		} {
			if err := s.Learn(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	store.Close()

	store, err = state.OpenFile(path, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	live, err := New(cfg, Options{Store: store, Geo: locator(t), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if a := observe(t, live, login(t, "anaya", "203.0.113.77", now)); len(a) != 0 {
		t.Fatalf("a known network after replay alerted: %s", ids(a))
	}
	if a := observe(t, live, login(t, "mary", london, now.Add(time.Minute))); len(a) != 0 {
		t.Fatalf("a known sign-in after replay alerted: %s", ids(a))
	}
	// A day later (too slow for impossible travel), from New York.
	clk.Set(now.Add(30 * time.Hour))
	a := observe(t, live, login(t, "anaya", newYork, now.Add(30*time.Hour)))
	sort.Slice(a, func(i, j int) bool { return a[i].Rule.ID < a[j].Rule.ID })
	if got := ids(a); got != "signin-new-asn,signin-new-country,signin-new-network" {
		t.Fatalf("a new network after replay = %q; want new asn, country and network", got)
	}
	// Learn never alerts and never counts bursts.
	for i := 0; i < 10; i++ {
		if err := live.Learn(ctx, failure(t, "kim", london, now.Add(time.Duration(i)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	if a := observe(t, live, failure(t, "kim", london, now.Add(time.Minute))); len(a) != 0 {
		t.Fatalf("failures learned were counted: %s", ids(a))
	}
}

// TestCompromisedRootScenario replays Panther's compromised root
// credentials story: the victim signs in from home, then an attacker
// fails, succeeds and acts as root from elsewhere.
func TestCompromisedRootScenario(t *testing.T) {
	evs := jsonl(t, "compromised-root-creds.jsonl")
	sort.SliceStable(evs, func(i, j int) bool { return evs[i]["eventTime"].(string) < evs[j]["eventTime"].(string) })
	cfg, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	home, err := ParseConfig([]byte("networks:\n  home: [71.253.251.0/24]\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = Merge(cfg, home)
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock(t0())
	s, err := New(cfg, Options{Store: state.NewMemory(clk.Now), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	var fired []string
	for _, m := range evs {
		ev := vary(t, m, "eventID", nextID())
		clk.Set(ev.Time())
		for _, a := range observe(t, s, ev) {
			fired = append(fired, ev.Name()+":"+a.Rule.ID)
		}
	}
	want := strings.Join([]string{
		"ConsoleLogin:signin-untrusted-network",
		"ConsoleLogin:signin-new-network",
		"ConsoleLogin:signin-new-user-agent",
		"StopLogging:signin-untrusted-network",
		"CreateAccessKey:signin-untrusted-network",
		"CreateUser:signin-untrusted-network",
		"AttachUserPolicy:signin-untrusted-network",
		"AttachUserPolicy:signin-untrusted-network",
		"CreateAccessKey:signin-untrusted-network",
		"AttachUserPolicy:signin-untrusted-network",
	}, "\n")
	if got := strings.Join(fired, "\n"); got != want {
		t.Fatalf("alerts:\n%s\nwant:\n%s", got, want)
	}
}

// countingStore counts calls and can fail them.
type countingStore struct {
	state.Store
	calls atomic.Int64
	fail  error
}

func (c *countingStore) Get(ctx context.Context, k string) ([]byte, bool, error) {
	c.calls.Add(1)
	if c.fail != nil {
		return nil, false, c.fail
	}
	return c.Store.Get(ctx, k)
}

func (c *countingStore) PutIfAbsent(ctx context.Context, k string, v []byte, ttl time.Duration) (bool, error) {
	c.calls.Add(1)
	if c.fail != nil {
		return false, c.fail
	}
	return c.Store.PutIfAbsent(ctx, k, v, ttl)
}

func (c *countingStore) Add(ctx context.Context, k string, d int64, ttl time.Duration) (int64, error) {
	c.calls.Add(1)
	if c.fail != nil {
		return 0, c.fail
	}
	return c.Store.Add(ctx, k, d, ttl)
}

func TestSkipsUnwatchedEvents(t *testing.T) {
	cs := &countingStore{Store: state.NewMemory(nil)}
	s := newSet(t, burstConfig, Options{Store: cs})
	ev := vary(t, jsonl(t, "panther-access-denied.jsonl")[0], "errorCode", nil, "errorMessage", nil)
	for i := 0; i < 100; i++ {
		observe(t, s, ev)
	}
	if n := cs.calls.Load(); n != 0 {
		t.Fatalf("%d store calls for events no detector watches; want 0", n)
	}
}

func TestStoreErrorsNameDetectorAndEvent(t *testing.T) {
	boom := errors.New("throttled")
	cs := &countingStore{Store: state.NewMemory(nil), fail: boom}
	s := newSet(t, burstConfig, Options{Store: cs})
	ev := failure(t, "anaya", london, t0())
	_, err := s.Observe(context.Background(), ev)
	if !errors.Is(err, boom) {
		t.Fatalf("Observe error = %v; want the store's error", err)
	}
	want := `detector signin-failure-burst on event "` + ev.ID() + `" (test record 0): throttled`
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %q; want it to contain %q", err, want)
	}
}

func TestDisabled(t *testing.T) {
	cfg, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, Options{Store: state.NewMemory(nil)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range s.Disabled() {
		got = append(got, d.ID+": "+d.Reason)
	}
	want := []string{
		"signin-untrusted-network: no trusted networks or regions configured (add networks: to the configuration)",
		"signin-new-country: needs a GeoIP database (geoip: in the configuration)",
		"signin-new-asn: needs a GeoIP database (geoip: in the configuration)",
		"signin-impossible-travel: needs a GeoIP City database (geoip: in the configuration)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Disabled:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var running []string
	for _, r := range s.Rules() {
		running = append(running, r.ID)
	}
	if strings.Join(running, ",") != "signin-failure-burst,signin-password-spraying,signin-new-network,signin-new-user-agent" {
		t.Fatalf("running = %v", running)
	}
	with, err := New(cfg, Options{Store: state.NewMemory(nil), Geo: locator(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(with.Disabled()) != 1 {
		t.Fatalf("with GeoIP, disabled = %v; want only the trusted-network detector", with.Disabled())
	}
}

// Every Panther ConsoleLogin test event runs through the built-in detectors
// (with a trusted network and GeoIP) without error; the successful ones from
// an address outside the network alert as untrusted.
func TestPantherConsoleLogins(t *testing.T) {
	cfg, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	office, _ := ParseConfig([]byte("networks:\n  office: [192.0.2.0/24]\n"))
	cfg, err = Merge(cfg, office)
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock(t0())
	s, err := New(cfg, Options{Store: state.NewMemory(clk.Now), Geo: locator(t), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range jsonl(t, "panther-console-login.jsonl") {
		ev := vary(t, m, "eventID", nextID())
		a := observe(t, s, ev)
		untrusted := strings.Contains(ids(a), "signin-untrusted-network")
		_, isIP := (&obs{ev: ev, set: s}).sourceAddr()
		inOffice := strings.HasPrefix(ev.SourceIP(), "192.0.2.")
		want := isIP && !inOffice && ev.LoginResult() != event.LoginFailure && ev.ErrorCode() == ""
		if untrusted != want {
			t.Errorf("event %d (%s, %s from %q): untrusted alert %v; want %v", i, ev.Principal().Name, ev.LoginResult(), ev.SourceIP(), untrusted, want)
		}
	}
}

func BenchmarkObserveSkipped(b *testing.B) {
	cfg, _ := Default()
	s, _ := New(cfg, Options{Store: state.NewMemory(nil)})
	ev := event.MustParse(`{"eventName":"GetObject","eventSource":"s3.amazonaws.com","eventType":"AwsApiCall","recipientAccountId":"111122223333","sourceIPAddress":"203.0.113.9","userIdentity":{"type":"IAMUser","userName":"app"}}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Observe(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkObserveSignIn(b *testing.B) {
	cfg, _ := Default()
	office, _ := ParseConfig([]byte("networks:\n  office: [203.0.113.0/24]\n"))
	cfg, _ = Merge(cfg, office)
	s, _ := New(cfg, Options{Store: state.NewMemory(nil)})
	ev := event.MustParse(`{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","eventType":"AwsConsoleSignIn","eventID":"e1","eventTime":"2026-11-23T00:00:00Z","recipientAccountId":"111122223333","sourceIPAddress":"203.0.113.9","userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36","userIdentity":{"type":"IAMUser","userName":"anaya","accountId":"111122223333","arn":"arn:aws:iam::111122223333:user/anaya"},"responseElements":{"ConsoleLogin":"Success"}}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Observe(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFirstSeenRetentionAndLearning(t *testing.T) {
	clk := newClock(t0())
	s := newSet(t, `
detectors:
  - id: signin-new-network
    kind: first-seen
    attribute: network
    learning: 7d
    retention: 30d
`, Options{Store: state.NewMemory(clk.Now), Now: clk.Now})
	day := func(n int) time.Time { return t0().Add(time.Duration(n) * 24 * time.Hour) }
	at := func(n int, user, ip string) []*event.Alert {
		clk.Set(day(n))
		return observe(t, s, login(t, user, ip, day(n)))
	}
	at(0, "anaya", tokyo)
	if a := at(3, "anaya", london); len(a) != 0 {
		t.Fatalf("new network during the 7-day learning period alerted: %s", ids(a))
	}
	if a := at(8, "anaya", osaka); ids(a) != "signin-new-network" || a[0].Context["network"] != "198.51.100.0/24" {
		t.Fatalf("new network after learning = %q", ids(a))
	}
	// Seen again within retention: refreshed, so still known 50 days on.
	at(25, "anaya", "203.0.113.200")
	if a := at(50, "anaya", tokyo); len(a) != 0 {
		t.Fatalf("a network refreshed 25 days ago alerted: %s", ids(a))
	}
	// London was last seen on day 3: forgotten after 30 days.
	if a := at(60, "anaya", london); ids(a) != "signin-new-network" {
		t.Fatalf("a network unseen for 57 days = %q; want it new again", ids(a))
	}
	// The retention is measured in event time even when the store still
	// holds the entry (a replay with a wall clock far ahead).
	clk.Set(replayClock())
	s2 := newSet(t, `
detectors:
  - {id: n, kind: first-seen, attribute: network, learning: 1h, retention: 30d}
`, Options{Store: state.NewMemory(clk.Now), Now: clk.Now})
	for _, step := range []struct {
		day   int
		ip    string
		alert bool
	}{{0, tokyo, false}, {1, london, true}, {2, tokyo, false}, {40, tokyo, true}} {
		a := observe(t, s2, login(t, "mary", step.ip, day(step.day)))
		if (len(a) == 1) != step.alert {
			t.Fatalf("day %d %s: alerts %q; want alert %v", step.day, step.ip, ids(a), step.alert)
		}
	}
}

// A replay that reads newer logs first still starts learning at the oldest
// event.
func TestLearningStartMovesBack(t *testing.T) {
	clk := newClock(replayClock())
	st := state.NewMemory(clk.Now)
	s := newSet(t, `
detectors:
  - {id: n, kind: first-seen, attribute: network, learning: 7d}
`, Options{Store: st, Now: clk.Now})
	ctx := context.Background()
	late, early := t0().Add(20*24*time.Hour), t0()
	if err := s.Learn(ctx, login(t, "anaya", tokyo, late)); err != nil {
		t.Fatal(err)
	}
	if err := s.Learn(ctx, login(t, "anaya", osaka, early)); err != nil {
		t.Fatal(err)
	}
	fresh := newSet(t, `
detectors:
  - {id: n, kind: first-seen, attribute: network, learning: 7d}
`, Options{Store: st, Now: clk.Now})
	if a := observe(t, fresh, login(t, "anaya", london, late.Add(time.Hour))); ids(a) != "n" {
		t.Fatalf("after learning from day 0 to day 20, a new network = %q; want an alert", ids(a))
	}
}

func TestConcurrentSprayingDynamoDB(t *testing.T) {
	clk := newClock(t0())
	s := newSet(t, burstConfig, Options{Store: newDynamoDB(t, clk.Now), Now: clk.Now})
	var mu sync.Mutex
	var got []*event.Alert
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// 16 distinct users, each tried twice, from one address.
			user := "user" + string(rune('a'+i%16))
			a, err := s.Observe(context.Background(), failure(t, user, "198.18.9.9", t0().Add(time.Duration(i)*time.Second)))
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			got = append(got, a...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if ids(got) != "signin-password-spraying" {
		t.Fatalf("concurrent spraying = %q; want exactly one signin-password-spraying", ids(got))
	}
}

// A retried delivery of the event that crossed the threshold raises the
// same alert again (same Key, so delivery sends it once); other retried
// events stay quiet.
func TestBurstRetryOfAlertingEvent(t *testing.T) {
	clk := newClock(t0())
	s := newSet(t, burstConfig, Options{Store: state.NewMemory(clk.Now), Now: clk.Now})
	var evs []*event.Event
	for i := 0; i < 5; i++ {
		evs = append(evs, failure(t, "anaya", london, t0().Add(time.Duration(i)*time.Second)))
	}
	var first []*event.Alert
	for _, ev := range evs {
		first = append(first, observe(t, s, ev)...)
	}
	if len(first) != 1 {
		t.Fatalf("first pass: %q", ids(first))
	}
	for i, ev := range evs {
		a := observe(t, s, ev)
		if (len(a) == 1) != (i == 4) {
			t.Fatalf("retry of failure #%d: %q", i+1, ids(a))
		}
		if i == 4 && a[0].Key() != first[0].Key() {
			t.Fatalf("retried alert key %q; want %q", a[0].Key(), first[0].Key())
		}
	}
}

// TestFirstSeenQuietEventsStayQuiet: an event that raised no first-seen
// alert (a principal's baseline, the learning period, a --learn replay)
// raises none when it is seen again, by a second replay of the same logs or
// by live delivery of an event a replay learnt; an event that did alert
// alerts again on a retry with the same key, which delivery deduplicates.
func TestFirstSeenQuietEventsStayQuiet(t *testing.T) {
	clk := newClock(replayClock())
	s := newSet(t, `
detectors:
  - {id: n, kind: first-seen, attribute: network, learning: 1h, retention: 30d}
`, Options{Store: state.NewMemory(clk.Now), Now: clk.Now})
	day := func(n int) time.Time { return t0().Add(time.Duration(n) * 24 * time.Hour) }
	baseline := login(t, "anaya", tokyo, day(0))
	learnt := login(t, "anaya", london, day(2))
	news := login(t, "anaya", osaka, day(3))

	if a := observe(t, s, baseline); len(a) != 0 {
		t.Fatalf("baseline alerted: %s", ids(a))
	}
	if err := s.Learn(context.Background(), learnt); err != nil {
		t.Fatal(err)
	}
	if a := observe(t, s, news); ids(a) != "n" {
		t.Fatalf("new network = %q", ids(a))
	}
	for _, ev := range []*event.Event{baseline, learnt} {
		if a := observe(t, s, ev); len(a) != 0 {
			t.Fatalf("%s raised no alert the first time but %s the second", ev.ID(), ids(a))
		}
	}
	if a := observe(t, s, news); ids(a) != "n" || a[0].Key() != news.Identity()+"|n" {
		t.Fatalf("retry of an alerting event = %q; want the same alert again", ids(a))
	}
}

// failOnce is a store whose first Put of a value with the given prefix
// fails, as a throttled DynamoDB write does.
type failOnce struct {
	state.Store
	prefix string
	done   bool
}

func (f *failOnce) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if !f.done && strings.HasPrefix(string(value), f.prefix) {
		f.done = true
		return errors.New("throttled")
	}
	return f.Store.Put(ctx, key, value, ttl)
}

// TestBurstAlertSurvivesAFailedWrite: when recording the alert of the
// event that crosses the threshold fails, a retry of that event raises it,
// so the window's one alert is not lost.
func TestBurstAlertSurvivesAFailedWrite(t *testing.T) {
	clk := newClock(t0())
	store := &failOnce{Store: state.NewMemory(clk.Now), prefix: "alerted|"}
	s := newSet(t, `
detectors:
  - {id: b, kind: burst, what: failed-logins, threshold: 3, window: 5m}
`, Options{Store: store, Now: clk.Now})
	var evs []*event.Event
	for i := range 3 {
		evs = append(evs, failure(t, "anaya", tokyo, t0().Add(time.Duration(i)*time.Minute)))
	}
	observe(t, s, evs[0])
	observe(t, s, evs[1])
	if a, err := s.Observe(context.Background(), evs[2]); err == nil || len(a) != 0 {
		t.Fatalf("the failed write was not reported: %v %v", ids(a), err)
	}
	if a := observe(t, s, evs[2]); ids(a) != "b" {
		t.Fatalf("retry of the threshold event = %q; want the burst alert", ids(a))
	}
	if a := observe(t, s, failure(t, "anaya", tokyo, t0().Add(4*time.Minute))); len(a) != 0 {
		t.Fatalf("a later failure in the same window alerted again: %s", ids(a))
	}
}

// TestNeedsNothingMeansObserveDoesNothing runs the default detectors over
// real events, sign-ins, refused calls and a compromised root's session,
// asking Needs before each: an event that needs nothing raises no alert
// and touches no state, so a caller may pass it over; and both answers
// occur, or the test would prove nothing.
func TestNeedsNothingMeansObserveDoesNothing(t *testing.T) {
	cfg, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock(t0())
	cs := &countingStore{Store: state.NewMemory(clk.Now)}
	s, err := New(cfg, Options{Store: cs, Geo: locator(t), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	var needed, passed int
	for round := range 2 {
		for _, file := range []string{"compromised-root-creds.jsonl", "panther-access-denied.jsonl", "panther-console-login.jsonl"} {
			for _, m := range jsonl(t, file) {
				ev := vary(t, m, "eventID", nextID())
				needs := s.Needs(ev)
				before := cs.calls.Load()
				a := observe(t, s, ev)
				if needs {
					needed++
					continue
				}
				passed++
				if len(a) > 0 || cs.calls.Load() != before {
					t.Fatalf("round %d, %s: %s needs nothing, yet Observe raised %q and made %d store calls", round, file, ev.Name(), ids(a), cs.calls.Load()-before)
				}
			}
		}
	}
	if needed == 0 || passed == 0 {
		t.Fatalf("%d events needed the detectors, %d did not: the test proves nothing", needed, passed)
	}
	t.Logf("%d events needed the detectors, %d did not", needed, passed)
}
