package event

import (
	"math"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// Insight is what a CloudTrail Insights event (eventType
// AwsCloudTrailInsight) says about a period of unusual API activity, read
// from insightDetails for rule summaries:
//
//	{{with .Insight}}{{.API}}: {{.Rate}} per minute, usually {{.BaselineRate}}{{end}}
//
// Every other event gives the zero Insight.
type Insight struct {
	// State is "Start" or "End": CloudTrail writes one event when the
	// unusual activity begins and one when it ends, sharing sharedEventID.
	State string
	// Type is "ApiCallRateInsight" or "ApiErrorRateInsight".
	Type string
	// EventSource and EventName name the API the activity was on.
	EventSource, EventName string
	// Average is the calls (or errors) per minute during the activity:
	// its first minute in a Start event, its whole length in an End
	// event. Baseline is the usual rate, measured over the week before.
	Average, Baseline float64
	// Duration is how long the activity lasted, in minutes (0 when the
	// event does not say); BaselineDuration is the length of the baseline
	// period in minutes.
	Duration, BaselineDuration int
	// ErrorCode, Identity and UserAgent are the error code, the caller
	// ARN and the user agent that contributed most during the activity,
	// from insightContext.attributions ("" when not attributed); an error
	// rate insight's own errorCode comes first.
	ErrorCode, Identity, UserAgent string
}

// Insights event types.
const (
	InsightCallRate  = "ApiCallRateInsight"
	InsightErrorRate = "ApiErrorRateInsight"
)

// Insight reads insightDetails; see Insight.
func (e *Event) Insight() Insight {
	d := e.v.Get("insightDetails")
	if d == nil || d.Type() != fastjson.TypeObject {
		return Insight{}
	}
	stats := d.Get("insightContext", "statistics")
	in := Insight{
		State:            str(d.Get("state")),
		Type:             str(d.Get("insightType")),
		EventSource:      str(d.Get("eventSource")),
		EventName:        str(d.Get("eventName")),
		Average:          number(stats.Get("insight", "average")),
		Baseline:         number(stats.Get("baseline", "average")),
		Duration:         int(number(stats.Get("insightDuration"))),
		BaselineDuration: int(number(stats.Get("baselineDuration"))),
		ErrorCode:        str(d.Get("errorCode")),
	}
	attrs := d.GetArray("insightContext", "attributions")
	for _, a := range attrs {
		top := ""
		if first := a.GetArray("insight"); len(first) > 0 {
			top = str(first[0].Get("value"))
		}
		if top == "null" {
			// CloudTrail writes the string "null" for calls without an
			// error code.
			top = ""
		}
		switch str(a.Get("attribute")) {
		case "errorCode":
			if in.ErrorCode == "" {
				in.ErrorCode = top
			}
		case "userIdentityArn":
			in.Identity = top
		case "userAgent":
			in.UserAgent = top
		}
	}
	return in
}

// number reads a JSON number, or 0 for anything else.
func number(v *fastjson.Value) float64 {
	if v == nil || v.Type() != fastjson.TypeNumber {
		return 0
	}
	f, err := v.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// ErrorRate reports whether the insight is about errors rather than calls.
func (i Insight) ErrorRate() bool { return i.Type == InsightErrorRate }

// API names the API as "service:Action" ("ssm:UpdateInstanceInformation").
func (i Insight) API() string {
	svc := strings.TrimSuffix(i.EventSource, ".amazonaws.com")
	if svc == "" {
		return i.EventName
	}
	return svc + ":" + i.EventName
}

// Rate returns Average to three significant digits ("664", "0.6").
func (i Insight) Rate() string { return rate(i.Average) }

// BaselineRate returns Baseline to three significant digits
// ("85.4", "0.0000882").
func (i Insight) BaselineRate() string { return rate(i.Baseline) }

// Times returns how many times the baseline the activity ran at ("7.8",
// "6800"), or "" when there is no baseline to compare with.
func (i Insight) Times() string {
	if i.Baseline <= 0 || i.Average <= 0 {
		return ""
	}
	r := i.Average / i.Baseline
	switch {
	case r >= 100:
		return rate(r)
	case r >= 10:
		return strconv.FormatFloat(math.Round(r), 'f', 0, 64)
	}
	return trimZeros(strconv.FormatFloat(r, 'f', 1, 64))
}

// rate formats v to three significant digits, without an exponent.
func rate(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	digits := 2 - int(math.Floor(math.Log10(math.Abs(v))))
	if digits <= 0 {
		p := math.Pow(10, float64(-digits))
		return strconv.FormatFloat(math.Round(v/p)*p, 'f', 0, 64)
	}
	return trimZeros(strconv.FormatFloat(v, 'f', min(digits, 12), 64))
}

func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
