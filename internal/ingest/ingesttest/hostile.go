package ingesttest

// Hostile inputs: what someone who may write one object to the trail
// bucket, one message to the queue or one event to the bus can hand
// trailwatch to exhaust its memory, its time or its logs. The writers
// stream, so a 31 MiB bomb costs no more memory to build than its gzip
// (about 30 KB). They are shared by the ingest tests, the binary tests in
// e2e and anyone checking a new input path against the same attacks.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// Event IDs of the good records placed before and after a bomb: a reader
// that refuses the bomb must still yield both.
const (
	GoodBefore = "00000000-0000-4000-8000-0000000000b1"
	GoodAfter  = "00000000-0000-4000-8000-0000000000a2"
)

// GoodRecord returns a small, real-looking CloudTrail record with the
// given eventID.
func GoodRecord(id string) []byte {
	return []byte(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","userName":"alice"},` +
		`"eventTime":"2024-05-01T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7",` +
		`"userAgent":"aws-cli/2.15.0","requestParameters":null,"responseElements":null,"requestID":"req-` + id + `","eventID":"` + id + `",` +
		`"readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}`)
}

// GoodLog returns an uncompressed CloudTrail log file holding a
// GoodRecord for each id: the good message sent beside a bomb.
func GoodLog(ids ...string) []byte {
	b := []byte(`{"Records":[`)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, GoodRecord(id)...)
	}
	return append(b, "]}"...)
}

// valueBombHead opens the record of WriteValueBomb; the bytes of its "v"
// array follow.
const valueBombHead = `{"eventVersion":"1.08","eventName":"X","eventSource":"x.amazonaws.com","eventID":"00000000-0000-4000-8000-00000000b0b0","v":[`

// WriteValueBomb writes one CloudTrail record whose array "v" holds size
// bytes of "0," (size/2 values): a few KB gzipped, and a tree of hundreds
// of bytes per value for a parser that builds one.
func WriteValueBomb(tb testing.TB, w io.Writer, size int) {
	tb.Helper()
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(valueBombHead)
	writeZeros(bw, size)
	bw.WriteString(`]}`)
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
}

// writeZeros writes size bytes of "0," less the last comma: size/2 values.
func writeZeros(bw *bufio.Writer, size int) {
	chunk := bytes.Repeat([]byte("0,"), 32<<10)
	for n := size / 2; n > 0; {
		k := min(n, len(chunk)/2)
		if n == k {
			bw.Write(chunk[:2*k-1]) // the last value takes no comma
		} else {
			bw.Write(chunk[:2*k])
		}
		n -= k
	}
}

// WriteDeepRecord writes one CloudTrail record whose "v" holds arrays
// nested depth deep.
func WriteDeepRecord(tb testing.TB, w io.Writer, depth int) {
	tb.Helper()
	_, err := io.WriteString(w, `{"eventVersion":"1.08","eventName":"X","eventSource":"x.amazonaws.com","v":`+strings.Repeat("[", depth)+strings.Repeat("]", depth)+`}`)
	if err != nil {
		tb.Fatal(err)
	}
}

// gzipWriter wraps w; close flushes and finishes the gzip stream.
func gzipWriter(tb testing.TB, w io.Writer) (*bufio.Writer, func()) {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(zw, 64<<10)
	return bw, func() {
		if err := bw.Flush(); err != nil {
			tb.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			tb.Fatal(err)
		}
	}
}

// WriteValueBombLog writes a gzipped CloudTrail log file of three records:
// GoodRecord(GoodBefore), WriteValueBomb(size), GoodRecord(GoodAfter). At
// 4 MiB it is about 4.5 KB; at 31 MiB about 31 KB.
func WriteValueBombLog(tb testing.TB, w io.Writer, size int) {
	tb.Helper()
	bw, done := gzipWriter(tb, w)
	bw.WriteString(`{"Records":[`)
	bw.Write(GoodRecord(GoodBefore))
	bw.WriteByte(',')
	WriteValueBomb(tb, bw, size)
	bw.WriteByte(',')
	bw.Write(GoodRecord(GoodAfter))
	bw.WriteString("]}\n")
	done()
}

// ValueBombLog returns WriteValueBombLog's bytes.
func ValueBombLog(tb testing.TB, size int) []byte {
	tb.Helper()
	var b bytes.Buffer
	WriteValueBombLog(tb, &b, size)
	return b.Bytes()
}

// AWSLogsValueBomb returns a raw CloudWatch Logs subscription payload,
// {"awslogs":{"data":"<base64 of gzip>"}}, whose DATA_MESSAGE carries
// three log events: GoodRecord(GoodBefore), WriteValueBomb(size) and
// GoodRecord(GoodAfter). At 31 MiB it is about 43 KB: small enough for an
// SQS message body.
func AWSLogsValueBomb(tb testing.TB, size int) []byte {
	tb.Helper()
	var z bytes.Buffer
	bw, done := gzipWriter(tb, &z)
	bw.WriteString(`{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"aws-cloudtrail-logs","logStream":"123456789012_CloudTrail_us-east-1","subscriptionFilters":["trailwatch"],"logEvents":[`)
	logEvent := func(i int, write func()) {
		fmt.Fprintf(bw, `{"id":"3819084537838397852400000000000000000000000000000%d","timestamp":1714564800000,"message":"`, i)
		write()
		bw.WriteString(`"}`)
	}
	// The records hold no quotes that need escaping but their own, which
	// JSON-escape as \".
	escaped := func(rec []byte) { bw.Write(bytes.ReplaceAll(rec, []byte(`"`), []byte(`\"`))) }
	logEvent(0, func() { escaped(GoodRecord(GoodBefore)) })
	bw.WriteByte(',')
	logEvent(1, func() {
		escaped([]byte(valueBombHead))
		writeZeros(bw, size) // digits and commas need no escaping
		bw.WriteString(`]}`)
	})
	bw.WriteByte(',')
	logEvent(2, func() { escaped(GoodRecord(GoodAfter)) })
	bw.WriteString(`]}`)
	done()
	return []byte(`{"awslogs":{"data":"` + base64.StdEncoding.EncodeToString(z.Bytes()) + `"}}`)
}

// S3Notification returns an S3 event notification for one created object,
// as S3 sends it to SQS or SNS.
func S3Notification(bucket, key string) []byte {
	b, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
		"eventTime": "2024-05-01T12:05:00.000Z", "eventName": "ObjectCreated:Put",
		"s3": map[string]any{"bucket": map[string]any{"name": bucket}, "object": map[string]any{"key": key}},
	}}})
	return b
}

// SQSEvent returns a Lambda SQS event whose messages, with ids m0, m1, ...,
// carry the given bodies.
func SQSEvent(bodies ...[]byte) []byte {
	recs := make([]any, len(bodies))
	for i, b := range bodies {
		recs[i] = map[string]any{
			"messageId": fmt.Sprintf("m%d", i), "receiptHandle": fmt.Sprintf("rh-%d", i), "body": string(b),
			"attributes":  map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1714564800000"},
			"eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:trailwatch", "awsRegion": "us-east-1",
		}
	}
	b, _ := json.Marshal(map[string]any{"Records": recs})
	return b
}

// WriteRepeatedLog writes a gzipped CloudTrail log file of n records, the
// i-th made by rec(i): the time bomb, millions of records in a few MB.
func WriteRepeatedLog(tb testing.TB, w io.Writer, n int, rec func(i int) []byte) {
	tb.Helper()
	bw, done := gzipWriter(tb, w)
	bw.WriteString(`{"Records":[`)
	for i := range n {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.Write(rec(i))
	}
	bw.WriteString("]}\n")
	done()
}

// TinyRecord returns the smallest record ingest reads as CloudTrail, with
// a distinct eventID: 10 million of them gzip to about 1.6 MB.
func TinyRecord(i int) []byte {
	return fmt.Appendf(nil, `{"eventVersion":"1.08","eventID":"t%d","eventName":"X","eventSource":"x.amazonaws.com"}`, i)
}

// WriteDeepLog writes a gzipped CloudTrail log file of n records, each
// nested depth deep (see WriteDeepRecord): with depth past the parser's
// limit, every record is an error, the error flood (10,000 records nested
// 301 deep gzip to 29 KB).
func WriteDeepLog(tb testing.TB, w io.Writer, n, depth int) {
	tb.Helper()
	var rec bytes.Buffer
	WriteDeepRecord(tb, &rec, depth)
	WriteRepeatedLog(tb, w, n, func(int) []byte { return rec.Bytes() })
}
