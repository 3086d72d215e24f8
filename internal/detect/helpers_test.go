package detect

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/geoip"
	"github.com/trailwatch/trailwatch/internal/geoip/geoiptest"
	"github.com/trailwatch/trailwatch/internal/state"
	"github.com/trailwatch/trailwatch/internal/state/statetest"
)

// clock is a manual clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// t0 is the start of most test stories.
func t0() time.Time { return time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) }

// replayClock is a wall clock far ahead of every story, as when archived
// logs are replayed: event times after the clock are not believed (see
// DefaultMaxSkew), so stories that do not move the clock run on this one.
func replayClock() time.Time { return t0().Add(400 * 24 * time.Hour) }

// template reads a testdata JSON event, or the event of the first line of
// a .jsonl file whose test_name matches name.
func template(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// jsonl reads the "event" of every line of a testdata .jsonl file.
func jsonl(t *testing.T, file string) []map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Event map[string]any `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		out = append(out, line.Event)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// vary copies tmpl and sets dotted paths ("userIdentity.userName") to
// values; a nil value deletes the key.
func vary(t *testing.T, tmpl map[string]any, kv ...any) *event.Event {
	t.Helper()
	b, _ := json.Marshal(tmpl)
	var m map[string]any
	json.Unmarshal(b, &m)
	for i := 0; i+1 < len(kv); i += 2 {
		path := strings.Split(kv[i].(string), ".")
		cur := m
		for _, p := range path[:len(path)-1] {
			next, ok := cur[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[p] = next
			}
			cur = next
		}
		v := kv[i+1]
		if tm, ok := v.(time.Time); ok {
			v = tm.UTC().Format(time.RFC3339)
		}
		if v == nil {
			delete(cur, path[len(path)-1])
		} else {
			cur[path[len(path)-1]] = v
		}
	}
	raw, _ := json.Marshal(m)
	ev, err := event.Parse(raw, event.Origin{Input: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// nextID returns a fresh event id.
func nextID() string { return "ev-" + rand.Text() }

// login is an IAM user's successful console sign-in (AWS docs example)
// with the given user, address and time.
func login(t *testing.T, user, ip string, at time.Time) *event.Event {
	return vary(t, template(t, "console-login-success.json"),
		"userIdentity.userName", user, "userIdentity.arn", "arn:aws:iam::111122223333:user/"+user,
		"sourceIPAddress", ip, "eventTime", at, "eventID", nextID())
}

// failure is a failed console sign-in (AWS docs example).
func failure(t *testing.T, user, ip string, at time.Time) *event.Event {
	return vary(t, template(t, "console-login-failure.json"),
		"userIdentity.userName", user, "sourceIPAddress", ip, "eventTime", at, "eventID", nextID())
}

func locator(t *testing.T) *geoip.Locator {
	t.Helper()
	p, err := geoiptest.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l, err := geoip.Open(p.City, p.ASN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// newSet builds a Set from YAML.
func newSet(t *testing.T, src string, o Options) *Set {
	t.Helper()
	cfg, err := ParseConfig([]byte(src))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	s, err := New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// observe runs ev and fails the test on error.
func observe(t *testing.T, s *Set, ev *event.Event) []*event.Alert {
	t.Helper()
	a, err := s.Observe(context.Background(), ev)
	if err != nil {
		t.Fatalf("Observe(%s): %v", ev, err)
	}
	return a
}

// ids lists the rule ids of alerts.
func ids(alerts []*event.Alert) string {
	var out []string
	for _, a := range alerts {
		out = append(out, a.Rule.ID)
	}
	return strings.Join(out, ",")
}

// newDynamoDB returns a store in an in-process DynamoDB stand-in.
func newDynamoDB(t *testing.T, now func() time.Time) state.Store {
	t.Helper()
	return state.NewDynamoDB(statetest.DynamoDB(t), statetest.Table, now)
}
