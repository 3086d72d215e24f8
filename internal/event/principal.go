package event

import "strings"

// Principal types. Most are CloudTrail's userIdentity.type values; Anonymous
// and Unknown are trailwatch's names for records that carry none.
const (
	PrincipalRoot           = "Root"
	PrincipalIAMUser        = "IAMUser"
	PrincipalAssumedRole    = "AssumedRole"
	PrincipalRole           = "Role"
	PrincipalFederatedUser  = "FederatedUser"
	PrincipalIdentityCenter = "IdentityCenterUser"
	PrincipalSAMLUser       = "SAMLUser"
	PrincipalWebIdentity    = "WebIdentityUser"
	PrincipalDirectory      = "Directory"
	PrincipalAWSAccount     = "AWSAccount"
	PrincipalAWSService     = "AWSService"
	PrincipalAnonymous      = "Anonymous"
	PrincipalUnknown        = "Unknown"
)

// Principal is who made the call, read from userIdentity.
type Principal struct {
	// Type is one of the Principal constants.
	Type string
	// Name is a short human name: "root", the IAM user name,
	// "Role/Session" for an assumed role, the service for AWS services.
	Name string
	// ARN is userIdentity.arn, if any.
	ARN string
	// AccountID is userIdentity.accountId.
	AccountID string
	// UserName is userIdentity.userName (IAM users, Identity Center users,
	// SAML and web identity users).
	UserName string
	// RoleName and SessionName are set for assumed roles and federated users.
	RoleName, SessionName string
	// InvokedBy is userIdentity.invokedBy: the service that called on the
	// principal's behalf.
	InvokedBy string
	// SwitchFrom and SwitchTo are the role ARNs of a console SwitchRole.
	SwitchFrom, SwitchTo string
}

// String returns Name, or Type when there is no name.
func (p Principal) String() string {
	if p.Name != "" {
		return p.Name
	}
	return p.Type
}

// Principal reads userIdentity. It never fails; a record with no identity is
// PrincipalUnknown.
func (e *Event) Principal() Principal {
	id := e.v.Get("userIdentity")
	p := Principal{
		Type:      str(id.Get("type")),
		ARN:       str(id.Get("arn")),
		AccountID: str(id.Get("accountId")),
		UserName:  str(id.Get("userName")),
		InvokedBy: str(id.Get("invokedBy")),
	}
	if e.Name() == "SwitchRole" {
		p.SwitchFrom = e.Str("additionalEventData", "SwitchFrom")
		p.SwitchTo = e.Str("additionalEventData", "SwitchTo")
	}
	switch p.Type {
	case PrincipalRoot:
		p.Name = "root"
	case PrincipalIAMUser, PrincipalSAMLUser, PrincipalWebIdentity, PrincipalDirectory:
		p.Name = p.UserName
		if p.Name == "" {
			p.Name = arnTail(p.ARN)
		}
	case PrincipalIdentityCenter:
		p.Name = p.UserName
		if p.Name == "" {
			p.Name = str(id.Get("onBehalfOf", "userId"))
		}
		if p.Name == "" {
			p.Name = arnTail(p.ARN)
		}
		if p.Name == "" {
			p.Name = str(id.Get("userId"))
		}
	case PrincipalAssumedRole, PrincipalRole:
		p.RoleName, p.SessionName = assumedRole(p.ARN)
		if p.RoleName == "" {
			p.RoleName = str(id.Get("sessionContext", "sessionIssuer", "userName"))
		}
		if p.SessionName == "" {
			if pid := str(id.Get("principalId")); strings.Contains(pid, ":") {
				p.SessionName = pid[strings.IndexByte(pid, ':')+1:]
			}
		}
		p.Name = p.RoleName
		if p.SessionName != "" {
			p.Name += "/" + p.SessionName
		}
	case PrincipalFederatedUser:
		p.RoleName = str(id.Get("sessionContext", "sessionIssuer", "userName"))
		p.SessionName = arnTail(p.ARN)
		p.Name = p.SessionName
		if p.Name == "" {
			p.Name = str(id.Get("principalId"))
		}
	case PrincipalAWSAccount:
		if p.AccountID == "ANONYMOUS_PRINCIPAL" {
			p.Type = PrincipalAnonymous
			p.Name = "anonymous"
			break
		}
		p.Name = p.AccountID
		if p.Name == "" {
			p.Name = str(id.Get("principalId"))
		}
	case PrincipalAWSService:
		p.Name = p.InvokedBy
	case "":
		switch {
		case id == nil:
			p.Type = PrincipalUnknown
		case p.InvokedBy != "":
			p.Type = PrincipalAWSService
			p.Name = p.InvokedBy
		case p.UserName != "":
			p.Type = PrincipalUnknown
			p.Name = p.UserName
		default:
			p.Type = PrincipalUnknown
		}
	default:
		p.Name = p.UserName
		if p.Name == "" {
			p.Name = arnTail(p.ARN)
		}
	}
	return p
}

// assumedRole splits "arn:aws:sts::123:assumed-role/Role/Session".
func assumedRole(arn string) (role, session string) {
	const marker = ":assumed-role/"
	i := strings.Index(arn, marker)
	if i < 0 {
		return "", ""
	}
	rest := arn[i+len(marker):]
	role, session, _ = strings.Cut(rest, "/")
	return role, session
}

// arnTail returns the part of an ARN after its last '/', or after the last
// ':' when there is no '/'.
func arnTail(arn string) string {
	if arn == "" {
		return ""
	}
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
