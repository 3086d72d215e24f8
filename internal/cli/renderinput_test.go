package cli

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// TestRenderEventShapes: render --event takes the event in every shape
// check reads, and renders the same message from each.
func TestRenderEventShapes(t *testing.T) {
	eventBridge := `{"version":"0","id":"e1","detail-type":"AWS Console Sign In via CloudTrail","source":"aws.signin","account":"111122223333","time":"2022-11-10T16:24:34Z","region":"us-east-1","resources":[],"detail":` + rootLoginEvent + `}`
	quote := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	compact := func(s string) string {
		var b bytes.Buffer
		json.Compact(&b, []byte(s))
		return b.String()
	}
	cwl := `{"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"aws-cloudtrail-logs","logStream":"111122223333_CloudTrail_us-east-1","subscriptionFilters":["trailwatch"],"logEvents":[{"id":"1","timestamp":1668097474000,"message":` + quote(compact(rootLoginEvent)) + `}]}`
	shapes := map[string][]byte{
		"record.json":      []byte(rootLoginEvent),
		"eventbridge.json": []byte(eventBridge),
		"sns.json":         []byte(`{"Type":"Notification","MessageId":"m1","TopicArn":"arn:aws:sns:us-east-1:111122223333:t","Message":` + quote(eventBridge) + `,"Timestamp":"2022-11-10T16:24:35.000Z"}`),
		"sqs.json":         []byte(`{"Records":[{"messageId":"q1","receiptHandle":"r","body":` + quote(eventBridge) + `,"attributes":{},"messageAttributes":{},"md5OfBody":"","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:111122223333:q","awsRegion":"us-east-1"}]}`),
		"cwl.json":         []byte(`{"awslogs":{"data":"` + base64.StdEncoding.EncodeToString(gz(cwl)) + `"}}`),
		"log.json.gz":      gz(`{"Records":[` + rootLoginEvent + `]}`),
		"lines.jsonl":      []byte(compact(rootLoginEvent) + "\n"),
	}
	var want string
	for name, data := range shapes {
		p := writeRenderFile(t, name, string(data))
		out, errOut, err := runRenderCmd(t, "--event", p, "--receiver", "slack", "--packs", "signin", "--pretty=false")
		if err != nil {
			t.Errorf("%s: %v\n%s", name, err, errOut)
			continue
		}
		if !strings.Contains(out, "root-console-login") {
			t.Errorf("%s: no root sign-in alert:\n%s", name, out)
		}
		if want == "" {
			want = out
		} else if out != want {
			t.Errorf("%s renders differently:\n%s\nwant:\n%s", name, out, want)
		}
	}
	// Several events: --index picks one.
	p := writeRenderFile(t, "two.json.gz", string(gz(`{"Records":[{"eventName":"ListBuckets","eventSource":"s3.amazonaws.com"},`+rootLoginEvent+`]}`)))
	out, _, err := runRenderCmd(t, "--event", p, "--index", "1", "--receiver", "slack", "--packs", "signin", "--pretty=false")
	if err != nil || out != want {
		t.Errorf("--index 1: %v\n%s", err, out)
	}
}
