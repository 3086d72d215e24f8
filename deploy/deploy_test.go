// Package deploy holds trailwatch's CloudFormation templates. Its tests check
// what a linter cannot: that every IAM statement grants exactly the actions
// trailwatch needs on exactly the resources it uses, and that the wiring the
// code depends on (table key and TTL names, partial batch responses, the log
// file notification filter) matches the code.
package deploy

import (
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

type template struct {
	Parameters map[string]any      `yaml:"Parameters"`
	Conditions map[string]any      `yaml:"Conditions"`
	Resources  map[string]resource `yaml:"Resources"`
	Outputs    map[string]any      `yaml:"Outputs"`
}

type resource struct {
	Type       string         `yaml:"Type"`
	Condition  string         `yaml:"Condition"`
	DependsOn  any            `yaml:"DependsOn"`
	Properties map[string]any `yaml:"Properties"`
}

func load(t *testing.T, name string) template {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var tpl template
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(tpl.Resources) == 0 {
		t.Fatalf("%s: no resources", name)
	}
	return tpl
}

var templates = []string{"trailwatch.yaml", "region-forwarder.yaml", "cloudwatch-logs.yaml"}

// statement is one IAM policy statement, normalised.
type statement struct {
	where     string
	effect    string
	actions   []string
	resources []any
	principal any
	condition map[string]any
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func statements(where string, doc any) []statement {
	m, _ := doc.(map[string]any)
	var out []statement
	for i, s := range asList(m["Statement"]) {
		sm, ok := s.(map[string]any)
		if !ok {
			out = append(out, statement{where: where + ": statement is not a mapping"})
			continue
		}
		st := statement{where: where, principal: sm["Principal"]}
		st.condition, _ = sm["Condition"].(map[string]any)
		st.effect, _ = sm["Effect"].(string)
		if sid, ok := sm["Sid"].(string); ok {
			st.where += "/" + sid
		} else {
			st.where += "/" + string(rune('0'+i))
		}
		for _, a := range asList(sm["Action"]) {
			s, _ := a.(string)
			st.actions = append(st.actions, s)
		}
		st.resources = asList(sm["Resource"])
		out = append(out, st)
	}
	return out
}

// identityStatements returns every statement of every identity policy (role
// inline policies and AWS::IAM::Policy resources) in the template.
func identityStatements(tpl template) []statement {
	var out []statement
	for name, r := range tpl.Resources {
		switch r.Type {
		case "AWS::IAM::Role":
			for _, p := range asList(r.Properties["Policies"]) {
				pm := p.(map[string]any)
				out = append(out, statements(name+"/"+pm["PolicyName"].(string), pm["PolicyDocument"])...)
			}
		case "AWS::IAM::Policy":
			out = append(out, statements(name, r.Properties["PolicyDocument"])...)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].where < out[j].where })
	return out
}

// TestIAMLeastPrivilege pins every action every role may take. Adding a
// permission means adding it here, in review, with a reason.
func TestIAMLeastPrivilege(t *testing.T) {
	want := map[string]map[string][]string{
		"trailwatch.yaml": {
			"FunctionRole/trailwatch/WriteOwnLogs":               {"logs:CreateLogStream", "logs:PutLogEvents"},
			"FunctionRole/trailwatch/ReadCloudTrailLogFiles":     {"s3:GetObject"},
			"FunctionRole/trailwatch/ConsumeLogFileQueue":        {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"},
			"FunctionRole/trailwatch/DeadLetterAsyncInvocations": {"sqs:SendMessage"},
			"FunctionRole/trailwatch/State":                      {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
			"FunctionRole/trailwatch/ConfigAndSecretParameters":  {"ssm:GetParameter"},
			"SecretsManagerPolicy/SecretsManagerReferences":      {"secretsmanager:GetSecretValue"},
			"KmsPolicy/KmsTrailLogFiles":                         {"kms:Decrypt"},
			"KmsPolicy/KmsSecureStringParameters":                {"kms:Decrypt"},
			"KmsPolicy/KmsSecrets":                               {"kms:Decrypt"},
			"KmsPolicy/KmsReferences":                            {"kms:Decrypt"},
			"KmsPolicy/KmsReadObjects":                           {"kms:Decrypt"},
			"ReadObjectsPolicy/ConfigAndGeoIPObjects":            {"s3:GetObject"},
			"ConfigPrefixPolicy/ListConfigPrefix":                {"s3:ListBucket"},
			"ConfigPrefixPolicy/ReadConfigPrefix":                {"s3:GetObject"},
			"RuleParametersPolicy/ListRuleParameters":            {"ssm:GetParametersByPath"},
			"RuleParametersPolicy/ReadRuleParameters":            {"ssm:GetParametersByPath", "ssm:GetParameter"},
			"SnsPolicy/SnsReceivers":                             {"sns:Publish"},
			"SesPolicy/EmailReceivers":                           {"ses:SendEmail"},
		},
		"region-forwarder.yaml": {
			"ForwardRole/forward-to-central-bus/PutOnCentralBus": {"events:PutEvents"},
		},
		"cloudwatch-logs.yaml": {},
	}
	for _, name := range templates {
		t.Run(name, func(t *testing.T) {
			got := map[string][]string{}
			for _, st := range identityStatements(load(t, name)) {
				if st.effect != "Allow" {
					t.Errorf("%s: identity policies here only allow; got effect %q", st.where, st.effect)
				}
				for _, a := range st.actions {
					if strings.Contains(a, "*") {
						t.Errorf("%s: wildcard action %q", st.where, a)
					}
				}
				if len(st.resources) == 0 {
					t.Errorf("%s: no Resource", st.where)
				}
				for _, r := range st.resources {
					if s, ok := r.(string); ok && (s == "*" || strings.HasSuffix(s, ":*")) {
						t.Errorf("%s: resource %q is not scoped", st.where, s)
					}
				}
				got[st.where] = st.actions
			}
			if !reflect.DeepEqual(got, want[name]) {
				t.Errorf("IAM statements differ from the reviewed list\n got: %v\nwant: %v", got, want[name])
			}
		})
	}
}

// TestIAMResourcesNameOwnResources checks each statement's resource points at
// the resource it is about, not merely something scoped.
func TestIAMResourcesNameOwnResources(t *testing.T) {
	tpl := load(t, "trailwatch.yaml")
	want := map[string]string{
		"FunctionRole/trailwatch/WriteOwnLogs":               "FunctionLogGroup.Arn",
		"FunctionRole/trailwatch/ReadCloudTrailLogFiles":     "${TrailBucketName}/${TrailKeyPrefix}AWSLogs/*",
		"FunctionRole/trailwatch/ConsumeLogFileQueue":        "[LogFileQueue Arn]",
		"FunctionRole/trailwatch/DeadLetterAsyncInvocations": "[DeadLetterQueue Arn]",
		"FunctionRole/trailwatch/State":                      "[StateTable Arn]",
		"FunctionRole/trailwatch/ConfigAndSecretParameters":  "parameter${SecretParameterPrefix}*",
		"SecretsManagerPolicy/SecretsManagerReferences":      "map[Ref:SecretArns]",
		"KmsPolicy/KmsTrailLogFiles":                         "map[Ref:KmsKeyArns]",
		"KmsPolicy/KmsSecureStringParameters":                "map[Ref:KmsKeyArns]",
		"KmsPolicy/KmsSecrets":                               "map[Ref:KmsKeyArns]",
		"KmsPolicy/KmsReferences":                            "map[Ref:KmsKeyArns]",
		"KmsPolicy/KmsReadObjects":                           "map[Ref:KmsKeyArns]",
		"ReadObjectsPolicy/ConfigAndGeoIPObjects":            "map[Ref:ReadObjectArns]",
		"ConfigPrefixPolicy/ListConfigPrefix":                "arn:${AWS::Partition}:s3:::${ConfigBucketName}",
		"ConfigPrefixPolicy/ReadConfigPrefix":                "arn:${AWS::Partition}:s3:::${ConfigBucketName}/${ConfigKeyPrefix}*",
		"RuleParametersPolicy/ListRuleParameters":            ":parameter${RuleParameterPath}",
		"RuleParametersPolicy/ReadRuleParameters":            ":parameter${RuleParameterPath}/*",
		"SnsPolicy/SnsReceivers":                             "map[Ref:SnsTopicArns]",
		"SesPolicy/EmailReceivers":                           "map[Ref:SesIdentityArns]",
	}
	for _, st := range identityStatements(tpl) {
		if len(st.resources) != 1 {
			t.Errorf("%s: %d resources; want exactly one", st.where, len(st.resources))
			continue
		}
		got := flatten(st.resources[0])
		if !strings.Contains(got, want[st.where]) {
			t.Errorf("%s: resource %s does not name %s", st.where, got, want[st.where])
		}
	}
}

func flatten(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if s, ok := x["Fn::Sub"].(string); ok {
			return s
		}
		if g, ok := x["Fn::GetAtt"]; ok {
			return strings.ReplaceAll(strings.TrimSpace(toString(g)), "  ", " ")
		}
	}
	return toString(v)
}

func toString(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = toString(p)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ":" + toString(x[k])
		}
		return "map[" + strings.Join(parts, " ") + "]"
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// TestResourcePoliciesAreScoped checks the policies other services use to
// reach trailwatch's resources name who may do so.
func TestResourcePoliciesAreScoped(t *testing.T) {
	tpl := load(t, "trailwatch.yaml")
	for name, r := range tpl.Resources {
		var docs []any
		switch r.Type {
		case "AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy":
			docs = append(docs, r.Properties["PolicyDocument"])
		case "AWS::Events::EventBusPolicy":
			docs = append(docs, map[string]any{"Statement": r.Properties["Statement"]})
		default:
			continue
		}
		for _, d := range docs {
			for _, s := range asList(d.(map[string]any)["Statement"]) {
				sm := s.(map[string]any)
				if sm["Effect"] == "Deny" {
					continue
				}
				if sm["Principal"] == "*" && sm["Condition"] == nil {
					t.Errorf("%s: allows everyone without a condition", name)
				}
				if p, ok := sm["Principal"].(map[string]any); ok && p["Service"] != nil && sm["Condition"] == nil {
					t.Errorf("%s: service principal %v without a source condition (confused deputy)", name, p["Service"])
				}
			}
		}
	}
}

func TestWiringMatchesCode(t *testing.T) {
	tpl := load(t, "trailwatch.yaml")
	r := tpl.Resources

	// internal/state's DynamoDB store: partition key "pk", TTL attribute "ttl".
	table := r["StateTable"].Properties
	if got := toString(table["KeySchema"]); got != "[map[AttributeName:pk KeyType:HASH]]" {
		t.Errorf("state table key schema %s; internal/state uses pk", got)
	}
	if got := toString(table["TimeToLiveSpecification"]); got != "map[AttributeName:ttl Enabled:true]" {
		t.Errorf("state table TTL %s; internal/state writes ttl", got)
	}

	fn := r["Function"].Properties
	if fn["Runtime"] != "provided.al2023" || toString(fn["Architectures"]) != "[arm64]" || fn["Handler"] != "bootstrap" {
		t.Errorf("function runtime %v %v %v; want provided.al2023 arm64 bootstrap", fn["Runtime"], fn["Architectures"], fn["Handler"])
	}
	if got := toString(r["LogFileQueueMapping"].Properties["FunctionResponseTypes"]); got != "[ReportBatchItemFailures]" {
		t.Errorf("event source mapping response types %s; partial batch responses need ReportBatchItemFailures", got)
	}
	if got := toString(r["LogFileQueue"].Properties["RedrivePolicy"]); !strings.Contains(got, "DeadLetterQueue") {
		t.Errorf("log file queue has no dead-letter queue: %s", got)
	}
	notif := toString(r["TrailBucket"].Properties["NotificationConfiguration"])
	for _, want := range []string{"Name:prefix Value:AWSLogs/", "Name:suffix Value:.json.gz", "LogFileQueue"} {
		if !strings.Contains(notif, want) {
			t.Errorf("trail bucket notification %s lacks %q", notif, want)
		}
	}
	trail := r["Trail"].Properties
	for _, k := range []string{"IsMultiRegionTrail", "EnableLogFileValidation", "IncludeGlobalServiceEvents", "IsLogging"} {
		if trail[k] != true {
			t.Errorf("trail %s = %v; want true", k, trail[k])
		}
	}
}

func TestForwarderCoversSignInEvents(t *testing.T) {
	tpl := load(t, "region-forwarder.yaml")
	rule := tpl.Resources["ForwardRule"].Properties
	pattern := toString(rule["EventPattern"])
	for _, dt := range []string{"AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail"} {
		if !strings.Contains(pattern, dt) {
			t.Errorf("forwarder pattern %s misses %q", pattern, dt)
		}
	}
	if got := toString(rule["State"]); !strings.Contains(got, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS") {
		t.Errorf("forwarder state %s cannot deliver read-only management events", got)
	}
}

// TestCentralRuleRefusesForgedSources: anyone allowed to put events on the
// central bus could forge CloudTrail events; only AWS can use aws. sources.
func TestCentralRuleRefusesForgedSources(t *testing.T) {
	tpl := load(t, "trailwatch.yaml")
	pattern := toString(tpl.Resources["CentralRule"].Properties["EventPattern"])
	if !strings.Contains(pattern, "source:[map[prefix:aws.]]") {
		t.Fatalf("central rule pattern %s does not require an aws. source", pattern)
	}
}
