package event

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// Event types as CloudTrail writes them in eventType.
const (
	TypeAPICall       = "AwsApiCall"
	TypeConsoleSignIn = "AwsConsoleSignIn"
	TypeServiceEvent  = "AwsServiceEvent"
	TypeConsoleAction = "AwsConsoleAction"
	TypeInsight       = "AwsCloudTrailInsight"
	TypeVPCEEvent     = "AwsVpceEvent"
)

// Origin says where an event came from, so that errors, logs and partial
// batch responses can name the exact input.
type Origin struct {
	// Input names the file, S3 object (s3://bucket/key), "-" for stdin, or
	// the Lambda payload the event was read from.
	Input string
	// Index is the record's zero-based position within Input.
	Index int
	// Path is the delivery path: "file", "s3", "eventbridge", "sns", "sqs",
	// "cloudwatch-logs", or "payload" for a bare event handed to Lambda.
	// Nested envelopes name the outermost.
	Path string
	// MessageID is the SQS message id when the event arrived through SQS.
	MessageID string
	// Kind is what the record is: a CloudTrail event (the zero value) or
	// the EventBridge event of a finding another service raised.
	Kind Kind
}

// String returns "input[#index]" for error messages.
func (o Origin) String() string {
	if o.Input == "" {
		return fmt.Sprintf("record %d", o.Index)
	}
	return fmt.Sprintf("%s record %d", o.Input, o.Index)
}

// Event is one CloudTrail record. The zero value is not usable; events come
// from Parse, a Parser, or Clone.
//
// Events from Parse and Clone are safe for concurrent reads. An Event owned
// by a Parser is for one goroutine only, and is overwritten by the Parser's
// next call: reading a parsed tree decodes string escapes and object keys in
// place, which Parse and Clone do once, up front, and the hot path skips.
type Event struct {
	raw    []byte
	v      *fastjson.Value
	origin Origin
}

// ErrNotObject is returned when a record is valid JSON but not an object.
var ErrNotObject = errors.New("record is not a JSON object")

// Parser parses records into events, reusing its memory. The Event it returns
// is valid until the next call to Parse; Clone it to keep it. A Parser is not
// safe for concurrent use.
type Parser struct {
	p  fastjson.Parser
	ev Event
}

// Parse parses raw as one CloudTrail record. raw is not retained past the
// next call to Parse; the caller may reuse it afterwards only after cloning.
func (p *Parser) Parse(raw []byte, origin Origin) (*Event, error) {
	v, err := p.p.ParseBytes(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", origin, err)
	}
	if v.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("%s: %w (got %s)", origin, ErrNotObject, v.Type())
	}
	p.ev = Event{raw: raw, v: v, origin: origin}
	return &p.ev, nil
}

// Parse parses raw into an independent Event that owns a copy of raw.
func Parse(raw []byte, origin Origin) (*Event, error) {
	var p Parser
	own := append([]byte(nil), raw...)
	ev, err := p.Parse(own, origin)
	if err != nil {
		return nil, err
	}
	freeze(ev.v)
	out := *ev
	return &out, nil
}

// freeze decodes every lazily decoded part of the tree (object keys, string
// escapes) so that later reads only read.
func freeze(v *fastjson.Value) {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		o.Visit(func(_ []byte, c *fastjson.Value) { freeze(c) })
	case fastjson.TypeArray:
		a, _ := v.Array()
		for _, c := range a {
			freeze(c)
		}
	}
}

// MustParse is Parse for tests and examples; it panics on error.
func MustParse(raw string) *Event {
	ev, err := Parse([]byte(raw), Origin{Input: "literal"})
	if err != nil {
		panic(err)
	}
	return ev
}

// Clone returns an Event that shares no memory with e's Parser.
func (e *Event) Clone() *Event {
	c, err := Parse(e.raw, e.origin)
	if err != nil {
		// e parsed once, so its bytes parse again.
		panic("event: clone of a parsed event failed: " + err.Error())
	}
	return c
}

// Raw returns the record's JSON exactly as read.
func (e *Event) Raw() []byte { return e.raw }

// Value returns the parsed record, for the rule languages.
func (e *Event) Value() *fastjson.Value { return e.v }

// Origin returns where the event was read from.
func (e *Event) Origin() Origin { return e.origin }

// Kind returns what the record is (Origin().Kind).
func (e *Event) Kind() Kind { return e.origin.Kind }

// SetOrigin replaces the event's origin; ingest uses it to add envelope
// details such as an SQS message id.
func (e *Event) SetOrigin(o Origin) { e.origin = o }

// Str returns the string at path, or "" when it is missing or not a string.
func (e *Event) Str(path ...string) string {
	return str(e.v.Get(path...))
}

func str(v *fastjson.Value) string {
	if v == nil || v.Type() != fastjson.TypeString {
		return ""
	}
	b, _ := v.StringBytes()
	return string(b)
}

// ID returns eventID.
func (e *Event) ID() string { return e.Str("eventID") }

// Time returns eventTime, or the zero time when it is missing or malformed.
func (e *Event) Time() time.Time {
	s := e.Str("eventTime")
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Name returns eventName.
func (e *Event) Name() string { return e.Str("eventName") }

// Source returns eventSource, the service, such as "iam.amazonaws.com".
func (e *Event) Source() string { return e.Str("eventSource") }

// Type returns eventType (see the Type constants).
func (e *Event) Type() string { return e.Str("eventType") }

// Version returns eventVersion.
func (e *Event) Version() string { return e.Str("eventVersion") }

// Account returns recipientAccountId, else userIdentity.accountId.
func (e *Event) Account() string {
	if a := e.Str("recipientAccountId"); a != "" {
		return a
	}
	return e.Str("userIdentity", "accountId")
}

// Region returns awsRegion.
func (e *Event) Region() string { return e.Str("awsRegion") }

// ReadOnly reports readOnly; ok is false when the record does not say.
// CloudTrail writes a boolean; some exporters write the string form.
func (e *Event) ReadOnly() (readOnly, ok bool) {
	return boolish(e.v.Get("readOnly"))
}

// boolish reads a JSON boolean or one of the strings true/false/yes/no.
func boolish(v *fastjson.Value) (b, ok bool) {
	if v == nil {
		return false, false
	}
	switch v.Type() {
	case fastjson.TypeTrue:
		return true, true
	case fastjson.TypeFalse:
		return false, true
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		switch strings.ToLower(string(s)) {
		case "true", "yes":
			return true, true
		case "false", "no":
			return false, true
		}
	}
	return false, false
}

// ErrorCode returns errorCode, empty when the call succeeded.
func (e *Event) ErrorCode() string { return e.Str("errorCode") }

// ErrorMessage returns errorMessage.
func (e *Event) ErrorMessage() string { return e.Str("errorMessage") }

// SourceIP returns sourceIPAddress, which may also be a service name such as
// "ec2.amazonaws.com" or "AWS Internal".
func (e *Event) SourceIP() string { return e.Str("sourceIPAddress") }

// UserAgent returns userAgent.
func (e *Event) UserAgent() string { return e.Str("userAgent") }

// IsSignIn reports whether the event is a console sign-in event (ConsoleLogin,
// SwitchRole, CheckMfa, PasswordUpdated, ...).
func (e *Event) IsSignIn() bool {
	return e.Type() == TypeConsoleSignIn || e.Source() == "signin.amazonaws.com"
}

// MFAUsed reports whether MFA was used; known is false when the record does
// not say. Sign-in events carry additionalEventData.MFAUsed ("Yes"/"No", or a
// boolean for Identity Center users); other events carry
// userIdentity.sessionContext.attributes.mfaAuthenticated.
func (e *Event) MFAUsed() (used, known bool) {
	if v := e.v.Get("additionalEventData", "MFAUsed"); v != nil {
		return boolish(v)
	}
	return boolish(e.v.Get("userIdentity", "sessionContext", "attributes", "mfaAuthenticated"))
}

// Login results.
const (
	LoginSuccess = "Success"
	LoginFailure = "Failure"
)

// LoginResult returns "Success" or "Failure" for sign-in events that report
// one in responseElements (ConsoleLogin, SwitchRole, CheckMfa, ...), and ""
// for every other event.
func (e *Event) LoginResult() string {
	name := e.Name()
	if name == "" || !e.IsSignIn() {
		return ""
	}
	switch r := e.Str("responseElements", name); r {
	case LoginSuccess, LoginFailure:
		return r
	}
	return ""
}

// ConsoleURL returns the link to the event in the CloudTrail console's event
// history, or "" when the event has no id or region.
func (e *Event) ConsoleURL() string {
	id, region := e.ID(), e.Region()
	if id == "" || region == "" || !validRegion(region) {
		return ""
	}
	return "https://" + region + ".console.aws.amazon.com/cloudtrailv2/home?region=" + region +
		"#/events/" + url.PathEscape(id)
}

// validRegion keeps attacker-chosen text out of the console URL's host.
func validRegion(r string) bool {
	if len(r) > 32 {
		return false
	}
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ServiceName returns the service part of eventSource: "iam" for
// "iam.amazonaws.com".
func (e *Event) ServiceName() string {
	return strings.TrimSuffix(e.Source(), ".amazonaws.com")
}

// EnvelopeSource returns the EventBridge "source" for the event: "aws.iam"
// for an eventSource of "iam.amazonaws.com".
func (e *Event) EnvelopeSource() string {
	s := e.ServiceName()
	if s == "" {
		return ""
	}
	return "aws." + s
}

// DetailType returns the EventBridge "detail-type" CloudTrail uses for the
// event's type.
func (e *Event) DetailType() string {
	switch e.Type() {
	case TypeConsoleSignIn:
		return "AWS Console Sign In via CloudTrail"
	case TypeServiceEvent:
		return "AWS Service Event via CloudTrail"
	case TypeConsoleAction:
		return "AWS Console Action via CloudTrail"
	case TypeInsight:
		return "AWS Insight via CloudTrail"
	case TypeAPICall, TypeVPCEEvent:
		return "AWS API Call via CloudTrail"
	case "":
		return ""
	}
	return "AWS API Call via CloudTrail"
}

// Int returns the integer at path and whether it was a number.
func (e *Event) Int(path ...string) (int64, bool) {
	v := e.v.Get(path...)
	if v == nil || v.Type() != fastjson.TypeNumber {
		return 0, false
	}
	f, err := v.Float64()
	if err != nil {
		return 0, false
	}
	return int64(f), true
}

// Field returns the value at a dotted path ("userIdentity.userName",
// "resources.0.ARN") rendered as text: strings as they are, other JSON values
// as compact JSON, and "" when missing. Templates use it.
func (e *Event) Field(dotted string) string {
	v := e.v.Get(splitPath(dotted)...)
	if v == nil {
		return ""
	}
	if v.Type() == fastjson.TypeString {
		return str(v)
	}
	if v.Type() == fastjson.TypeNull {
		return ""
	}
	return string(v.MarshalTo(nil))
}

func splitPath(dotted string) []string {
	dotted = strings.TrimPrefix(dotted, "$.")
	if dotted == "" {
		return nil
	}
	return strings.Split(dotted, ".")
}

// quoteIfNeeded is used by String.
func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"") {
		return strconv.Quote(s)
	}
	return s
}

// String summarises the event for logs: name, id and origin.
func (e *Event) String() string {
	return fmt.Sprintf("%s id=%s (%s)", quoteIfNeeded(e.Name()), quoteIfNeeded(e.ID()), e.origin)
}
