package pattern

import (
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/valyala/fastjson"
)

// envField names a field of the EventBridge envelope CloudTrail records are
// delivered in. The envelope is never built: each field is read from the
// record when a pattern asks for it.
type envField uint8

const (
	envNone envField = iota
	envSource
	envDetailType
	envDetail
	envAccount
	envRegion
	envTime
	envID
	envVersion
	envResources
)

// envFieldOf maps an envelope key to its field. source, detail-type and
// detail make a pattern an envelope pattern; the others are only read in one.
func envFieldOf(key string) (envField, bool) {
	switch key {
	case "source":
		return envSource, true
	case "detail-type":
		return envDetailType, true
	case "detail":
		return envDetail, true
	case "account":
		return envAccount, true
	case "region":
		return envRegion, true
	case "time":
		return envTime, true
	case "id":
		return envID, true
	case "version":
		return envVersion, true
	case "resources":
		return envResources, true
	}
	return envNone, false
}

// marksEnvelope reports whether a top-level key makes the pattern an envelope
// pattern.
func marksEnvelope(key string) bool {
	return key == "source" || key == "detail-type" || key == "detail"
}

const amazonawsSuffix = ".amazonaws.com"

// maxSource bounds the envelope source built on the stack; a longer
// eventSource (never written by CloudTrail) is built on the heap.
const maxSource = 96

// matchEnvelope matches an envelope-level node against the EventBridge form
// of rec.
func (n *node) matchEnvelope(rec *fastjson.Value) bool {
	for _, f := range n.fields {
		if !f.matchEnvelopeField(rec) {
			return false
		}
	}
	for _, group := range n.ors {
		ok := false
		for _, b := range group {
			if b.matchEnvelope(rec) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// matchEnvelopeField matches one envelope field. Every envelope field but
// detail is a string (resources is the empty array), so an object pattern on
// one of them sees an absent object.
func (f *field) matchEnvelopeField(rec *fastjson.Value) bool {
	if f.env == envDetail {
		if f.obj != nil {
			return f.obj.match(rec)
		}
		return f.leaf.match(rec)
	}
	if f.obj != nil {
		return f.obj.match(nil)
	}
	switch f.env {
	case envSource:
		src, ok := recordString(rec, "eventSource")
		if !ok {
			return f.leaf.matchString(nil, false)
		}
		svc := src
		if len(svc) >= len(amazonawsSuffix) && string(svc[len(svc)-len(amazonawsSuffix):]) == amazonawsSuffix {
			svc = svc[:len(svc)-len(amazonawsSuffix)]
		}
		if len(svc) == 0 {
			return f.leaf.matchString(nil, false)
		}
		var buf [maxSource]byte
		b := append(buf[:0], "aws."...)
		b = append(b, svc...)
		return f.leaf.matchString(b, true)
	case envDetailType:
		t, _ := recordString(rec, "eventType")
		dt := detailType(t)
		if dt == "" {
			return f.leaf.matchString(nil, false)
		}
		var buf [40]byte
		return f.leaf.matchString(append(buf[:0], dt...), true)
	case envAccount:
		if a, ok := recordString(rec, "recipientAccountId"); ok && len(a) > 0 {
			return f.leaf.matchString(a, true)
		}
		a, ok := recordString(rec, "userIdentity", "accountId")
		return f.leaf.matchString(a, ok && len(a) > 0)
	case envRegion:
		return f.leaf.matchString(recordString(rec, "awsRegion"))
	case envTime:
		return f.leaf.matchString(recordString(rec, "eventTime"))
	case envID:
		return f.leaf.matchString(recordString(rec, "eventID"))
	case envVersion:
		buf := [1]byte{'0'}
		return f.leaf.matchString(buf[:], true)
	default: // envResources: always the empty array, which holds no values
		return f.leaf.match(nil)
	}
}

// detailType returns the EventBridge detail-type CloudTrail uses for an
// eventType, "" when the record has none. It agrees with
// event.Event.DetailType, which allocates.
func detailType(eventType []byte) string {
	switch string(eventType) {
	case "":
		return ""
	case event.TypeConsoleSignIn:
		return "AWS Console Sign In via CloudTrail"
	case event.TypeServiceEvent:
		return "AWS Service Event via CloudTrail"
	case event.TypeConsoleAction:
		return "AWS Console Action via CloudTrail"
	case event.TypeInsight:
		return "AWS Insight via CloudTrail"
	}
	return "AWS API Call via CloudTrail"
}

// recordString returns the string at path in rec; ok is false when it is
// missing or not a string.
func recordString(rec *fastjson.Value, path ...string) ([]byte, bool) {
	v := rec
	for _, k := range path {
		if v == nil || v.Type() != fastjson.TypeObject {
			return nil, false
		}
		o, _ := v.Object()
		v = o.Get(k)
	}
	if v == nil || v.Type() != fastjson.TypeString {
		return nil, false
	}
	b, _ := v.StringBytes()
	return b, true
}
