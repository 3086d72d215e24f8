package event

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Severity orders how urgent an alert is.
type Severity int

// Severities from least to most urgent. The zero value is SeverityInfo.
const (
	SeverityInfo Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

// String returns the lower-case name: "info" ... "critical".
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name, case-insensitively.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want one of info, low, medium, high, critical)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// RuleInfo is what an alert carries of the rule or detector that raised it.
type RuleInfo struct {
	ID          string
	Title       string
	Severity    Severity
	Description string
	Tags        []string
	Refs        []string
	// Locales holds the rule's title and description in other languages,
	// keyed by locale ("ja"); Title and Description are the English text.
	Locales map[string]LocalText
}

// LocalText is a rule's or detector's text in one locale. Empty fields fall
// back to the English text.
type LocalText struct {
	Title       string
	Description string
}

// TitleIn returns the rule's title in locale, or the English title when
// the rule has none in that locale.
func (r RuleInfo) TitleIn(locale string) string {
	if t := r.Locales[locale].Title; t != "" {
		return t
	}
	return r.Title
}

// DescriptionIn returns the rule's description in locale, or the English
// description when the rule has none in that locale.
func (r RuleInfo) DescriptionIn(locale string) string {
	if d := r.Locales[locale].Description; d != "" {
		return d
	}
	return r.Description
}

// Alert is one rule firing on one event.
type Alert struct {
	Rule RuleInfo
	// Event is the event that fired the rule; it is a clone and may be kept.
	Event *Event
	// Summary is the rule's summary template rendered on the event.
	Summary string
	// Annotation is a jq rule's non-boolean result as compact JSON, or text
	// a detector adds ("6 failures in 5m0s").
	Annotation string
	// Context holds extra facts detectors add, such as "location" or "asn".
	Context map[string]string
	// Summaries holds the summary rendered in other locales, keyed by
	// locale ("ja"), for rules that carry a summary in that locale.
	Summaries map[string]string
	// Also holds the alerts other rules raised on the same event when they
	// are sent as one message with this one (see internal/fold): this
	// alert's rule is the message's primary, the others follow in order.
	// Nil for an alert sent on its own.
	Also []*Alert
	// Annotations holds the annotation in other locales, keyed by locale,
	// where trailwatch wrote it (a detector's or threshold's count).
	Annotations map[string]string

	// Finding is set on an alert about a GuardDuty or Security Hub
	// finding (see internal/finding); Event is then the finding's own
	// record. Nil for alerts about CloudTrail events.
	Finding *Finding

	// key is Key, kept by Bound before the event is cut.
	key string
}

// AnnotationIn returns the alert's annotation in locale, or the annotation
// as written when there is none in that locale (a jq result is data, the
// same in every locale).
func (a *Alert) AnnotationIn(locale string) string {
	if s, ok := a.Annotations[locale]; ok && s != "" {
		return s
	}
	return a.Annotation
}

// SummaryIn returns the alert's summary in locale, or the English summary
// when the rule has none in that locale.
func (a *Alert) SummaryIn(locale string) string {
	if s, ok := a.Summaries[locale]; ok && s != "" {
		return s
	}
	return a.Summary
}

// Key identifies the alert for idempotent delivery: the event's Identity
// and the rule id. It is worked out once, from the event as it was first
// given, so that Bound does not change it. An alert about a finding is
// keyed by the finding (Finding.Key).
func (a *Alert) Key() string {
	if a.key != "" {
		return a.key
	}
	if a.Finding != nil {
		return a.Finding.Key()
	}
	return a.Event.Identity() + "|" + a.Rule.ID
}

// RulePrefix starts the per-rule labels of a folded alert (one whose Also
// is set): the message about rules a and b carries "rule:a" and "rule:b"
// with the value "true", beside "rule", which names the primary.
const RulePrefix = "rule:"

// Labels returns the labels routes and silences match on. An alert with
// Also set carries rule:<id> for every rule of the message and the tags of
// all of them. An alert about a finding carries the finding's labels
// instead of the event's: source, finding_type, finding_id, product,
// resource_type, resource_id and, where the finding has them, principal,
// source_ip, generator, control, compliance and sample.
func (a *Alert) Labels() map[string]string {
	if a.Finding != nil {
		return a.Finding.labels(a.Rule)
	}
	e := a.Event
	p := e.Principal()
	l := map[string]string{
		"rule":           a.Rule.ID,
		"severity":       a.Rule.Severity.String(),
		"account":        e.Account(),
		"region":         e.Region(),
		"principal":      p.String(),
		"principal_type": p.Type,
		"principal_arn":  p.ARN,
		// The caller's own account (userIdentity.accountId), which differs
		// from account (the account the call was made in) for a call from
		// another account.
		"principal_account": p.AccountID,
		"event_name":        e.Name(),
		"event_source":      e.Source(),
		"source_ip":         e.SourceIP(),
		// The event itself, so that group_by: [...] sends one message
		// per event (per incident) rather than counting repeats of the
		// same call together.
		"event_id": e.ID(),
	}
	for _, t := range a.Rule.Tags {
		l["tag:"+t] = "true"
	}
	if len(a.Also) > 0 {
		l[RulePrefix+a.Rule.ID] = "true"
		for _, o := range a.Also {
			l[RulePrefix+o.Rule.ID] = "true"
			for _, t := range o.Rule.Tags {
				l["tag:"+t] = "true"
			}
		}
	}
	return l
}

// identityFields are the parts of a record that identify the real event
// and that AWS writes identically on every delivery path: the S3 log file,
// the EventBridge event's detail (which is the CloudTrail record) and the
// CloudWatch Logs message. Bodies (requestParameters, responseElements) are
// left out: EventBridge leaves large ones out of its events.
var identityFields = [...][]string{
	{"eventTime"}, {"eventSource"}, {"eventName"}, {"eventType"},
	{"awsRegion"}, {"recipientAccountId"}, {"sourceIPAddress"}, {"userAgent"},
	{"requestID"}, {"errorCode"},
	{"userIdentity", "type"}, {"userIdentity", "principalId"}, {"userIdentity", "arn"},
	{"userIdentity", "accountId"}, {"userIdentity", "invokedBy"},
}

// Identity names the real event behind a record for idempotent delivery:
// its eventID and a digest of the fields that AWS sets identically on
// every path the event can arrive by (identityFields), as
// "<eventID>|<digest>". The same event read from a log file, from
// EventBridge and from CloudWatch Logs has one Identity; a forged record
// that copies a real eventID but not the call it names has another, so it
// cannot make the real event's alert count as already delivered. A record
// without an eventID is named by a digest of its bytes.
func (e *Event) Identity() string {
	id := e.ID()
	if id == "" {
		return "sha256:" + rawHash(e.raw)
	}
	h := sha256.New()
	var n [8]byte
	for _, path := range identityFields {
		v := e.v.Get(path...)
		var b []byte
		switch {
		case v == nil:
			b = nil
		case v.Type() == fastjson.TypeString:
			b, _ = v.StringBytes()
		default:
			b = v.MarshalTo(nil)
		}
		// Length-prefixed, so that no shift of bytes between two fields
		// gives the same digest.
		binary.BigEndian.PutUint64(n[:], uint64(len(b))+1)
		if v == nil {
			binary.BigEndian.PutUint64(n[:], 0)
		}
		h.Write(n[:])
		h.Write(b)
	}
	sum := h.Sum(nil)
	return id + "|" + hex.EncodeToString(sum[:12])
}

// Limits of Bound. A record no larger than BoundSize is kept whole.
const (
	// BoundSize is the size above which a kept record is cut, and about
	// the most a cut record holds.
	BoundSize = 64 << 10
	// boundValue is the most bytes of one string a cut record keeps.
	boundValue = 4 << 10
	// boundItems is the most elements of one array or members of one
	// object a cut record keeps.
	boundItems = 64
	// boundDepth is the deepest nesting a cut record keeps.
	boundDepth = 16
)

// CutMarker starts the text that replaces what Bound left out.
const CutMarker = "…[trailwatch cut "

// Bound replaces the alert's event with a copy of bounded size when the
// record is larger than BoundSize, so that an alert kept for delivery never
// holds a record of many MiB (a 16 MiB user agent): strings are cut to 4
// KiB, arrays and objects to 64 members, nesting to 16 levels, and once the
// copy reaches about BoundSize every further value is replaced. Each cut
// is marked in the text with CutMarker and what was left out. The fields
// messages, labels and routes read come first, so they survive. Key is
// worked out before the cut and kept.
func (a *Alert) Bound() {
	if a.Event == nil {
		return
	}
	a.key = a.Key()
	if len(a.Event.raw) <= BoundSize {
		return
	}
	a.Event = a.Event.bounded()
}

// boundFirst are the top-level fields a cut record writes first, so that
// they survive the size budget.
var boundFirst = [...]string{
	"eventVersion", "eventID", "eventTime", "eventSource", "eventName", "eventType",
	"awsRegion", "recipientAccountId", "userIdentity", "sourceIPAddress", "userAgent",
	"errorCode", "errorMessage", "readOnly", "managementEvent", "eventCategory",
	"requestID", "additionalEventData", "responseElements", "requestParameters", "resources",
}

// bounded returns a copy of e cut as Bound describes.
func (e *Event) bounded() *Event {
	w := &boundWriter{budget: BoundSize}
	w.buf = append(w.buf, '{')
	o, _ := e.v.Object()
	n := 0
	member := func(k []byte, v *fastjson.Value) {
		if n > 0 {
			w.buf = append(w.buf, ',')
		}
		n++
		w.str(k)
		w.buf = append(w.buf, ':')
		w.value(v, 1)
	}
	first := map[string]bool{}
	for _, k := range boundFirst {
		if v := o.Get(k); v != nil {
			first[k] = true
			member([]byte(k), v)
		}
	}
	rest, more := 0, 0
	o.Visit(func(k []byte, v *fastjson.Value) {
		if first[string(k)] {
			return
		}
		if rest >= boundItems {
			more++
			return
		}
		rest++
		member(k, v)
	})
	if more > 0 {
		w.buf = append(w.buf, ',')
		w.marker("fields")
		w.buf = append(w.buf, ':')
		w.str([]byte(fmt.Sprintf("%d more fields", more)))
	}
	w.buf = append(w.buf, '}')
	c, err := Parse(w.buf, e.origin)
	if err != nil {
		// The writer emits valid JSON; should it not, keep a record that
		// still names the event rather than the whole of it.
		f := &boundWriter{buf: []byte(`{"eventID":`)}
		f.str([]byte(e.ID()))
		c, _ = Parse(append(f.buf, '}'), e.origin)
	}
	return c
}

// boundWriter writes a cut copy of a JSON tree.
type boundWriter struct {
	buf    []byte
	budget int
}

func (w *boundWriter) marker(what string) {
	w.str([]byte(CutMarker + what + "]"))
}

func (w *boundWriter) value(v *fastjson.Value, depth int) {
	if len(w.buf) >= w.budget {
		w.marker("at the size limit")
		return
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		if len(b) > boundValue {
			cut := boundValue
			for cut > 0 && !utf8.RuneStart(b[cut]) {
				cut--
			}
			w.str(append(b[:cut:cut], fmt.Sprintf("%s%d bytes]", CutMarker, len(b)-cut)...))
			return
		}
		w.str(b)
	case fastjson.TypeObject:
		if depth >= boundDepth {
			w.marker("nested deeper")
			return
		}
		o, _ := v.Object()
		w.buf = append(w.buf, '{')
		n, more := 0, 0
		o.Visit(func(k []byte, c *fastjson.Value) {
			if n >= boundItems {
				more++
				return
			}
			if n > 0 {
				w.buf = append(w.buf, ',')
			}
			n++
			if len(k) > boundValue {
				k = []byte(fmt.Sprintf("%skey of %d bytes]", CutMarker, len(k)))
			}
			w.str(k)
			w.buf = append(w.buf, ':')
			w.value(c, depth+1)
		})
		if more > 0 {
			if n > 0 {
				w.buf = append(w.buf, ',')
			}
			w.marker("fields")
			w.buf = append(w.buf, ':')
			w.str([]byte(fmt.Sprintf("%d more fields", more)))
		}
		w.buf = append(w.buf, '}')
	case fastjson.TypeArray:
		if depth >= boundDepth {
			w.marker("nested deeper")
			return
		}
		a, _ := v.Array()
		w.buf = append(w.buf, '[')
		for i, c := range a {
			if i == boundItems {
				w.buf = append(w.buf, ',')
				w.marker(fmt.Sprintf("%d more items", len(a)-i))
				break
			}
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.value(c, depth+1)
		}
		w.buf = append(w.buf, ']')
	case fastjson.TypeNumber:
		b := v.MarshalTo(nil)
		switch {
		case len(b) > 64:
			w.marker(fmt.Sprintf("number of %d digits", len(b)))
		case !jsonNumber(b):
			// The parser takes numbers JSON does not ("007"): keep the
			// text, as a string.
			w.str(b)
		default:
			w.buf = append(w.buf, b...)
		}
	default: // true, false, null
		w.buf = v.MarshalTo(w.buf)
	}
}

// jsonNumber reports whether b is a number as JSON writes one:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func jsonNumber(b []byte) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	start := i
	if n := digits(); n == 0 || n > 1 && b[start] == '0' {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}

// str writes b as a JSON string; bytes that are not UTF-8 become U+FFFD.
func (w *boundWriter) str(b []byte) {
	const hexDigits = "0123456789abcdef"
	w.buf = append(w.buf, '"')
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == '"' || r == '\\':
			w.buf = append(w.buf, '\\', byte(r))
		case r < 0x20:
			w.buf = append(w.buf, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xf])
		case r == utf8.RuneError && size == 1:
			w.buf = append(w.buf, "\\ufffd"...)
		default:
			w.buf = append(w.buf, b[:size]...)
		}
		b = b[size:]
	}
	w.buf = append(w.buf, '"')
}

// SelfSource is the eventSource of the records trailwatch writes about
// itself, for the alerts it raises about its own operation.
const SelfSource = "trailwatch"

// SelfAlert returns an alert trailwatch raises about itself (input it
// refused, alerts it folded) for rule, routed and delivered like any other.
// Its event is a record trailwatch writes: eventSource SelfSource, eventName
// name, eventTime at, the facts under requestParameters, and an eventID
// derived from name and the facts, so that the same finding raised again
// (a retried message) is delivered once.
func SelfAlert(rule RuleInfo, name string, at time.Time, facts map[string]string, origin Origin) *Alert {
	keys := make([]string, 0, len(facts))
	for k := range facts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	h.Write([]byte(name))
	for _, k := range keys {
		fmt.Fprintf(h, "\x00%d:%s\x00%d:%s", len(k), k, len(facts[k]), facts[k])
	}
	id := "trailwatch-" + hex.EncodeToString(h.Sum(nil)[:16])
	w := &boundWriter{}
	field := func(k, v string) {
		w.str([]byte(k))
		w.buf = append(w.buf, ':')
		w.str([]byte(v))
		w.buf = append(w.buf, ',')
	}
	w.buf = append(w.buf, '{')
	field("eventVersion", "1.08")
	field("eventID", id)
	field("eventTime", at.UTC().Format(time.RFC3339))
	field("eventSource", SelfSource)
	field("eventName", name)
	field("eventType", "TrailwatchSelf")
	w.str([]byte("requestParameters"))
	w.buf = append(w.buf, ':', '{')
	for i, k := range keys {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.str([]byte(k))
		w.buf = append(w.buf, ':')
		w.str([]byte(facts[k]))
	}
	w.buf = append(w.buf, '}', '}')
	ev, err := Parse(w.buf, origin)
	if err != nil {
		panic("event: a self alert's record does not parse: " + err.Error())
	}
	// The key leaves the time out: the finding raised again later is the
	// same finding.
	return &Alert{Rule: rule, Event: ev, key: id + "|" + rule.ID}
}
