package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestRecordCutAgreesWithReference decodes log files built to mislead the
// record-end shortcut: the marker inside strings and inside nested arrays,
// records whose first key changes, pretty printing. Every record must come
// out exactly as encoding/json sees it.
func TestRecordCutAgreesWithReference(t *testing.T) {
	tricky := []string{
		`{"eventVersion":"1.08","eventID":"a","requestParameters":{"s":"},{\"eventVersion\":\"x\"}"}}`,
		`{"eventVersion":"1.08","eventID":"b","resources":[{"eventVersion":"n1"},{"eventVersion":"n2"}]}`,
		`{"eventVersion":"1.08","eventID":"c","userAgent":"\\\\},{\"eventVersion\":"}`,
		`{"eventVersion":"1.08","eventID":"d","x":"}"},{"eventVersion":"1.08","eventID":"e"}`,
	}
	var mixed []string
	for i := range 200 {
		if i%2 == 0 {
			mixed = append(mixed, fmt.Sprintf(`{"eventID":"m%d","eventVersion":"1.08"}`, i))
		} else {
			mixed = append(mixed, fmt.Sprintf(`{"eventTime":"2023-07-10T11:42:00Z","eventVersion":"1.08","eventID":"m%d"}`, i))
		}
	}
	var same []string
	for i := range 300 {
		same = append(same, fmt.Sprintf(`{"eventVersion":"1.08","eventID":"s%d","nested":[{"eventVersion":"%d"},{"eventVersion":"x"}]}`, i, i))
	}
	cases := map[string]string{
		"tricky":  `{"Records":[` + strings.Join(tricky, ",") + `]}`,
		"mixed":   `{"Records":[` + strings.Join(mixed, ",") + `]}`,
		"nested":  `{"Records":[` + strings.Join(same, ",") + `]}`,
		"pretty":  "{\n  \"Records\": [\n    " + strings.Join(tricky, ",\n    ") + "\n  ]\n}\n",
		"spacing": `{"Records":[` + strings.Join(same[:20], " , ") + `]}`,
	}
	r := New(Options{})
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			want, ok := referenceRecords([]byte(in))
			if !ok {
				t.Fatal("reference decode failed")
			}
			c := collect(t, r.Stream(context.Background(), name, strings.NewReader(in)))
			if c.errs()+len(c.skips) != 0 || len(c.events) != len(want) {
				t.Fatalf("got %d events (want %d), %v %v %v", len(c.events), len(want), c.skips, c.records, c.inputs)
			}
			for i, ev := range c.events {
				var got, exp any
				json.Unmarshal(ev.Raw(), &got)
				json.Unmarshal(want[i], &exp)
				if !reflect.DeepEqual(got, exp) || ev.Origin().Index != i {
					t.Fatalf("record %d: got %s, want %s", i, ev.Raw(), want[i])
				}
			}
		})
	}
}

func TestRecordCutTurnsOff(t *testing.T) {
	var c recordCut
	c.learn([]byte(`{"eventVersion":"1"}`))
	if !bytes.Equal(c.marker, []byte(`},{"eventVersion":`)) {
		t.Fatalf("marker %q", c.marker)
	}
	for range maxMisses {
		c.miss()
	}
	if !c.off || c.candidate([]byte(`{"a":1},{"eventVersion":2}`)) != nil {
		t.Fatal("still on after misses")
	}
	var p recordCut
	p.learn([]byte("{\n \"eventVersion\": 1}"))
	if !p.off {
		t.Fatal("pretty-printed record did not turn the shortcut off")
	}
}
