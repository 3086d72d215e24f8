package finding

import (
	"strings"

	"github.com/valyala/fastjson"

	"github.com/trailwatch/trailwatch/internal/event"
)

// guardDuty reads the finding in a GuardDuty event's detail (GuardDuty's
// finding format, camelCase keys).
func guardDuty(d *fastjson.Value, env envelope, o event.Origin) (Item, error) {
	f := &event.Finding{
		Source:      event.KindGuardDuty,
		ID:          text(d.Get("id"), maxID),
		ARN:         text(d.Get("arn"), maxID),
		Type:        text(d.Get("type"), maxID),
		Title:       text(d.Get("title"), maxTitle),
		Description: text(d.Get("description"), maxDescription),
		Product:     "GuardDuty",
		Account:     first(text(d.Get("accountId"), maxID), env.account),
		Region:      first(text(d.Get("region"), maxID), env.region),
		CreatedAt:   when(d.Get("createdAt")),
		UpdatedAt:   when(d.Get("updatedAt")),
	}
	if f.ID == "" {
		return Item{}, errNoID
	}
	f.Severity, f.ProductSeverity = guardDutySeverity(d.Get("severity"))

	res := d.Get("resource")
	f.ResourceType = text(res.Get("resourceType"), maxID)
	f.ResourceID, f.MoreResources = guardDutyResource(res, f.ResourceType)
	if k := res.Get("accessKeyDetails"); k != nil {
		name := first(text(k.Get("userName"), maxID), text(k.Get("principalId"), maxID))
		if t := text(k.Get("userType"), maxID); name != "" && t != "" {
			name += " (" + t + ")"
		}
		f.Principal = name
	}

	svc := d.Get("service")
	f.Count = count(svc.Get("count"))
	f.FirstSeen = when(svc.Get("eventFirstSeen"))
	f.LastSeen = when(svc.Get("eventLastSeen"))
	f.RemoteIP = guardDutyRemoteIP(svc.Get("action"))
	f.Sample = isTrue(svc.Get("additionalInfo", "sample"))
	// The console that holds the finding is its detector's region, named
	// in the ARN; the finding's region can differ for global events.
	f.URL = guardDutyURL(first(arnRegion(f.ARN), env.region, f.Region), f.ID)

	rec, err := record(d, o)
	if err != nil {
		return Item{}, err
	}
	it := Item{Finding: f, Record: rec}
	if isTrue(svc.Get("archived")) {
		it.Skip = "the finding is archived in GuardDuty"
	}
	return it, nil
}

// guardDutyResource names the resource a GuardDuty finding is about, from
// the details GuardDuty gives for its resource type, and counts the other
// resources of the same kind it lists. Sample findings carry the details
// of several types at once, so the type decides.
func guardDutyResource(res *fastjson.Value, typ string) (id string, more int) {
	if res == nil {
		return "", 0
	}
	switch typ {
	case "AccessKey":
		k := res.Get("accessKeyDetails")
		return first(text(k.Get("userName"), maxID), text(k.Get("accessKeyId"), maxID), text(k.Get("principalId"), maxID)), 0
	case "S3Bucket":
		b := res.GetArray("s3BucketDetails")
		if len(b) == 0 {
			return "", 0
		}
		return first(text(b[0].Get("name"), maxID), text(b[0].Get("arn"), maxID)), len(b) - 1
	}
	if p, ok := resourcePaths[typ]; ok {
		return text(res.Get(p...), maxID), 0
	}
	return "", 0
}

// resourcePaths are where GuardDuty names a resource of each type.
var resourcePaths = map[string][]string{
	"Instance":       {"instanceDetails", "instanceId"},
	"EKSCluster":     {"eksClusterDetails", "name"},
	"ECSCluster":     {"ecsClusterDetails", "name"},
	"Container":      {"containerDetails", "name"},
	"Lambda":         {"lambdaDetails", "functionName"},
	"RDSDBInstance":  {"rdsDbInstanceDetails", "dbInstanceIdentifier"},
	"RDSLimitlessDB": {"rdsLimitlessDbDetails", "dbShardGroupIdentifier"},
}

// guardDutyRemoteIP returns the remote address of a finding's action:
// a network connection, an API call, a port probe, a login attempt.
func guardDutyRemoteIP(action *fastjson.Value) string {
	if action == nil {
		return ""
	}
	for _, a := range []string{"networkConnectionAction", "awsApiCallAction", "kubernetesApiCallAction", "rdsLoginAttemptAction"} {
		if ip := remoteIP(action.Get(a, "remoteIpDetails")); ip != "" {
			return ip
		}
	}
	if probes := action.GetArray("portProbeAction", "portProbeDetails"); len(probes) > 0 {
		return remoteIP(probes[0].Get("remoteIpDetails"))
	}
	return ""
}

func remoteIP(d *fastjson.Value) string {
	return first(text(d.Get("ipAddressV4"), 64), text(d.Get("ipAddressV6"), 64))
}

// arnRegion returns the region field of an ARN ("arn:aws:guardduty:REGION:...").
func arnRegion(arn string) string {
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) < 5 || parts[0] != "arn" {
		return ""
	}
	return parts[3]
}
