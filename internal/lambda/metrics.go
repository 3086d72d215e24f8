package lambda

import (
	"encoding/json"
	"io"
	"time"
)

// Metrics writes CloudWatch embedded-metric-format lines, one per
// invocation, which CloudWatch turns into metrics without API calls. The
// deployment's alarms watch FailedDeliveries and RefusedInputs (namespace
// MetricNamespace, dimension Function).
type Metrics struct {
	w        io.Writer
	function string
	now      func() time.Time
}

// MetricNamespace is the CloudWatch namespace of the function's metrics.
const MetricNamespace = "trailwatch"

// NewMetrics returns a Metrics writing to w (the function's stdout).
func NewMetrics(w io.Writer, function string, now func() time.Time) *Metrics {
	if now == nil {
		now = time.Now
	}
	return &Metrics{w: w, function: function, now: now}
}

// Emit writes one line.
func (m *Metrics) Emit(c Counts, d time.Duration) {
	values := []struct {
		name string
		v    int
	}{
		{"Events", c.Events}, {"Alerts", c.Alerts}, {"SkippedInputs", c.Skipped},
		{"RecordErrors", c.RecordErrors}, {"RuleErrors", c.RuleErrors},
		{"FailedDeliveries", c.FailedDeliveries}, {"FailedMessages", c.FailedMessages},
		{"RefusedInputs", c.RefusedInputs},
	}
	defs := make([]map[string]string, 0, len(values)+1)
	line := map[string]any{"Function": m.function, "Duration": d.Milliseconds()}
	for _, v := range values {
		defs = append(defs, map[string]string{"Name": v.name, "Unit": "Count"})
		line[v.name] = v.v
	}
	defs = append(defs, map[string]string{"Name": "Duration", "Unit": "Milliseconds"})
	line["_aws"] = map[string]any{
		"Timestamp": m.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  MetricNamespace,
			"Dimensions": [][]string{{"Function"}},
			"Metrics":    defs,
		}},
	}
	b, _ := json.Marshal(line)
	m.w.Write(append(b, '\n'))
}
