package pattern

import (
	"testing"
)

// Events transcribed from the Amazon EventBridge User Guide. Where a page
// shows a truncated or invalid event, the repair is noted.
const (
	// "Creating Amazon EventBridge event patterns" (eb-event-patterns.html).
	docEC2Event = `{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "111122223333",
  "time": "2017-12-22T18:43:48Z",
  "region": "us-west-1",
  "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"}
}`
	// "Matching null values and empty strings" (eb-event-patterns-null-values.html),
	// also the "Field matching" example of eb-event-patterns.html.
	docAutoScalingEvent = `{
  "version": "0",
  "id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
  "detail-type": "EC2 Instance Launch Successful",
  "source": "aws.autoscaling",
  "account": "123456789012",
  "time": "2015-11-11T21:31:47Z",
  "region": "us-east-1",
  "resources": [],
  "detail": {"eventVersion": "", "responseElements": null}
}`
	// "Value matching" example of eb-event-patterns.html; the page truncates
	// the event, which is closed here after trigger.
	docMacieEvent = `{
  "version": "0",
  "id": "3e355723-fca9-4de3-9fd7-154c289d6b59",
  "detail-type": "Macie Alert",
  "source": "aws.macie",
  "account": "123456789012",
  "time": "2017-04-24T22:28:49Z",
  "region": "us-east-1",
  "resources": [
    "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id/alert/alert_id",
    "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id"
  ],
  "detail": {
    "notification-type": "ALERT_CREATED",
    "name": "Scanning bucket policies",
    "tags": ["Custom_Alert", "Insider"],
    "url": "https://lb00.us-east-1.macie.aws.amazon.com/111122223333/posts/alert_id",
    "alert-arn": "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id/alert/alert_",
    "risk-score": 80,
    "trigger": {
      "rule-arn": "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id",
      "alert-type": "basic",
      "created-at": "2017-01-02 19:54:00.644000",
      "description": "Alerting on failed enumeration of large number of bucket policies",
      "risk": 8
    },
    "created-at": "2017-04-18T00:21:12.059000"
  }
}`
	// The sample event the content-filtering examples are written against
	// ("Content filtering in Amazon EventBridge event patterns",
	// eb-event-patterns-content-based-filtering.html, as in the Event Ruler
	// README that page follows).
	docFilterEvent = `{
  "version": "0",
  "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "012345679012",
  "time": "2017-10-02T16:24:49Z",
  "region": "us-east-1",
  "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
  "detail": {
    "c-count": 5,
    "d-count": 3,
    "x-limit": 301.8,
    "source-ip": "10.0.0.33",
    "instance-id": "i-000000aaaaaa00000",
    "state": "running"
  }
}`
	// "Exists matching" events of the content-filtering page. The second is
	// shown without the comma after "state"; it is added here.
	docExistsEvent1 = `{
  "detail-type": ["EC2 Instance State-change Notification"],
  "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341"],
  "detail": {"state": ["initializing", "running"]}
}`
	docExistsEvent2 = `{
  "detail-type": ["EC2 Instance State-change Notification"],
  "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341"],
  "detail": {"state": ["initializing", "running"], "c-count": {"c1": 100}}
}`
	// "Matching on multiple field values" / arrays (eb-event-patterns-arrays.html).
	docArrayEvent = `{
  "resources": [
    "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate",
    "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"
  ]
}`
	// "JSON Array Matching" of the Event Ruler README, the engine behind
	// EventBridge, which the arrays page summarises.
	rulerEmployees = `{
  "employees": [
    {"firstName": "John", "lastName": "Doe"},
    {"firstName": "Anna", "lastName": "Smith"},
    {"firstName": "Peter", "lastName": "Jones"}
  ]
}`
	rulerEmployeesNested = `{
  "employees": [
    [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}],
    [{"firstName": "Peter", "lastName": "Jones"}]
  ]
}`
)

// complianceCase is one documented pattern with an event and the documented
// outcome.
type complianceCase struct {
	doc     string // the page the pattern (and event) come from
	name    string
	pattern string
	event   string
	want    bool
}

// complianceCases lists the documented patterns with their events. The
// summary table of "Comparison operators for use in event patterns in Amazon
// EventBridge" (eb-create-pattern-operators.html) gives a rule syntax and, in
// its Example column, the situation it matches; the events of those cases
// state that situation. Other pages give the events themselves.
func complianceCases() []complianceCase {
	const ops = "eb-create-pattern-operators.html (Comparison operators)"
	const filt = "eb-event-patterns-content-based-filtering.html (Content filtering)"
	const pats = "eb-event-patterns.html (Creating event patterns)"
	const nulls = "eb-event-patterns-null-values.html (Null values and empty strings)"
	const arrays = "eb-event-patterns-arrays.html (Matching on multiple field values)"
	const ruler = "Event Ruler README (the matcher EventBridge documents its syntax from)"
	return []complianceCase{
		// eb-event-patterns.html
		{pats, "instance termination", `{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"state":["terminated"]}}`, docEC2Event, true},
		{pats, "match values ec2 or fargate", `{"source":["aws.ec2","aws.fargate"]}`, docEC2Event, true},
		{pats, "match values other source", `{"source":["aws.s3","aws.fargate"]}`, docEC2Event, false},
		{pats, "field matching null", `{"source":["aws.autoscaling"],"detail-type":["EC2 Instance Launch Successful"],"detail":{"responseElements":[null]}}`, docAutoScalingEvent, true},
		{pats, "value matching numbers", `{"source":["aws.macie"],"detail-type":["Macie Alert"],"detail":{"risk-score":[80],"trigger":{"risk":[8]}}}`, docMacieEvent, true},
		{pats, "value matching other number", `{"source":["aws.macie"],"detail":{"risk-score":[81]}}`, docMacieEvent, false},
		{pats, "field must exist", `{"detail":{"no-such-field":["terminated"]}}`, docEC2Event, false},
		{pats, "same nesting required", `{"state":["terminated"]}`, docEC2Event, false},

		// eb-event-patterns-null-values.html
		{nulls, "empty string", `{"detail":{"eventVersion":[""]}}`, docAutoScalingEvent, true},
		{nulls, "null", `{"detail":{"responseElements":[null]}}`, docAutoScalingEvent, true},
		{nulls, "empty string does not match null", `{"detail":{"responseElements":[""]}}`, docAutoScalingEvent, false},
		{nulls, "null does not match empty string", `{"detail":{"eventVersion":[null]}}`, docAutoScalingEvent, false},

		// eb-event-patterns-arrays.html
		{arrays, "intersection non-empty", `{"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f","arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f","arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]}`, docArrayEvent, true},
		{arrays, "intersection empty", `{"resources":["arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f","arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]}`, docArrayEvent, false},

		// eb-event-patterns-content-based-filtering.html
		{filt, "prefix", `{"time":[{"prefix":"2017-10-02"}]}`, docFilterEvent, true},
		{filt, "prefix other day", `{"time":[{"prefix":"2017-10-03"}]}`, docFilterEvent, false},
		{filt, "prefix example eu regions", `{"source":["aws.autoscaling"],"region":[{"prefix":"eu-"}]}`, `{"source":"aws.autoscaling","region":"eu-west-1"}`, true},
		{filt, "prefix example us region", `{"source":["aws.autoscaling"],"region":[{"prefix":"eu-"}]}`, `{"source":"aws.autoscaling","region":"us-east-1"}`, false},
		{filt, "prefix ignore case EventBridge", `{"detail":{"service":[{"prefix":{"equals-ignore-case":"EventB"}}]}}`, `{"detail":{"service":"EventBridge"}}`, true},
		{filt, "prefix ignore case EVENTB", `{"detail":{"service":[{"prefix":{"equals-ignore-case":"EventB"}}]}}`, `{"detail":{"service":"EVENTBRIDGE"}}`, true},
		{filt, "prefix ignore case eventb", `{"detail":{"service":[{"prefix":{"equals-ignore-case":"EventB"}}]}}`, `{"detail":{"service":"eventbus"}}`, true},
		{filt, "prefix ignore case other", `{"detail":{"service":[{"prefix":{"equals-ignore-case":"EventB"}}]}}`, `{"detail":{"service":"Event"}}`, false},
		{filt, "suffix", `{"FileName":[{"suffix":".png"}]}`, `{"FileName":"image.png"}`, true},
		{filt, "suffix other", `{"FileName":[{"suffix":".png"}]}`, `{"FileName":"image.PNG"}`, false},
		{filt, "suffix ignore case", `{"detail":{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}}`, `{"detail":{"FileName":"image.PNG"}}`, true},
		{filt, "suffix ignore case other", `{"detail":{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}}`, `{"detail":{"FileName":"image.jpg"}}`, false},
		{filt, "anything-but string", `{"detail":{"state":[{"anything-but":"initializing"}]}}`, docFilterEvent, true},
		{filt, "anything-but string excluded", `{"detail":{"state":[{"anything-but":"running"}]}}`, docFilterEvent, false},
		{filt, "anything-but number", `{"detail":{"x-limit":[{"anything-but":123}]}}`, docFilterEvent, true},
		{filt, "anything-but number excluded", `{"detail":{"x-limit":[{"anything-but":301.8}]}}`, docFilterEvent, false},
		{filt, "anything-but list of strings", `{"detail":{"state":[{"anything-but":["stopped","overloaded"]}]}}`, docFilterEvent, true},
		{filt, "anything-but list of strings excluded", `{"detail":{"state":[{"anything-but":["stopped","running"]}]}}`, docFilterEvent, false},
		{filt, "anything-but list of numbers", `{"detail":{"x-limit":[{"anything-but":[100,200,300]}]}}`, docFilterEvent, true},
		{filt, "anything-but list of numbers excluded", `{"detail":{"c-count":[{"anything-but":[4,5,6]}]}}`, docFilterEvent, false},
		{filt, "anything-but prefix", `{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}`, docFilterEvent, true},
		{filt, "anything-but prefix excluded", `{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}`, `{"detail":{"state":"initializing"}}`, false},
		{filt, "anything-but detail-type", `{"detail-type":[{"anything-but":"AWS API Call via CloudTrail"}]}`, docFilterEvent, true},
		{filt, "anything-but sources", `{"source":[{"anything-but":["aws.ec2","aws.s3"]}]}`, docFilterEvent, false},
		{filt, "anything-but prefix aws.", `{"source":[{"anything-but":{"prefix":"aws."}}]}`, `{"source":"com.example.orders"}`, true},
		{filt, "anything-but prefix aws. excluded", `{"source":[{"anything-but":{"prefix":"aws."}}]}`, docFilterEvent, false},
		{filt, "anything-but suffix", `{"detail":{"FileName":[{"anything-but":{"suffix":".txt"}}]}}`, `{"detail":{"FileName":"notes.png"}}`, true},
		{filt, "anything-but suffix excluded", `{"detail":{"FileName":[{"anything-but":{"suffix":".txt"}}]}}`, `{"detail":{"FileName":"notes.txt"}}`, false},
		{filt, "anything-but ignore case", `{"detail":{"state":[{"anything-but":{"equals-ignore-case":"initializing"}}]}}`, docFilterEvent, true},
		{filt, "anything-but ignore case excluded", `{"detail":{"state":[{"anything-but":{"equals-ignore-case":"initializing"}}]}}`, `{"detail":{"state":"INITIALIZING"}}`, false},
		{filt, "anything-but ignore case list", `{"detail":{"state":[{"anything-but":{"equals-ignore-case":["Stopped","OverLoaded"]}}]}}`, docFilterEvent, true},
		{filt, "anything-but ignore case list excluded", `{"detail":{"state":[{"anything-but":{"equals-ignore-case":["Stopped","OverLoaded"]}}]}}`, `{"detail":{"state":"overloaded"}}`, false},
		{filt, "anything-but wildcard", `{"detail":{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}}`, `{"detail":{"FilePath":"/usr/bin/env"}}`, true},
		{filt, "anything-but wildcard excluded", `{"detail":{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}}`, `{"detail":{"FilePath":"/usr/lib/libc.so"}}`, false},
		{filt, "anything-but wildcard list", `{"detail":{"FilePath":[{"anything-but":{"wildcard":["*/lib/*","*/bin/*"]}}]}}`, `{"detail":{"FilePath":"/etc/passwd"}}`, true},
		{filt, "anything-but wildcard list excluded", `{"detail":{"FilePath":[{"anything-but":{"wildcard":["*/lib/*","*/bin/*"]}}]}}`, `{"detail":{"FilePath":"/usr/bin/env"}}`, false},
		{filt, "numeric all fields", `{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"numeric":["=",3.018e2]}]}}`, docFilterEvent, true},
		{filt, "numeric one field out of range", `{"detail":{"c-count":[{"numeric":[">",0,"<",5]}],"d-count":[{"numeric":["<",10]}]}}`, docFilterEvent, false},
		{filt, "numeric only matches numbers", `{"detail":{"state":[{"numeric":[">",0]}]}}`, docFilterEvent, false},
		{filt, "ip address", `{"detail":{"source-ip":[{"cidr":"10.0.0.0/24"}]}}`, docFilterEvent, true},
		{filt, "ip address outside", `{"detail":{"source-ip":[{"cidr":"10.0.1.0/24"}]}}`, docFilterEvent, false},
		{filt, "ip address IPv6", `{"detail":{"sourceIPAddress":[{"cidr":"2001:db8::/32"}]}}`, `{"detail":{"sourceIPAddress":"2001:db8:1234:1a00::7"}}`, true},
		{filt, "ip address IPv6 outside", `{"detail":{"sourceIPAddress":[{"cidr":"2001:db8::/32"}]}}`, `{"detail":{"sourceIPAddress":"2001:db9::7"}}`, false},
		{filt, "exists false, field absent", `{"detail":{"c-count":[{"exists":false}]}}`, docExistsEvent1, true},
		{filt, "exists false, field not a leaf", `{"detail":{"c-count":[{"exists":false}]}}`, docExistsEvent2, true},
		{filt, "exists false, field present", `{"detail":{"c-count":[{"exists":false}]}}`, docFilterEvent, false},
		{filt, "exists true", `{"detail":{"c-count":[{"exists":true}]}}`, docFilterEvent, true},
		{filt, "exists true, field absent", `{"detail":{"description":[{"exists":true}]}}`, docFilterEvent, false},
		{filt, "exists true, field not a leaf", `{"detail":{"c-count":[{"exists":true}]}}`, docExistsEvent2, false},
		{filt, "equals-ignore-case", `{"detail-type":[{"equals-ignore-case":"ec2 instance state-change notification"}]}`, docFilterEvent, true},
		{filt, "equals-ignore-case other", `{"detail-type":[{"equals-ignore-case":"ec2 instance state-change"}]}`, docFilterEvent, false},
		{filt, "wildcard", `{"detail":{"FileName":[{"wildcard":"dir/*.png"}]}}`, `{"detail":{"FileName":"dir/dir2/image.png"}}`, true},
		{filt, "wildcard other extension", `{"detail":{"FileName":[{"wildcard":"dir/*.png"}]}}`, `{"detail":{"FileName":"dir/image.jpg"}}`, false},
		{filt, "wildcard two stars", `{"detail":{"FileName":[{"wildcard":"*Title*"}]}}`, `{"detail":{"FileName":"The Title Page"}}`, true},
		{filt, "complex example", `{"time":[{"prefix":"2017-10-02"}],"detail":{"state":[{"anything-but":"initializing"}],"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"anything-but":[100,200,300]}],"source-ip":[{"cidr":"10.0.0.0/8"}]}}`, docFilterEvent, true},
		{filt, "$or one branch", `{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},{"d-count":[{"numeric":["<",10]}]},{"x-limit":[{"numeric":["=",3.018e2]}]}]}}`, `{"detail":{"c-count":7,"d-count":3}}`, true},
		{filt, "$or no branch", `{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},{"d-count":[{"numeric":["<",10]}]},{"x-limit":[{"numeric":["=",3.018e2]}]}]}}`, `{"detail":{"c-count":7,"d-count":30,"x-limit":1}}`, false},

		// eb-create-pattern-operators.html summary table.
		{ops, "And", `{"Location":["New York"],"Day":["Monday"]}`, `{"Location":"New York","Day":"Monday"}`, true},
		{ops, "And, one field differs", `{"Location":["New York"],"Day":["Monday"]}`, `{"Location":"New York","Day":"Tuesday"}`, false},
		{ops, "Anything-but", `{"state":[{"anything-but":"initializing"}]}`, `{"state":"running"}`, true},
		{ops, "Anything-but (begins with)", `{"Region":[{"anything-but":{"prefix":"us-"}}]}`, `{"Region":"eu-west-1"}`, true},
		{ops, "Anything-but (begins with) in the US", `{"Region":[{"anything-but":{"prefix":"us-"}}]}`, `{"Region":"us-east-1"}`, false},
		{ops, "Anything-but (ends with)", `{"FileName":[{"anything-but":{"suffix":".png"}}]}`, `{"FileName":"a.png"}`, false},
		{ops, "Anything-but (ignore case)", `{"state":[{"anything-but":{"equals-ignore-case":"initializing"}}]}`, `{"state":"INITIALIZING"}`, false},
		{ops, "Anything-but using a wildcard", `{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"FilePath":"/opt/lib/x"}`, false},
		{ops, "Begins with", `{"Region":[{"prefix":"us-"}]}`, `{"Region":"us-west-2"}`, true},
		{ops, "Begins with (ignore case)", `{"service":[{"prefix":{"equals-ignore-case":"eventb"}}]}`, `{"service":"EventBridge"}`, true},
		{ops, "Empty", `{"LastName":[""]}`, `{"LastName":""}`, true},
		{ops, "Empty, not empty", `{"LastName":[""]}`, `{"LastName":"Doe"}`, false},
		{ops, "Equals", `{"Name":["Alice"]}`, `{"Name":"Alice"}`, true},
		{ops, "Equals is case-sensitive", `{"Name":["Alice"]}`, `{"Name":"alice"}`, false},
		{ops, "Equals (ignore case)", `{"Name":[{"equals-ignore-case":"alice"}]}`, `{"Name":"Alice"}`, true},
		{ops, "Ends with", `{"FileName":[{"suffix":".png"}]}`, `{"FileName":"photo.png"}`, true},
		{ops, "Ends with (ignore case)", `{"service":[{"suffix":{"equals-ignore-case":"tBridge"}}]}`, `{"service":"EVENTBRIDGE"}`, true},
		{ops, "Exists", `{"ProductName":[{"exists":true}]}`, `{"ProductName":"Widget"}`, true},
		{ops, "Does not exist", `{"ProductName":[{"exists":false}]}`, `{"Price":3}`, true},
		{ops, "Not (anything-but list)", `{"Weather":[{"anything-but":["Raining"]}]}`, `{"Weather":"Sunny"}`, true},
		{ops, "Null", `{"UserID":[null]}`, `{"UserID":null}`, true},
		{ops, "Numeric (equals)", `{"Price":[{"numeric":["=",100]}]}`, `{"Price":100}`, true},
		{ops, "Numeric (equals) 1.0e2", `{"Price":[{"numeric":["=",100]}]}`, `{"Price":1.0e2}`, true},
		{ops, "Numeric (range)", `{"Price":[{"numeric":[">",10,"<=",20]}]}`, `{"Price":20}`, true},
		{ops, "Numeric (range) open bottom", `{"Price":[{"numeric":[">",10,"<=",20]}]}`, `{"Price":10}`, false},
		{ops, "Or", `{"PaymentType":["Credit","Debit"]}`, `{"PaymentType":"Debit"}`, true},
		{ops, "Or (multiple fields)", `{"$or":[{"Location":["New York"]},{"Day":["Monday"]}]}`, `{"Location":"Boston","Day":"Monday"}`, true},
		{ops, "Or (multiple fields), none", `{"$or":[{"Location":["New York"]},{"Day":["Monday"]}]}`, `{"Location":"Boston","Day":"Friday"}`, false},
		{ops, "Wildcard", `{"FileName":[{"wildcard":"dir/*.png"}]}`, `{"FileName":"dir/image.png"}`, true},
		{ops, "IP address", `{"SourceIPAddress":[{"cidr":"10.0.0.0/24"}]}`, `{"SourceIPAddress":"10.0.0.255"}`, true},

		// Event Ruler README: suffix, equals-ignore-case, wildcard, $or, arrays.
		{ruler, "suffix ec2", `{"source":[{"suffix":"ec2"}]}`, docFilterEvent, true},
		{ruler, "equals-ignore-case EC2", `{"source":[{"equals-ignore-case":"EC2"}]}`, `{"source":"ec2"}`, true},
		{ruler, "wildcard Simple*Service", `{"source":[{"wildcard":"Simple*Service"}]}`, `{"source":"SimpleNotificationService"}`, true},
		{ruler, "wildcard escaped star", `{"source":[{"wildcard":"a\\*b"}]}`, `{"source":"a*b"}`, true},
		{ruler, "wildcard escaped star is literal", `{"source":[{"wildcard":"a\\*b"}]}`, `{"source":"axxb"}`, false},
		{ruler, "wildcard escaped backslash", `{"source":[{"wildcard":"a\\\\*"}]}`, `{"source":"a\\bc"}`, true},
		{ruler, "$or normal", `{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"namespace":["AWS/EC2","AWS/ES"]}]}`, `{"source":"aws.cloudwatch","namespace":"AWS/ES"}`, true},
		{ruler, "$or normal, source differs", `{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"namespace":["AWS/EC2","AWS/ES"]}]}`, `{"source":"aws.ec2","namespace":"AWS/ES"}`, false},
		{ruler, "$or parallel", `{"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"namespace":["AWS/EC2","AWS/ES"]}],"detail":{"$or":[{"source":["aws.cloudwatch"]},{"detail-type":["CloudWatch Alarm State Change"]}]}}`, `{"metricName":"ReadLatency","detail":{"detail-type":"CloudWatch Alarm State Change"}}`, true},
		{ruler, "$or parallel, second group fails", `{"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"namespace":["AWS/EC2","AWS/ES"]}],"detail":{"$or":[{"source":["aws.cloudwatch"]},{"detail-type":["CloudWatch Alarm State Change"]}]}}`, `{"metricName":"ReadLatency","detail":{"source":"aws.ec2"}}`, false},
		{ruler, "$or with and inside", `{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"metricType":["MetricType"],"namespace":["AWS/EC2","AWS/ES"]},{"scope":["Service"]}]}`, `{"source":"aws.cloudwatch","metricType":"MetricType","namespace":"AWS/EC2"}`, true},
		{ruler, "$or with and inside, half", `{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"metricType":["MetricType"],"namespace":["AWS/EC2","AWS/ES"]},{"scope":["Service"]}]}`, `{"source":"aws.cloudwatch","metricType":"MetricType"}`, false},
		{ruler, "$or nested", `{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"metricType":["MetricType"],"namespace":["AWS/EC2","AWS/ES"],"$or":[{"metricId":[1234]},{"spaceId":[1000]}]},{"scope":["Service"]}]}`, `{"source":"aws.cloudwatch","metricType":"MetricType","namespace":"AWS/EC2","spaceId":1000}`, true},
		{ruler, "$or nested, inner fails", `{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"metricType":["MetricType"],"namespace":["AWS/EC2","AWS/ES"],"$or":[{"metricId":[1234]},{"spaceId":[1000]}]},{"scope":["Service"]}]}`, `{"source":"aws.cloudwatch","metricType":"MetricType","namespace":"AWS/EC2","spaceId":1001}`, false},
		{ruler, "array of objects", `{"employees":{"firstName":["Anna"]}}`, rulerEmployees, true},
		{ruler, "array of arrays of objects", `{"employees":{"firstName":["Anna"]}}`, rulerEmployeesNested, true},
		{ruler, "array consistency", `{"employees":{"firstName":["Anna"],"lastName":["Jones"]}}`, rulerEmployees, false},
		{ruler, "array consistency, same element", `{"employees":{"firstName":["Anna"],"lastName":["Smith"]}}`, rulerEmployees, true},
		{ruler, "simple matching with array values", `{"detail-type":["EC2 Instance State-change Notification"],"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],"detail":{"state":["initializing","running"]}}`, docFilterEvent, true},
	}
}

func TestCompliance(t *testing.T) {
	for _, c := range complianceCases() {
		t.Run(c.name, func(t *testing.T) {
			p, err := compileGeneric(c.pattern)
			if err != nil {
				t.Fatalf("%s: compile %s: %v", c.doc, c.pattern, err)
			}
			if got := matchDocument(t, p, c.event); got != c.want {
				t.Errorf("%s\npattern %s\nevent   %s\nmatch = %v, documented %v", c.doc, c.pattern, c.event, got, c.want)
			}
		})
	}
}

// TestComplianceCloudTrail runs the two envelope patterns trailwatch's rules
// rely on against CloudTrail records from the AWS documentation, as they
// arrive from any path (S3 log file, EventBridge, CloudWatch Logs).
func TestComplianceCloudTrail(t *testing.T) {
	rootOnly := `{"detail":{"userIdentity":{"type":["Root"]}}}`
	rootLogin := `{"source":["aws.signin"],"detail-type":["AWS Console Sign In via CloudTrail"],` +
		`"detail":{"eventName":["ConsoleLogin"],"userIdentity":{"type":["Root"]}}}`
	cases := []struct {
		pattern, example string
		want             bool
	}{
		{rootOnly, "root-console-login-no-mfa", true},
		{rootOnly, "root-console-login-failure", true},
		{rootOnly, "eventbridge-root-console-sign-in", true},
		{rootOnly, "eventbridge-s3-create-bucket", true}, // the S3 example is a root call
		{rootOnly, "iam-user-console-login-mfa", false},
		{rootLogin, "root-console-login-no-mfa", true},
		{rootLogin, "root-console-login-mfa", true},
		{rootLogin, "root-console-login-failure", true},
		{rootLogin, "eventbridge-root-console-sign-in", true},
		{rootLogin, "eventbridge-s3-create-bucket", false},
		{rootLogin, "iam-user-console-login-mfa", false},
		{rootLogin, "iam-user-console-login-failure", false},
	}
	for _, c := range cases {
		t.Run(c.example, func(t *testing.T) {
			p := mustCompile(t, c.pattern)
			if !p.Envelope() {
				t.Fatalf("%s is not an envelope pattern", c.pattern)
			}
			if got := p.Match(docRecord(t, c.example)); got != c.want {
				t.Errorf("pattern %s on %s: match = %v, want %v", c.pattern, c.example, got, c.want)
			}
		})
	}
}
