package deploy

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/lambda"
)

// TestKMSDecryptNeedsEncryptionContext: the function may decrypt only what
// it reads, told apart by the encryption context each service sets; a
// statement without one would let it decrypt anything under the keys.
func TestKMSDecryptNeedsEncryptionContext(t *testing.T) {
	want := map[string]string{
		"KmsPolicy/KmsTrailLogFiles":          "kms:EncryptionContext:aws:cloudtrail:arn",
		"KmsPolicy/KmsSecureStringParameters": "kms:EncryptionContext:PARAMETER_ARN",
		"KmsPolicy/KmsSecrets":                "kms:EncryptionContext:SecretARN",
		"KmsPolicy/KmsReferences":             "kms:EncryptionContext:LambdaFunctionName",
		"KmsPolicy/KmsReadObjects":            "kms:EncryptionContext:aws:s3:arn",
	}
	seen := 0
	for _, st := range identityStatements(load(t, "trailwatch.yaml")) {
		decrypts := false
		for _, a := range st.actions {
			decrypts = decrypts || a == "kms:Decrypt"
		}
		if !decrypts {
			continue
		}
		seen++
		key, ok := want[st.where]
		if !ok {
			t.Errorf("%s: kms:Decrypt in a statement not reviewed here", st.where)
			continue
		}
		found := false
		for _, op := range st.condition {
			m, _ := op.(map[string]any)
			_, has := m[key]
			found = found || has
		}
		if !found || len(st.condition) != 1 {
			t.Errorf("%s: condition %v; want exactly one operator on %s", st.where, st.condition, key)
		}
	}
	if seen != len(want) {
		t.Errorf("%d kms:Decrypt statements; want %d", seen, len(want))
	}
}

// denyStatements returns the Deny statements of a resource policy.
func denyStatements(t *testing.T, r resource) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, s := range asList(r.Properties["PolicyDocument"].(map[string]any)["Statement"]) {
		if sm := s.(map[string]any); sm["Effect"] == "Deny" {
			out = append(out, sm)
		}
	}
	return out
}

// TestOnlyCloudTrailAndS3Write: the log-file queue takes messages only
// from S3 on behalf of the trail bucket, and the trail bucket takes
// objects only from CloudTrail; everyone else is denied, administrators of
// the account included.
func TestOnlyCloudTrailAndS3Write(t *testing.T) {
	r := load(t, "trailwatch.yaml").Resources
	var queueDeny, bucketDeny string
	for _, d := range denyStatements(t, r["LogFileQueuePolicy"]) {
		if d["Principal"] == "*" && toString(d["Action"]) == "sqs:SendMessage" {
			queueDeny = toString(d["Condition"])
		}
	}
	if !strings.Contains(queueDeny, "ArnNotEquals:map[aws:SourceArn:map[Fn::Sub:arn:${AWS::Partition}:s3:::${TrailBucketName}]]") {
		t.Errorf("log-file queue: no deny of SendMessage to all but the trail bucket (got %q)", queueDeny)
	}
	for _, d := range denyStatements(t, r["TrailBucketPolicy"]) {
		if d["Principal"] == "*" && toString(d["Action"]) == "s3:PutObject" {
			bucketDeny = toString(d["Condition"])
		}
	}
	if bucketDeny != "map[StringNotEquals:map[aws:PrincipalServiceName:cloudtrail.amazonaws.com]]" {
		t.Errorf("trail bucket: no deny of PutObject to all but CloudTrail (got %q)", bucketDeny)
	}
	if v := toString(r["TrailBucket"].Properties["VersioningConfiguration"]); v != "map[Status:Enabled]" {
		t.Errorf("trail bucket versioning %s; notifications name versions only on a versioned bucket", v)
	}
}

// TestAlarmsWatchWhatTheFunctionEmits: the stack alarms on the dead-letter
// queue, the function's errors and throttles, and the function's own
// failed-delivery and refused-input metrics, under the names and the
// dimension the function writes them with.
func TestAlarmsWatchWhatTheFunctionEmits(t *testing.T) {
	var line bytes.Buffer
	lambda.NewMetrics(&line, "trailwatch", func() time.Time { return time.Unix(0, 0) }).Emit(lambda.Counts{}, 0)
	var emitted map[string]any
	if err := json.Unmarshal(line.Bytes(), &emitted); err != nil {
		t.Fatal(err)
	}
	directive := toString(emitted["_aws"])

	alarms := map[string]map[string]any{}
	for name, r := range load(t, "trailwatch.yaml").Resources {
		if r.Type == "AWS::CloudWatch::Alarm" {
			alarms[name] = r.Properties
		}
	}
	want := map[string]string{
		"DeadLetterQueueAlarm":   "AWS/SQS ApproximateNumberOfMessagesVisible",
		"FunctionErrorsAlarm":    "AWS/Lambda Errors",
		"FunctionThrottlesAlarm": "AWS/Lambda Throttles",
		"FailedDeliveriesAlarm":  lambda.MetricNamespace + " FailedDeliveries",
		"RefusedInputsAlarm":     lambda.MetricNamespace + " RefusedInputs",
	}
	for name, metric := range want {
		p, ok := alarms[name]
		if !ok {
			t.Errorf("no alarm %s", name)
			continue
		}
		if got := p["Namespace"].(string) + " " + p["MetricName"].(string); got != metric {
			t.Errorf("%s watches %s; want %s", name, got, metric)
		}
		if got := toString(p["AlarmActions"]); got != "map[Fn::If:[HasAlarmTopic [map[Ref:AlarmTopicArn]] map[Ref:AWS::NoValue]]]" {
			t.Errorf("%s notifies %s; want AlarmTopicArn when set", name, got)
		}
		if p["Threshold"] != uint64(0) || p["ComparisonOperator"] != "GreaterThanThreshold" || p["TreatMissingData"] != "notBreaching" {
			t.Errorf("%s: %v %v %v; want any occurrence to alarm", name, p["Threshold"], p["ComparisonOperator"], p["TreatMissingData"])
		}
		if p["Namespace"] == lambda.MetricNamespace {
			if _, ok := emitted[p["MetricName"].(string)]; !ok || !strings.Contains(directive, p["MetricName"].(string)) {
				t.Errorf("%s watches %s, which the function does not emit", name, p["MetricName"])
			}
			if d := toString(p["Dimensions"]); d != "[map[Name:Function Value:map[Ref:Function]]]" || !strings.Contains(directive, "Dimensions:[[Function]]") {
				t.Errorf("%s dimensions %s; the function emits Function", name, d)
			}
		}
	}
	if len(alarms) != len(want) {
		t.Errorf("%d alarms; want %d", len(alarms), len(want))
	}
}

func TestReservedConcurrencyIsAParameter(t *testing.T) {
	tpl := load(t, "trailwatch.yaml")
	got := toString(tpl.Resources["Function"].Properties["ReservedConcurrentExecutions"])
	if got != "map[Fn::If:[HasReservedConcurrency map[Ref:ReservedConcurrency] map[Ref:AWS::NoValue]]]" {
		t.Errorf("ReservedConcurrentExecutions %s", got)
	}
	if _, ok := tpl.Parameters["ReservedConcurrency"]; !ok {
		t.Error("no ReservedConcurrency parameter")
	}
}
