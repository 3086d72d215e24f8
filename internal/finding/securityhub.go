package finding

import (
	"strings"

	"github.com/valyala/fastjson"

	"github.com/trailwatch/trailwatch/internal/event"
)

// securityHub reads one finding of a Security Hub event, in the AWS
// Security Finding Format (PascalCase keys).
func securityHub(v *fastjson.Value, env envelope, o event.Origin) (Item, error) {
	pf := v.Get("ProductFields")
	f := &event.Finding{
		Source:      event.KindSecurityHub,
		ID:          text(v.Get("Id"), maxID),
		Title:       text(v.Get("Title"), maxTitle),
		Description: text(v.Get("Description"), maxDescription),
		Product: first(text(v.Get("ProductName"), maxID), text(pf.Get("aws/securityhub/ProductName"), maxID),
			productOfARN(text(v.Get("ProductArn"), maxID))),
		Generator:   text(v.Get("GeneratorId"), maxID),
		Account:     first(text(v.Get("AwsAccountId"), maxID), env.account),
		FirstSeen:   when(v.Get("FirstObservedAt")),
		LastSeen:    when(v.Get("LastObservedAt")),
		CreatedAt:   when(v.Get("CreatedAt")),
		UpdatedAt:   when(v.Get("UpdatedAt")),
		Compliance:  text(v.Get("Compliance", "Status"), maxID),
		Workflow:    first(text(v.Get("Workflow", "Status"), maxID), text(v.Get("WorkflowState"), maxID)),
		Remediation: text(v.Get("Remediation", "Recommendation", "Text"), maxDescription),
		Sample:      isTrue(v.Get("Sample")),
		// A GuardDuty finding imported into Security Hub keeps its count
		// in ProductFields.
		Count: count(pf.Get("aws/guardduty/service/count")),
		Control: first(text(v.Get("Compliance", "SecurityControlId"), maxID), text(pf.Get("ControlId"), maxID),
			text(pf.Get("RuleId"), maxID)),
	}
	if f.ID == "" {
		return Item{}, errNoID
	}
	if types := v.GetArray("Types"); len(types) > 0 {
		f.Type = text(types[0], maxID)
	}
	f.Severity, f.ProductSeverity = asffSeverity(v.Get("Severity"))

	resources := v.GetArray("Resources")
	if len(resources) > 0 {
		r := resources[0]
		f.ResourceType = text(r.Get("Type"), maxID)
		f.ResourceID = text(r.Get("Id"), maxID)
		f.MoreResources = len(resources) - 1
	}
	f.Region = first(text(v.Get("Region"), maxID), resourceRegion(resources), env.region)
	f.Principal = asffPrincipal(resources)
	f.RemoteIP = asffRemoteIP(v)
	f.URL = securityHubURL(first(f.Region, env.region), f.ID)

	rec, err := record(v, o)
	if err != nil {
		return Item{}, err
	}
	return Item{Finding: f, Record: rec, Skip: asffSkip(v, f)}, nil
}

// asffSkip says why a finding needs nobody's attention, or "". Security
// Hub sends an event for every change to a finding, including the ones
// people make when they close it, and for every control check that passes.
func asffSkip(v *fastjson.Value, f *event.Finding) string {
	switch state := text(v.Get("RecordState"), 32); {
	case strings.EqualFold(state, "ARCHIVED"):
		return "the finding's record state is ARCHIVED"
	}
	switch w := strings.ToUpper(f.Workflow); w {
	case "RESOLVED", "SUPPRESSED", "DEFERRED":
		return "the finding's workflow status is " + w
	}
	switch c := strings.ToUpper(f.Compliance); c {
	case "PASSED", "NOT_AVAILABLE":
		return "the finding's compliance status is " + c
	}
	return ""
}

// productOfARN returns the product part of an ASFF ProductArn
// ("arn:aws:securityhub:us-east-1::product/aws/guardduty" gives "guardduty").
func productOfARN(arn string) string {
	i := strings.LastIndexByte(arn, '/')
	if i < 0 || !strings.Contains(arn, ":product/") {
		return ""
	}
	return arn[i+1:]
}

// resourceRegion returns the first resource's Region.
func resourceRegion(resources []*fastjson.Value) string {
	if len(resources) == 0 {
		return ""
	}
	return text(resources[0].Get("Region"), maxID)
}

// asffPrincipal names the IAM identity among the first resources: an
// access key's user, or an IAM user.
func asffPrincipal(resources []*fastjson.Value) string {
	for i, r := range resources {
		if i == 8 {
			break
		}
		d := r.Get("Details")
		switch text(r.Get("Type"), 64) {
		case "AwsIamAccessKey":
			k := d.Get("AwsIamAccessKey")
			if name := first(text(k.Get("PrincipalName"), maxID), text(k.Get("UserName"), maxID)); name != "" {
				if t := text(k.Get("PrincipalType"), maxID); t != "" {
					name += " (" + t + ")"
				}
				return name
			}
		case "AwsIamUser":
			if name := text(d.Get("AwsIamUser", "UserName"), maxID); name != "" {
				return name
			}
		}
	}
	return ""
}

// asffRemoteIP returns the remote address of a finding's action, else the
// network source it names.
func asffRemoteIP(v *fastjson.Value) string {
	a := v.Get("Action")
	for _, k := range []string{"NetworkConnectionAction", "AwsApiCallAction"} {
		if ip := text(a.Get(k, "RemoteIpDetails", "IpAddressV4"), 64); ip != "" {
			return ip
		}
	}
	if probes := a.GetArray("PortProbeAction", "PortProbeDetails"); len(probes) > 0 {
		if ip := text(probes[0].Get("RemoteIpDetails", "IpAddressV4"), 64); ip != "" {
			return ip
		}
	}
	return first(text(v.Get("Network", "SourceIpV4"), 64), text(v.Get("Network", "SourceIpV6"), 64))
}
