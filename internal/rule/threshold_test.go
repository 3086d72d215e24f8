package rule

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/state"
)

const secretsPack = `rules:
  - id: secrets-read
    title: Secrets read in bulk
    severity: medium
    summary: '{{.Principal}} read secrets'
    locales:
      ja: {title: シークレットの大量読み出し}
    threshold: {count: 3, window: 10m, by: [principal], distinct: [requestParameters.secretId]}
    pattern: {eventName: [GetSecretValue]}
    tests:
      - name: one read matches (the threshold is counted at run time)
        alert: true
        event: {eventName: GetSecretValue}
      - name: other call
        alert: false
        event: {eventName: ListSecrets}
`

func secretEvent(i int, secret string) *event.Event {
	return event.MustParse(fmt.Sprintf(`{"eventID":"e%d","eventName":"GetSecretValue","eventTime":"2026-11-02T09:0%d:00Z",
		"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/mallory","accountId":"111122223333","userName":"mallory"},
		"sourceIPAddress":"203.0.113.7","requestParameters":{"secretId":%q}}`, i, i, secret))
}

func TestThresholdRuleThroughSet(t *testing.T) {
	rs, err := load(secretsPack)
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	if r.Threshold == nil || r.Threshold.Count != 3 || r.Threshold.Window != 10*time.Minute ||
		strings.Join(r.Threshold.By, ",") != "principal" || strings.Join(r.Threshold.Distinct, ",") != "requestParameters.secretId" {
		t.Fatalf("threshold = %+v", r.Threshold)
	}
	// The rule's own tests check the match; the threshold is not theirs.
	for _, res := range RunTests(context.Background(), rs) {
		if !res.Passed() {
			t.Error(res.Failure())
		}
	}
	run := func(t *testing.T, s *Set) {
		t.Helper()
		ctx := context.Background()
		var fired []string
		for i, secret := range []string{"a", "a", "b", "c", "d"} {
			alerts, err := s.Alerts(ctx, secretEvent(i, secret))
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range alerts {
				fired = append(fired, a.Event.ID())
				if a.Annotation != "3 distinct requestParameters.secretId in 10m" || a.AnnotationIn("ja") != "10分以内に異なる requestParameters.secretId が3件" {
					t.Errorf("annotations %q / %q", a.Annotation, a.AnnotationIn("ja"))
				}
				if a.Context["count"] != "3" || a.Context["first_1"] != "2026-11-02T09:00:00Z GetSecretValue 203.0.113.7 e0" {
					t.Errorf("context %v", a.Context)
				}
				if a.Summary != "mallory read secrets" {
					t.Errorf("summary %q", a.Summary)
				}
			}
		}
		if strings.Join(fired, ",") != "e3" {
			t.Fatalf("alerts on %v; want only e3, the third distinct secret", fired)
		}
	}
	set, err := NewSet(rs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("in memory", func(t *testing.T) { run(t, set) })
	t.Run("file store", func(t *testing.T) {
		st, err := state.OpenFile(filepath.Join(t.TempDir(), "state.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		// A fresh count: WithStore does not share the in-memory one.
		run(t, set.WithStore(st, func() time.Time { return time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC) }))
	})
	t.Run("without thresholds", func(t *testing.T) {
		alerts, err := set.WithoutThresholds().Alerts(context.Background(), secretEvent(9, "x"))
		if err != nil || len(alerts) != 1 || alerts[0].Annotation != "" {
			t.Fatalf("a preview set = %v, %v; want the match as an alert", alerts, err)
		}
	})
	t.Run("each", func(t *testing.T) {
		s, _ := NewSet(rs...)
		var n int
		for i := range 4 {
			if err := s.Each(context.Background(), secretEvent(i, fmt.Sprint(i)), func(*event.Alert) bool { n++; return true }); err != nil {
				t.Fatal(err)
			}
		}
		if n != 1 {
			t.Fatalf("Each yielded %d alerts over 4 distinct secrets at 3; want 1", n)
		}
	})
}

func TestPackGroups(t *testing.T) {
	packs := fstest.MapFS{
		"signin.yaml": {Data: []byte(good)},
		"cis.yaml":    {Data: []byte("pack: {default: false}\n" + strings.ReplaceAll(good, "root-login", "cis-root"))},
		"stream.yaml": {Data: []byte("pack:\n  default: true\n" + strings.ReplaceAll(good, "root-login", "stream-root"))},
	}
	ids := func(rs []*Rule) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.ID)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		packs []string
		want  string
	}{
		{nil, "root-login,stream-root"},
		{[]string{PacksDefault}, "root-login,stream-root"},
		{[]string{PacksAll}, "cis-root,root-login,stream-root"},
		{[]string{PacksDefault, "cis"}, "cis-root,root-login,stream-root"},
		{[]string{"cis"}, "cis-root"},
	} {
		rs, err := Load(Selection{Builtin: packs, Packs: tc.packs})
		if err != nil {
			t.Fatalf("%v: %v", tc.packs, err)
		}
		if got := ids(rs); got != tc.want {
			t.Errorf("packs %v load %s; want %s", tc.packs, got, tc.want)
		}
	}
	def, err := DefaultPacks(packs)
	if err != nil || strings.Join(def, ",") != "signin,stream" {
		t.Errorf("DefaultPacks = %v, %v", def, err)
	}
	if !IsPackGroup("default") || !IsPackGroup("all") || !IsPackGroup("none") || IsPackGroup("cis") {
		t.Error("IsPackGroup")
	}
}
