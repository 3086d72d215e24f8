// Package slackbot sends payloads with a Slack bot token through the Web
// API's chat.postMessage, and keeps the repeats of a group in the thread of
// the group's first message.
//
// The Web API answers HTTP 200 for most failures, with {"ok":false,
// "error":"..."}: "ratelimited" and Slack's own faults are retried, anything
// else (invalid_auth, channel_not_found, not_in_channel, missing_scope...)
// is permanent. HTTP 429 carries Retry-After and is honoured.
//
// Threads: after a group's first message is posted, its channel and ts are
// stored in a state.Store under a key derived from the receiver, channel and
// group key, with a TTL. A payload for a repeat of the group (Group.Repeat)
// is posted with thread_ts set to that ts. When nothing is stored (the TTL
// passed, or there is no Store) the repeat starts a new thread.
package slackbot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/secret"
	"github.com/trailwatch/trailwatch/internal/state"
)

// DefaultAPIURL is the Web API's base URL.
const DefaultAPIURL = "https://slack.com/api/"

// DefaultThreadTTL is how long a group's thread is remembered when
// Options.ThreadTTL is zero.
const DefaultThreadTTL = 7 * 24 * time.Hour

// Options configure a bot receiver.
type Options struct {
	// Token is the bot token (xoxb-...) with the chat:write scope.
	Token secret.Secret
	// Channel is the channel id (C0123...) or name used when the payload
	// body names none. The body's "channel" wins.
	Channel string
	// Client sends the requests; nil means http.DefaultClient. Redirects
	// are never followed.
	Client *http.Client
	// Redactor receives the token as a secret; nil means one of the
	// receiver's own.
	Redactor *notify.Redactor
	// APIURL is the Web API's base URL, ending in "/"; empty means
	// DefaultAPIURL. Tests point it at a local server.
	APIURL string
	// Store remembers each group's thread; nil disables threads.
	Store state.Store
	// ThreadTTL is how long a thread is remembered (DefaultThreadTTL). Set
	// it to at least the group's lifetime.
	ThreadTTL time.Duration
	// ReplyBroadcast also shows thread replies in the channel.
	ReplyBroadcast bool
	// Logger receives a warning when a thread cannot be stored; nil
	// discards.
	Logger *slog.Logger
}

// Notifier posts with one bot token. Safe for concurrent use.
type Notifier struct {
	o Options
}

// New returns a Notifier, or an error when the token is missing or the API
// URL is not a URL.
func New(o Options) (*Notifier, error) {
	if o.Token.IsZero() {
		return nil, errors.New("slackbot: the bot token is empty")
	}
	if strings.ContainsAny(o.Token.Reveal(), "\r\n ") {
		return nil, errors.New("slackbot: the bot token holds spaces or line breaks")
	}
	if o.APIURL == "" {
		o.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(o.APIURL, "/") {
		o.APIURL += "/"
	}
	if err := notify.CheckURL(o.APIURL); err != nil {
		return nil, fmt.Errorf("slackbot: api url: %w", err)
	}
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if o.ThreadTTL <= 0 {
		o.ThreadTTL = DefaultThreadTTL
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Redactor == nil {
		o.Redactor = &notify.Redactor{}
	}
	o.Redactor.AddHeader("Bearer " + o.Token.Reveal())
	return &Notifier{o: o}, nil
}

// APIError is a Web API answer with ok=false.
type APIError struct {
	Method string // "chat.postMessage"
	Code   string // Slack's error code, e.g. "channel_not_found"
}

// Error implements error.
func (e *APIError) Error() string {
	s := "slack " + e.Method + " answered error " + e.Code
	if h := hint(e.Code); h != "" {
		s += ": " + h
	}
	return s
}

// hint says what to do about an error code, or "".
func hint(code string) string {
	switch code {
	case "invalid_auth", "not_authed":
		return "check the bot token"
	case "token_revoked":
		return "the bot token was revoked; install the app again"
	case "account_inactive":
		return "the bot token belongs to a deactivated user or app"
	case "channel_not_found":
		return "check the channel id and that the bot can see the channel"
	case "not_in_channel":
		return "invite the bot to the channel"
	case "missing_scope":
		return "the app needs the chat:write scope"
	case "is_archived":
		return "the channel is archived"
	case "ratelimited":
		return "Slack asks to slow down"
	}
	return ""
}

// retryable reports whether a later attempt may get past an error code.
func retryable(code string) bool {
	switch code {
	case "ratelimited", "rate_limited", "internal_error", "fatal_error",
		"service_unavailable", "request_timeout", "team_added_to_org":
		return true
	}
	return false
}

// threadGone reports whether an error code says Slack no longer knows a
// thread_ts.
func threadGone(code string) bool {
	return code == "thread_not_found" || code == "invalid_thread_ts" || code == "message_not_found"
}

type thread struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

type answer struct {
	OK      bool   `json:"ok"`
	Error   string `json:"error"`
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, p *render.Payload, g *render.Group) (bool, error) {
	var msg map[string]json.RawMessage
	if err := json.Unmarshal(p.Body, &msg); err != nil || msg == nil {
		return false, errors.New("slackbot payload body is not a JSON object")
	}
	channel := n.o.Channel
	if raw, ok := msg["channel"]; ok {
		if err := json.Unmarshal(raw, &channel); err != nil {
			return false, errors.New(`slackbot payload body's "channel" is not a string`)
		}
	}
	if channel == "" {
		return false, errors.New("slackbot has no channel: set it in the receiver's configuration")
	}
	msg["channel"] = jsonString(channel)

	key := ""
	if n.o.Store != nil && g != nil {
		key = threadKey(p.Receiver, channel, g.Key)
	}
	threaded := false
	if key != "" && g.Repeat {
		raw, ok, err := n.o.Store.Get(ctx, key)
		if err != nil {
			return true, fmt.Errorf("slackbot cannot read the group's thread from the state store: %w", err)
		}
		var th thread
		if ok && json.Unmarshal(raw, &th) == nil && th.TS != "" {
			msg["channel"] = jsonString(th.Channel)
			msg["thread_ts"] = jsonString(th.TS)
			if n.o.ReplyBroadcast {
				msg["reply_broadcast"] = json.RawMessage("true")
			}
			threaded = true
		}
	}

	ans, retry, err := n.post(ctx, msg)
	if err != nil {
		var ae *APIError
		if threaded && errors.As(err, &ae) && threadGone(ae.Code) {
			// The first message is gone: start the thread again.
			_ = n.o.Store.Delete(ctx, key)
			delete(msg, "thread_ts")
			delete(msg, "reply_broadcast")
			msg["channel"] = jsonString(channel)
			threaded = false
			ans, retry, err = n.post(ctx, msg)
		}
		if err != nil {
			return retry, err
		}
	}
	if key != "" && !threaded && ans.TS != "" {
		th, _ := json.Marshal(thread{Channel: ans.Channel, TS: ans.TS})
		if ans.Channel == "" {
			th, _ = json.Marshal(thread{Channel: channel, TS: ans.TS})
		}
		// The message is out; failing to remember its thread only means a
		// repeat starts a new one, so it is logged rather than retried
		// (a retry would post the message twice).
		if err := n.o.Store.Put(ctx, key, th, n.o.ThreadTTL); err != nil {
			n.o.Logger.WarnContext(ctx, "slackbot_thread_store_failed", "receiver", p.Receiver, "group_key", g.Key, "error", err.Error())
		}
	}
	return false, nil
}

func (n *Notifier) post(ctx context.Context, msg map[string]json.RawMessage) (answer, bool, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return answer{}, false, fmt.Errorf("slackbot cannot encode the message: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.o.APIURL+"chat.postMessage", bytes.NewReader(body))
	if err != nil {
		return answer{}, false, errors.New("slackbot api url is not a valid URL")
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+n.o.Token.Reveal())
	raw, retry, err := notify.Send(n.o.Client, req, "slack chat.postMessage", n.o.Redactor)
	if err != nil {
		return answer{}, retry, err
	}
	var ans answer
	if err := json.Unmarshal(raw, &ans); err != nil {
		return answer{}, true, fmt.Errorf("slack chat.postMessage answered with something other than JSON: %s", n.o.Redactor.Snippet(raw))
	}
	if !ans.OK {
		code := ans.Error
		if code == "" {
			code = "unknown_error"
		}
		if !errorCode(code) {
			// Slack's codes are short snake_case words; anything else is
			// the server's own text and may quote the request.
			code = "unknown_error (" + n.o.Redactor.Snippet([]byte(code)) + ")"
		}
		return answer{}, retryable(code), &APIError{Method: "chat.postMessage", Code: code}
	}
	return ans, false, nil
}

// errorCode reports whether s has the shape of a Web API error code:
// lower-case letters, digits and underscores, at most 64 of them.
func errorCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// threadKey is the state key of a group's thread. The group key holds label
// values taken from events, so it is hashed to keep the key short and
// printable.
func threadKey(receiver, channel, group string) string {
	h := sha256.Sum256([]byte(receiver + "\x00" + channel + "\x00" + group))
	return "slackbot/thread/" + hex.EncodeToString(h[:16])
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
