package slackbot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/notify/notifytest"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/secret"
	"github.com/trailwatch/trailwatch/internal/state"
)

const token = "xoxb-1111-2222-d1st1nct1ve"

func payload() *render.Payload {
	return &render.Payload{Receiver: "ops-bot", Kind: "slackbot", Body: []byte(`{"channel":"C0SEC","text":"Root user signed in","blocks":[]}`), ContentType: "application/json"}
}

func TestConformance(t *testing.T) {
	notifytest.RunHTTP(t, notifytest.HTTPCase{
		Receiver: "ops-bot",
		Payload:  payload(),
		OK:       notifytest.Step{Status: 200, Header: map[string]string{"Content-Type": "application/json"}, Body: `{"ok":true,"channel":"C0SEC","ts":"1700000000.000100"}`},
		Path:     "/api/",
		Secrets:  []string{token},
		New: func(t *testing.T, endpoint string, client *http.Client, logger *slog.Logger) notify.Notifier {
			n, err := New(Options{Token: secret.New(token), Client: client, APIURL: endpoint, Store: state.NewMemory(nil), Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			return n
		},
		Check: func(t *testing.T, r notifytest.Request) {
			var m map[string]any
			if r.Method != "POST" || r.Path != "/api/chat.postMessage" || r.Header.Get("Authorization") != "Bearer "+token || json.Unmarshal(r.Body, &m) != nil || m["channel"] != "C0SEC" || m["text"] != "Root user signed in" {
				t.Errorf("request = %s %s %q %v", r.Method, r.Path, r.Body, r.Header)
			}
		},
	})
}

// slackAPI is a fake chat.postMessage that hands out increasing ts values
// and answers with scripted errors first.
type slackAPI struct {
	mu     sync.Mutex
	errors []string
	n      int
	bodies []map[string]any
}

func (s *slackAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m map[string]any
	_ = json.NewDecoder(r.Body).Decode(&m)
	s.bodies = append(s.bodies, m)
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer "+token {
		_, _ = w.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
		return
	}
	if len(s.errors) > 0 {
		code := s.errors[0]
		s.errors = s.errors[1:]
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": code})
		return
	}
	s.n++
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": "C0SEC", "ts": "1700000000.00010" + string(rune('0'+s.n))})
}

func (s *slackAPI) last() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[len(s.bodies)-1]
}

func newBot(t *testing.T, api *slackAPI, store state.Store, logger *slog.Logger, tok string) *Notifier {
	t.Helper()
	srv := notifytest.NewServer(t, notifytest.Step{})
	srv.Config.Handler = api
	n, err := New(Options{Token: secret.New(tok), Client: srv.Client(), APIURL: srv.URL + "/api", Store: store, ThreadTTL: time.Hour, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestThreads(t *testing.T) {
	clock := notifytest.NewClock()
	store := state.NewMemory(clock.Now)
	api := &slackAPI{}
	n := newBot(t, api, store, nil, token)
	ctx := context.Background()
	g := notifytest.Group("ops-bot")
	send := func(repeat bool) map[string]any {
		t.Helper()
		g.Repeat = repeat
		if err := clock.Retrier(nil).Deliver(ctx, n, payload(), g); err != nil {
			t.Fatal(err)
		}
		return api.last()
	}
	if m := send(false); m["thread_ts"] != nil {
		t.Errorf("first message in a thread: %v", m)
	}
	if m := send(true); m["thread_ts"] != "1700000000.000101" || m["channel"] != "C0SEC" {
		t.Errorf("repeat not in the first message's thread: %v", m)
	}
	if m := send(true); m["thread_ts"] != "1700000000.000101" {
		t.Errorf("second repeat not in the thread: %v", m)
	}
	// Another group has its own thread.
	other := notifytest.Group("ops-bot")
	other.Key, other.Repeat = "ops-bot/rule=other", true
	if err := notifyOnce(ctx, n, other); err != nil {
		t.Fatal(err)
	}
	if m := api.last(); m["thread_ts"] != nil {
		t.Errorf("a repeat of a group never posted went into a thread: %v", m)
	}
	// A new (non-repeat) notification of the group starts a new thread.
	if m := send(false); m["thread_ts"] != nil {
		t.Errorf("new notification in the old thread: %v", m)
	}
	if m := send(true); m["thread_ts"] != "1700000000.000105" {
		t.Errorf("repeat not in the new thread: %v", m)
	}
	// After the TTL the thread is forgotten.
	clock.Sleep(ctx, 2*time.Hour)
	if m := send(true); m["thread_ts"] != nil {
		t.Errorf("repeat went into an expired thread: %v", m)
	}
	if m := send(true); m["thread_ts"] != "1700000000.000107" {
		t.Errorf("repeat after expiry did not start a thread: %v", m)
	}
	// A thread Slack no longer knows is dropped and the message posted anew.
	api.errors = []string{"thread_not_found"}
	if m := send(true); m["thread_ts"] != nil {
		t.Errorf("after thread_not_found: %v", m)
	}
	if m := send(true); m["thread_ts"] != "1700000000.000109" {
		t.Errorf("repeat after a lost thread: %v", m)
	}
}

// notifyOnce sends the standard payload for g once.
func notifyOnce(ctx context.Context, n *Notifier, g *render.Group) error {
	_, err := n.Notify(ctx, payload(), g)
	return err
}

func TestAPIErrors(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	var out []string
	ctx := context.Background()

	// ratelimited and internal_error are retried.
	api := &slackAPI{errors: []string{"ratelimited", "internal_error"}}
	clock := notifytest.NewClock()
	if err := clock.Retrier(logger).Deliver(ctx, newBot(t, api, nil, logger, token), payload(), notifytest.Group("ops-bot")); err != nil {
		t.Fatal(err)
	}
	if len(api.bodies) != 3 || len(clock.Waits()) != 2 {
		t.Errorf("requests = %d, waits = %v", len(api.bodies), clock.Waits())
	}

	for code, want := range map[string]string{
		"invalid_auth":      "slack chat.postMessage answered error invalid_auth: check the bot token",
		"channel_not_found": "slack chat.postMessage answered error channel_not_found: check the channel id and that the bot can see the channel",
		"msg_too_long":      "slack chat.postMessage answered error msg_too_long",
	} {
		api := &slackAPI{errors: []string{code}}
		clock := notifytest.NewClock()
		err := clock.Retrier(logger).Deliver(ctx, newBot(t, api, nil, logger, token), payload(), notifytest.Group("ops-bot"))
		var de *notify.DeliveryError
		var ae *APIError
		if !errors.As(err, &de) || !de.Permanent || !errors.As(err, &ae) || ae.Code != code || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("%s: err = %v", code, err)
		}
		if !strings.Contains(err.Error(), `receiver "ops-bot"`) || len(api.bodies) != 1 {
			t.Errorf("%s: err = %v after %d requests", code, err, len(api.bodies))
		}
		out = append(out, err.Error())
	}

	// A wrong token is answered invalid_auth; the token shows nowhere.
	api = &slackAPI{}
	_, err := newBot(t, api, nil, logger, token+"-wrong").Notify(ctx, payload(), notifytest.Group("ops-bot"))
	if err == nil {
		t.Fatal("a wrong token succeeded")
	}
	out = append(out, err.Error())

	// An answer echoing the Authorization header is redacted.
	echo := notifytest.NewServer(t, notifytest.Step{Status: 500, Body: "upstream rejected Authorization: Bearer " + token})
	n, _ := New(Options{Token: secret.New(token), Client: echo.Client(), APIURL: echo.URL + "/"})
	if retry, err := n.Notify(ctx, payload(), nil); !retry || err == nil || !strings.Contains(err.Error(), "Authorization: <redacted>") {
		t.Errorf("echo: retry = %v, err = %v", retry, err)
	} else {
		out = append(out, err.Error())
	}
	notJSON := notifytest.NewServer(t, notifytest.Step{Status: 200, Body: "<html>" + token})
	n, _ = New(Options{Token: secret.New(token), Client: notJSON.Client(), APIURL: notJSON.URL + "/"})
	if retry, err := n.Notify(ctx, payload(), nil); !retry || err == nil {
		t.Errorf("not JSON: retry = %v, err = %v", retry, err)
	} else {
		out = append(out, err.Error())
	}

	// Store failures after a successful post are logged, not retried.
	n = newBot(t, &slackAPI{}, failingStore{state.NewMemory(nil)}, logger, token)
	if retry, err := n.Notify(ctx, payload(), notifytest.Group("ops-bot")); err != nil || retry {
		t.Errorf("store failure: retry = %v, err = %v", retry, err)
	}
	if !strings.Contains(logs.String(), "slackbot_thread_store_failed") {
		t.Errorf("store failure not logged: %s", logs.String())
	}
	notifytest.Leaks(t, []string{token, "1111-2222-d1st1nct1ve"}, append(out, logs.String())...)
}

type failingStore struct{ state.Store }

func (failingStore) Put(context.Context, string, []byte, time.Duration) error {
	return errors.New("dynamodb: throttled")
}

func TestPayloadErrors(t *testing.T) {
	n, err := New(Options{Token: secret.New(token), APIURL: "http://127.0.0.1:1/"})
	if err != nil {
		t.Fatal(err)
	}
	for body, want := range map[string]string{
		`[1]`:           "slackbot payload body is not a JSON object",
		`{"channel":1}`: `slackbot payload body's "channel" is not a string`,
		`{"text":"x"}`:  "slackbot has no channel: set it in the receiver's configuration",
	} {
		retry, err := n.Notify(context.Background(), &render.Payload{Body: []byte(body)}, nil)
		if retry || err == nil || err.Error() != want {
			t.Errorf("%s: retry = %v, err = %v", body, retry, err)
		}
	}
	for _, o := range []Options{{}, {Token: secret.New("xoxb-a b")}, {Token: secret.New(token), APIURL: "slack/api"}} {
		if _, err := New(o); err == nil || strings.Contains(err.Error(), token) {
			t.Errorf("New(%v) = %v", o, err)
		}
	}
}

func TestChannelFromOptions(t *testing.T) {
	api := &slackAPI{}
	srv := notifytest.NewServer(t, notifytest.Step{})
	srv.Config.Handler = api
	n, _ := New(Options{Token: secret.New(token), Channel: "C0DEF", Client: srv.Client(), APIURL: srv.URL + "/"})
	if _, err := n.Notify(context.Background(), &render.Payload{Body: []byte(`{"text":"x"}`)}, nil); err != nil {
		t.Fatal(err)
	}
	if api.last()["channel"] != "C0DEF" {
		t.Errorf("body = %v", api.last())
	}
}

// TestHostileEchoIsRedacted: the bot token never reaches an error or a log
// line, whether the server echoes it in an HTTP error body or in the Web
// API's "error" field, in any encoding.
func TestHostileEchoIsRedacted(t *testing.T) {
	newBot := func(t *testing.T, endpoint string, client *http.Client, logger *slog.Logger) notify.Notifier {
		n, err := New(Options{Token: secret.New(token), Channel: "C0SEC", Client: client, APIURL: endpoint, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Run("http error body", func(t *testing.T) {
		notifytest.RunHostile(t, notifytest.HostileCase{
			Payload: payload(), Path: "/api/",
			Echo: []string{token, "Bearer " + token}, Secrets: []string{token}, New: newBot,
		})
	})
	t.Run("error field", func(t *testing.T) {
		notifytest.RunHostile(t, notifytest.HostileCase{
			Payload: payload(), Path: "/api/", Status: http.StatusOK,
			Wrap: func(s string) string {
				b, _ := json.Marshal(map[string]any{"ok": false, "error": "invalid_auth " + s})
				return string(b)
			},
			Echo: []string{token, "Bearer " + token}, Secrets: []string{token}, New: newBot,
		})
	})
	t.Run("not json", func(t *testing.T) {
		notifytest.RunHostile(t, notifytest.HostileCase{
			Payload: payload(), Path: "/api/", Status: http.StatusOK,
			Echo: []string{token}, Secrets: []string{token}, New: newBot,
		})
	})
}
