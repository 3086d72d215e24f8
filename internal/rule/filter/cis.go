package filter

// Control is one CIS AWS Foundations Benchmark monitoring control and the
// metric filter pattern AWS publishes for it, character for character.
type Control struct {
	// ID is the Security Hub control ("CloudWatch.1") or, for controls
	// Security Hub does not carry, the CIS number ("CIS-4.15").
	ID string
	// CIS lists the CIS AWS Foundations Benchmark recommendations the
	// control maps to, as "v1.2.0/3.3".
	CIS []string
	// Title is the control's title.
	Title string
	// Pattern is the filter pattern exactly as published.
	Pattern string
	// Source names the document the pattern was copied from.
	Source string
}

const (
	securityHubDoc = "AWS Security Hub User Guide, \"Amazon CloudWatch controls\" (awsdocs/aws-security-hub-user-guide, doc_source/cloudwatch-controls.md)"
	cis415Doc      = "CIS Amazon Web Services Foundations Benchmark v1.4.0, recommendation 4.15 (audit procedure)"
)

// CISControls returns the CIS monitoring controls CloudWatch.1-14 as Security
// Hub publishes them, and CIS 4.15 (AWS Organizations changes), in order.
// Each call returns a fresh slice the caller may change. Rule packs reuse the
// patterns so that a CIS alert fires on exactly what the CloudWatch alarm
// would count.
func CISControls() []Control {
	return []Control{
		{
			ID: "CloudWatch.1", CIS: []string{"v1.2.0/1.1", "v1.2.0/3.3", "v1.4.0/1.7", "v1.4.0/4.3"},
			Title:   `A log metric filter and alarm should exist for usage of the "root" user`,
			Pattern: `{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}`,
			Source:  securityHubDoc,
		},
		{
			ID: "CloudWatch.2", CIS: []string{"v1.2.0/3.1"},
			Title:   "Ensure a log metric filter and alarm exist for unauthorized API calls",
			Pattern: `{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}`,
			Source:  securityHubDoc,
		},
		{
			ID: "CloudWatch.3", CIS: []string{"v1.2.0/3.2"},
			Title:   "Ensure a log metric filter and alarm exist for Management Console sign-in without MFA",
			Pattern: `{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }`,
			Source:  securityHubDoc,
		},
		{
			ID: "CloudWatch.4", CIS: []string{"v1.2.0/3.4", "v1.4.0/4.4"},
			Title:   "Ensure a log metric filter and alarm exist for IAM policy changes",
			Pattern: `{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}`,
			Source:  securityHubDoc,
		},
		{
			ID: "CloudWatch.5", CIS: []string{"v1.2.0/3.5", "v1.4.0/4.5"},
			Title:   "Ensure a log metric filter and alarm exist for CloudTrail AWS Configuration changes",
			Pattern: `{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}`,
			Source:  securityHubDoc,
		},
		{
			ID: "CloudWatch.6", CIS: []string{"v1.2.0/3.6", "v1.4.0/4.6"},
			Title:   "Ensure a log metric filter and alarm exist for AWS Management Console authentication failures",
			Pattern: `{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}`,
			Source:  securityHubDoc,
		},
		{
			ID: "CloudWatch.7", CIS: []string{"v1.2.0/3.7", "v1.4.0/4.7"},
			Title:   "Ensure a log metric filter and alarm exist for disabling or scheduled deletion of customer managed keys",
			Pattern: `{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}`,
			Source:  securityHubDoc,
		},
		{
			ID: "CloudWatch.8", CIS: []string{"v1.2.0/3.8", "v1.4.0/4.8"},
			Title:   "Ensure a log metric filter and alarm exist for S3 bucket policy changes",
			Pattern: `{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || ($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}`,
			Source:  securityHubDoc,
		},
		{
			ID: "CloudWatch.9", CIS: []string{"v1.2.0/3.9", "v1.4.0/4.9"},
			Title:   "Ensure a log metric filter and alarm exist for AWS Config configuration changes",
			Pattern: `{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || ($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || ($.eventName=PutConfigurationRecorder))}`,
			Source:  securityHubDoc,
		},
		{
			ID: "CloudWatch.10", CIS: []string{"v1.2.0/3.10", "v1.4.0/4.10"},
			Title:   "Ensure a log metric filter and alarm exist for security group changes",
			Pattern: `{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || ($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}`,
			Source:  securityHubDoc,
		},
		{
			ID: "CloudWatch.11", CIS: []string{"v1.2.0/3.11", "v1.4.0/4.11"},
			Title:   "Ensure a log metric filter and alarm exist for changes to Network Access Control Lists (NACL)",
			Pattern: `{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}`,
			Source:  securityHubDoc,
		},
		{
			ID: "CloudWatch.12", CIS: []string{"v1.2.0/3.12", "v1.4.0/4.12"},
			Title:   "Ensure a log metric filter and alarm exist for changes to network gateways",
			Pattern: `{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || ($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}`,
			Source:  securityHubDoc,
		},
		{
			ID: "CloudWatch.13", CIS: []string{"v1.2.0/3.13", "v1.4.0/4.13"},
			Title:   "Ensure a log metric filter and alarm exist for route table changes",
			Pattern: `{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable)}`,
			Source:  securityHubDoc,
		},
		{
			ID: "CloudWatch.14", CIS: []string{"v1.2.0/3.14", "v1.4.0/4.14"},
			Title:   "Ensure a log metric filter and alarm exist for VPC changes",
			Pattern: `{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || ($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || ($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}`,
			Source:  securityHubDoc,
		},
		{
			ID: "CIS-4.15", CIS: []string{"v1.4.0/4.15"},
			Title:   "Ensure a log metric filter and alarm exists for AWS Organizations changes",
			Pattern: `{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }`,
			Source:  cis415Doc,
		},
	}
}
