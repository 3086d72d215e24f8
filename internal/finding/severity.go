package finding

import (
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/trailwatch/trailwatch/internal/event"
)

// guardDutySeverity maps GuardDuty's severity number to a level. GuardDuty
// documents the bands Low 1.0-3.9, Medium 4.0-6.9, High 7.0-8.9 and
// Critical 9.0-10.0 (attack sequences). A finding whose severity cannot be
// read counts as medium: a finding is never made quieter than it may be.
// text is the number as GuardDuty wrote it.
func guardDutySeverity(v *fastjson.Value) (sev event.Severity, text string) {
	x, ok := number(v)
	if !ok || x <= 0 {
		return event.SeverityMedium, ""
	}
	text = strconv.FormatFloat(x, 'f', -1, 64)
	switch {
	case x >= 9:
		return event.SeverityCritical, text
	case x >= 7:
		return event.SeverityHigh, text
	case x >= 4:
		return event.SeverityMedium, text
	}
	return event.SeverityLow, text
}

// asffSeverity maps an ASFF Severity to a level: Label (INFORMATIONAL, LOW,
// MEDIUM, HIGH, CRITICAL), else the deprecated Normalized score in the
// bands Security Hub documents (0 informational, 1-39 low, 40-69 medium,
// 70-89 high, 90-100 critical). An unreadable severity counts as medium.
func asffSeverity(v *fastjson.Value) (sev event.Severity, text string) {
	label := ""
	switch {
	case v == nil:
	case v.Type() == fastjson.TypeString:
		label = cutLabel(v)
	case v.Type() == fastjson.TypeObject:
		label = cutLabel(v.Get("Label"))
	}
	switch strings.ToUpper(label) {
	case "INFORMATIONAL":
		return event.SeverityInfo, label
	case "LOW":
		return event.SeverityLow, label
	case "MEDIUM":
		return event.SeverityMedium, label
	case "HIGH":
		return event.SeverityHigh, label
	case "CRITICAL":
		return event.SeverityCritical, label
	}
	n, ok := number(v.Get("Normalized"))
	if !ok || n < 0 {
		return event.SeverityMedium, label
	}
	text = strconv.FormatFloat(n, 'f', -1, 64)
	switch {
	case n >= 90:
		return event.SeverityCritical, text
	case n >= 70:
		return event.SeverityHigh, text
	case n >= 40:
		return event.SeverityMedium, text
	case n >= 1:
		return event.SeverityLow, text
	}
	return event.SeverityInfo, text
}

func cutLabel(v *fastjson.Value) string { return text(v, 32) }
