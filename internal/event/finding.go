package event

import "time"

// Finding is one security finding another AWS service raised, as
// internal/finding reads it from GuardDuty's or Security Hub's EventBridge
// event: the facts routes, messages and receivers need, each text already
// cut to a bounded length.
//
// Apart from Source and URL, every field comes from the finding, and a
// finding is only as trustworthy as whoever wrote it: anyone allowed to
// call Security Hub's BatchImportFindings, or to send to the queue the
// function reads, can write titles, descriptions and resource names.
// Outputs treat them as they treat any CloudTrail text.
type Finding struct {
	// Source is the kind of event the finding came in: KindGuardDuty or
	// KindSecurityHub.
	Source Kind
	// ID is the finding's id: GuardDuty's finding id, or Security Hub's
	// Id (for the findings of AWS services, usually an ARN).
	ID string
	// ARN is GuardDuty's finding ARN; "" for Security Hub findings.
	ARN string
	// Type is GuardDuty's finding type ("Recon:EC2/PortProbeUnprotectedPort")
	// or the first of a Security Hub finding's Types.
	Type string
	// Title and Description are the finding's own text, in the words AWS
	// (or the product that imported it) wrote.
	Title, Description string
	// Severity is the product's severity mapped to trailwatch's levels;
	// ProductSeverity is the product's own value ("5", "8.7", "CRITICAL").
	Severity        Severity
	ProductSeverity string
	// Product is the product that raised the finding ("GuardDuty",
	// "Security Hub", "Inspector", ...); Generator is a Security Hub
	// finding's GeneratorId (the control or rule that produced it), and
	// Control the control's id ("IAM.6", "1.13") when it is a check.
	Product, Generator, Control string
	// Account and Region are where the finding was raised.
	Account, Region string
	// ResourceType and ResourceID name the first resource the finding is
	// about ("AccessKey", "Instance", "AwsS3Bucket"); MoreResources counts
	// the others.
	ResourceType, ResourceID string
	MoreResources            int
	// Principal is the IAM identity a GuardDuty finding names
	// ("alice (IAMUser)"), and RemoteIP the remote address it saw.
	Principal, RemoteIP string
	// Count is how many times GuardDuty saw the activity (0 when the
	// finding does not say).
	Count int
	// FirstSeen and LastSeen bound the activity; CreatedAt and UpdatedAt
	// are when the finding was created and last updated. Zero when the
	// finding does not say.
	FirstSeen, LastSeen, CreatedAt, UpdatedAt time.Time
	// Compliance, Workflow and Remediation are a Security Hub finding's
	// Compliance.Status, Workflow.Status and recommended remediation text.
	Compliance, Workflow, Remediation string
	// Sample is set for GuardDuty's sample findings (CreateSampleFindings).
	Sample bool
	// URL links to the finding in its service's console; "" when the
	// finding's region or id cannot be put in a link safely.
	URL string
}

// Identity names the finding across its updates and across the ways it
// can arrive: GuardDuty's finding ARN, which is also the Id Security Hub
// gives a GuardDuty finding it imports, else the finding's id.
func (f *Finding) Identity() string {
	if f.ARN != "" {
		return f.ARN
	}
	return f.ID
}

// Key identifies a finding alert for idempotent delivery: the finding and
// its severity. A finding GuardDuty updates with a higher count, or that
// arrives once from GuardDuty and once imported by Security Hub, has the
// same key and is delivered once; a change of severity is a new alert.
func (f *Finding) Key() string {
	return "finding:" + f.Identity() + "|" + f.Severity.String()
}

// labels returns the labels routes and silences match on for an alert
// about f raised as rule r.
func (f *Finding) labels(r RuleInfo) map[string]string {
	l := map[string]string{
		"rule":          r.ID,
		"severity":      r.Severity.String(),
		"account":       f.Account,
		"region":        f.Region,
		"source":        f.Source.String(),
		"finding_type":  f.Type,
		"finding_id":    f.ID,
		"product":       f.Product,
		"resource_type": f.ResourceType,
		"resource_id":   f.ResourceID,
		"principal":     f.Principal,
		"source_ip":     f.RemoteIP,
	}
	if f.Generator != "" {
		l["generator"] = f.Generator
	}
	if f.Control != "" {
		l["control"] = f.Control
	}
	if f.Compliance != "" {
		l["compliance"] = f.Compliance
	}
	if f.Sample {
		l["sample"] = "true"
	}
	for _, t := range r.Tags {
		l["tag:"+t] = "true"
	}
	return l
}
