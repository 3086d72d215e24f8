package deploy

import (
	"strings"
	"testing"
)

// TestConfigReadAccessIsExact: the function may list and read exactly the
// configuration's S3 prefix and exactly the rule parameters' SSM path, and
// each grant exists only when its parameter is set.
func TestConfigReadAccessIsExact(t *testing.T) {
	tpl := load(t, "trailwatch.yaml")
	s3p := tpl.Resources["ConfigPrefixPolicy"]
	if s3p.Condition != "HasConfigBucket" {
		t.Errorf("ConfigPrefixPolicy condition %q", s3p.Condition)
	}
	ssmp := tpl.Resources["RuleParametersPolicy"]
	if ssmp.Condition != "HasRuleParameterPath" {
		t.Errorf("RuleParametersPolicy condition %q", ssmp.Condition)
	}
	stmts := func(r resource) map[string]map[string]any {
		out := map[string]map[string]any{}
		doc, _ := r.Properties["PolicyDocument"].(map[string]any)
		for _, s := range asList(doc["Statement"]) {
			sm := s.(map[string]any)
			out[sm["Sid"].(string)] = sm
		}
		return out
	}
	s3s := stmts(s3p)
	for sid, want := range map[string]string{
		"ListConfigPrefix": "arn:${AWS::Partition}:s3:::${ConfigBucketName}",
		"ReadConfigPrefix": "arn:${AWS::Partition}:s3:::${ConfigBucketName}/${ConfigKeyPrefix}*",
	} {
		if got := flatten(s3s[sid]["Resource"]); got != want {
			t.Errorf("%s resource %s, want %s", sid, got, want)
		}
	}
	// Listing is limited to the prefix by a condition; without it the
	// function could list the whole bucket.
	if got := toString(s3s["ListConfigPrefix"]["Condition"]); got != "map[StringLike:map[s3:prefix:map[Fn::Sub:${ConfigKeyPrefix}*]]]" {
		t.Errorf("ListConfigPrefix condition %s", got)
	}
	ss := stmts(ssmp)
	for sid, want := range map[string]string{
		"ListRuleParameters": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${RuleParameterPath}",
		"ReadRuleParameters": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${RuleParameterPath}/*",
	} {
		if got := flatten(ss[sid]["Resource"]); got != want {
			t.Errorf("%s resource %s, want %s", sid, got, want)
		}
	}
	// The function reads its configuration from ConfigLocation, whose
	// default is the parameter the stack makes under the default prefix.
	env := toString(tpl.Resources["Function"].Properties["Environment"])
	if want := "TRAILWATCH_CONFIG:map[Ref:ConfigLocation]"; !strings.Contains(env, want) {
		t.Errorf("function environment %s lacks %s", env, want)
	}
	loc := tpl.Parameters["ConfigLocation"].(map[string]any)
	prefix := tpl.Parameters["SecretParameterPrefix"].(map[string]any)
	if loc["Default"] != "ssm:"+prefix["Default"].(string)+"config" {
		t.Errorf("ConfigLocation default %v is not the parameter the stack makes (%vconfig)", loc["Default"], prefix["Default"])
	}
}
