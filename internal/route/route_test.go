package route

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/state"
)

var t0 = time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)

// clock is a settable fake clock safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func loadConfig(t *testing.T, src string) *config.Config {
	t.Helper()
	c, err := config.Parse("trailwatch.yaml", []byte(strings.TrimPrefix(src, "\n")), config.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return c
}

func newTree(t *testing.T, src string) *Tree {
	t.Helper()
	tr, err := New(loadConfig(t, src))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// events returns n copies of the testdata event in file, each with its own
// eventID, as independent events.
func events(t *testing.T, file string, n int) []*event.Event {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	ev := event.MustParse(string(raw))
	id := ev.ID()
	out := make([]*event.Event, n)
	for i := range out {
		b := strings.Replace(string(raw), id, fmt.Sprintf("%s-%04d", id[:8], i), 1)
		out[i] = event.MustParse(b)
	}
	return out
}

func alertsFor(evs []*event.Event, rule string, sev event.Severity, tags ...string) []*event.Alert {
	out := make([]*event.Alert, len(evs))
	for i, ev := range evs {
		out[i] = &event.Alert{Rule: event.RuleInfo{ID: rule, Title: rule, Severity: sev, Tags: tags}, Event: ev}
	}
	return out
}

const treeConfig = `
accounts:
  "111122223333": prod
receivers:
  - {name: default, stdout: {}}
  - {name: pager, stdout: {}}
  - {name: cis, stdout: {}}
  - {name: prod, stdout: {}}
  - {name: prod-iam, stdout: {}}
route:
  receiver: default
  routes:
    - matchers: [severity >= high]
      receiver: pager
      continue: true
    - matchers: ["tag =~ cis-.*"]
      receiver: cis
    - matchers: [account_name = prod]
      receiver: prod
      routes:
        - matchers: [event_source = iam.amazonaws.com]
          receiver: prod-iam
`

func receivers(rs []*Route) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Receiver)
	}
	return out
}

func TestMatch(t *testing.T) {
	tr := newTree(t, treeConfig)
	tests := []struct {
		name   string
		labels map[string]string
		want   []string
	}{
		{"nothing matches: root", map[string]string{"severity": "low", "account": "999999999999"}, []string{"default"}},
		{"continue then first non-continue match", map[string]string{"severity": "critical", "tag:cis-1.7": "true", "account_name": "prod"}, []string{"pager", "cis"}},
		{"continue then later sibling", map[string]string{"severity": "high", "account_name": "prod"}, []string{"pager", "prod"}},
		{"severity below the ordering", map[string]string{"severity": "medium", "tag:cis-3.1": "true"}, []string{"cis"}},
		{"child reaches grandchild", map[string]string{"severity": "low", "account_name": "prod", "event_source": "iam.amazonaws.com"}, []string{"prod-iam"}},
		{"child without matching grandchild is the destination", map[string]string{"account_name": "prod", "event_source": "s3.amazonaws.com"}, []string{"prod"}},
		{"tag label must be true", map[string]string{"tag:cis-1.7": "false"}, []string{"default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := receivers(tr.Match(tt.labels)); !slices.Equal(got, tt.want) {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLabelsAddAccountName(t *testing.T) {
	tr := newTree(t, treeConfig)
	a := alertsFor(events(t, "root-console-login.json", 1), "root-console-login", event.SeverityCritical, "cis-1.7")[0]
	l := tr.Labels(a)
	if l["account_name"] != "prod" || l["account"] != "111122223333" || l["tag:cis-1.7"] != "true" {
		t.Errorf("labels = %v", l)
	}
	if got := receivers(tr.Match(l)); !slices.Equal(got, []string{"pager", "cis"}) {
		t.Errorf("root login reaches %v", got)
	}
}

func TestGroupByRoleMergesSessions(t *testing.T) {
	tr := newTree(t, `
receivers:
  - {name: out, stdout: {}}
route:
  receiver: out
  group_by: [rule, role]
`)
	clk := &clock{now: t0}
	rec := &recorder{}
	d := newDispatcher(t, tr, state.NewMemory(clk.Now), clk, rec)
	evs := events(t, "access-denied.json", 4)
	for i := range 2 { // two more SDK sessions of the same role
		raw := strings.ReplaceAll(string(evs[i].Raw()), "aws-go-sdk-1688990515440126480", fmt.Sprintf("aws-go-sdk-%d", i))
		evs[i] = event.MustParse(raw)
	}
	alerts := alertsFor(evs, "access-denied-burst", event.SeverityMedium)
	if l := tr.Labels(alerts[0]); l["role"] != "stratus-red-team-leave-org-role" || l["principal"] != "stratus-red-team-leave-org-role/aws-go-sdk-0" {
		t.Fatalf("labels = %v", l)
	}
	if _, err := d.Dispatch(context.Background(), alerts); err != nil {
		t.Fatal(err)
	}
	if sent := rec.sent(); len(sent) != 1 || sent[0].Count != 4 || sent[0].Labels["role"] != "stratus-red-team-leave-org-role" {
		t.Errorf("sent %d groups: %+v", len(sent), sent)
	}
}

func TestTrace(t *testing.T) {
	tr := newTree(t, treeConfig)
	reached, steps := tr.Trace(map[string]string{"severity": "low", "account_name": "prod", "event_source": "s3.amazonaws.com"})
	var got []string
	for _, s := range steps {
		f := ""
		if s.Failed != nil {
			f = " failed " + s.Failed.String()
		}
		got = append(got, fmt.Sprintf("%d %s matched=%v reached=%v%s", s.Depth, s.Route.ID, s.Matched, s.Reached, f))
	}
	want := []string{
		"0 route matched=true reached=false",
		"1 route.routes[0] matched=false reached=false failed severity >= high",
		"1 route.routes[1] matched=false reached=false failed tag =~ cis-.*",
		"1 route.routes[2] matched=true reached=true",
		"2 route.routes[2].routes[0] matched=false reached=false failed event_source = iam.amazonaws.com",
	}
	if !slices.Equal(got, want) {
		t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(reached) != 1 || reached[0].Receiver != "prod" {
		t.Errorf("reached = %v", receivers(reached))
	}
}

func TestInheritance(t *testing.T) {
	tr := newTree(t, `
receivers:
  - {name: a, stdout: {}}
  - {name: b, stdout: {}}
route:
  receiver: a
  group_by: [rule]
  repeat_interval: 1h
  routes:
    - matchers: [severity = high]
      routes:
        - matchers: [rule = x]
          receiver: b
          group_by: [...]
          repeat_interval: 0s
`)
	child := tr.Root().Routes[0]
	if child.Receiver != "a" || !slices.Equal(child.GroupBy, []string{"rule"}) || child.RepeatInterval != time.Hour {
		t.Errorf("child = %+v", child)
	}
	gc := child.Routes[0]
	if gc.Receiver != "b" || !gc.GroupByAll || gc.GroupBy != nil || gc.RepeatInterval != 0 {
		t.Errorf("grandchild = %+v", gc)
	}
	if tr.Kind("b") != config.KindStdout || tr.Kind("zzz") != "" {
		t.Errorf("Kind")
	}
}

// recorder is a Renderer and Deliverer that keeps what it was given and
// fails while fail is set.
type recorder struct {
	mu     sync.Mutex
	groups []*render.Group
	fail   error
}

func (r *recorder) Render(kind, receiver string, g *render.Group) (*render.Payload, error) {
	return &render.Payload{Receiver: receiver, Kind: kind, Body: []byte(g.Key)}, nil
}

func (r *recorder) Deliver(_ context.Context, receiver string, p *render.Payload, g *render.Group) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	if p.Receiver != receiver || string(p.Body) != g.Key {
		return fmt.Errorf("payload %+v does not belong to group %s", p, g.Key)
	}
	c := *g
	r.groups = append(r.groups, &c)
	return nil
}

func (r *recorder) sent() []*render.Group {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.groups)
}

func newDispatcher(t *testing.T, tr *Tree, st state.Store, clk *clock, rec *recorder) *Dispatcher {
	t.Helper()
	d, err := NewDispatcher(tr, DispatcherOptions{Store: st, Renderer: rec, Deliverer: rec, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const throttleConfig = `
receivers:
  - {name: slack, stdout: {}}
route:
  receiver: slack
  group_by: [rule, principal]
  repeat_interval: 1h
`

func TestGroupingBurst(t *testing.T) {
	tr := newTree(t, throttleConfig)
	clk := &clock{now: t0}
	rec := &recorder{}
	d := newDispatcher(t, tr, state.NewMemory(clk.Now), clk, rec)
	alerts := alertsFor(events(t, "access-denied.json", 300), "access-denied-burst", event.SeverityMedium)
	res, err := d.Dispatch(context.Background(), alerts)
	if err != nil {
		t.Fatal(err)
	}
	if res != (Result{Alerts: 300, Sent: 300, Groups: 1}) {
		t.Errorf("result = %+v", res)
	}
	sent := rec.sent()
	if len(sent) != 1 {
		t.Fatalf("sent %d groups, want 1", len(sent))
	}
	g := sent[0]
	if g.Count != 300 || len(g.Alerts) != 5 || g.Repeat {
		t.Errorf("group Count=%d alerts=%d repeat=%v", g.Count, len(g.Alerts), g.Repeat)
	}
	for i, a := range g.Alerts {
		if a != alerts[i] {
			t.Errorf("alert %d of the group is not the batch's alert %d", i, i)
		}
	}
	wantKey := `slack/route/{principal=stratus-red-team-leave-org-role/aws-go-sdk-1688990515440126480, rule=access-denied-burst}`
	if g.Key != wantKey || g.Receiver != "slack" || g.Labels["principal"] != "stratus-red-team-leave-org-role/aws-go-sdk-1688990515440126480" {
		t.Errorf("group key %q labels %v", g.Key, g.Labels)
	}
}

func TestRepeatInterval(t *testing.T) {
	tr := newTree(t, throttleConfig)
	clk := &clock{now: t0}
	rec := &recorder{}
	d := newDispatcher(t, tr, state.NewMemory(clk.Now), clk, rec)
	evs := events(t, "access-denied.json", 360)
	alerts := alertsFor(evs, "access-denied-burst", event.SeverityMedium)
	ctx := context.Background()

	if _, err := d.Dispatch(ctx, alerts[:300]); err != nil {
		t.Fatal(err)
	}
	clk.Add(30 * time.Minute)
	res, err := d.Dispatch(ctx, alerts[300:350])
	if err != nil {
		t.Fatal(err)
	}
	if res != (Result{Alerts: 50, Throttled: 50}) || len(rec.sent()) != 1 {
		t.Fatalf("within the interval: result %+v, %d sends", res, len(rec.sent()))
	}
	clk.Add(31 * time.Minute)
	res, err = d.Dispatch(ctx, alerts[350:])
	if err != nil {
		t.Fatal(err)
	}
	sent := rec.sent()
	if res != (Result{Alerts: 10, Sent: 10, Groups: 1}) || len(sent) != 2 {
		t.Fatalf("after the interval: result %+v, %d sends", res, len(sent))
	}
	if g := sent[1]; g.Count != 60 || len(g.Alerts) != 5 || !g.Repeat || g.Alerts[0] != alerts[350] {
		t.Errorf("repeat group Count=%d alerts=%d repeat=%v", g.Count, len(g.Alerts), g.Repeat)
	}
	// The held-back count was reported once; the next interval starts at 0.
	clk.Add(61 * time.Minute)
	more := alertsFor(events(t, "root-console-login.json", 1), "access-denied-burst", event.SeverityMedium)
	more[0].Event = evs[0] // same principal, but already delivered: a duplicate
	if res, _ := d.Dispatch(ctx, more); res.Duplicate != 1 || len(rec.sent()) != 2 {
		t.Errorf("duplicate after interval: %+v", res)
	}
}

func TestSilenceExpires(t *testing.T) {
	tr := newTree(t, `
receivers:
  - {name: out, stdout: {}}
route:
  receiver: out
silences:
  - matchers: [rule = root-console-login, account = "111122223333"]
    expires: 2026-11-23T04:00:00Z
    comment: billing change by the finance lead, ticket SEC-42
    created_by: alice
`)
	clk := &clock{now: t0}
	rec := &recorder{}
	d := newDispatcher(t, tr, state.NewMemory(clk.Now), clk, rec)
	alerts := alertsFor(events(t, "root-console-login.json", 2), "root-console-login", event.SeverityCritical)
	ctx := context.Background()

	res, err := d.Dispatch(ctx, alerts[:1])
	if err != nil || res != (Result{Alerts: 1, Silenced: 1}) || len(rec.sent()) != 0 {
		t.Fatalf("before expiry: %+v, %v, %d sends", res, err, len(rec.sent()))
	}
	if s := tr.Silenced(tr.Labels(alerts[0]), clk.Now()); s == nil ||
		s.String() != `silences[0] (trailwatch.yaml:6, until 2026-11-23T04:00:00Z, by alice: "billing change by the finance lead, ticket SEC-42")` {
		t.Errorf("silence = %v", s)
	}
	clk.Add(time.Hour) // exactly at expiry the silence no longer applies
	res, err = d.Dispatch(ctx, alerts)
	if err != nil || res != (Result{Alerts: 2, Sent: 2, Groups: 1}) {
		t.Fatalf("after expiry: %+v, %v", res, err)
	}
}

func TestIgnoreScoped(t *testing.T) {
	tr := newTree(t, `
receivers:
  - {name: out, stdout: {}}
route:
  receiver: out
ignore:
  - principal: stratus-red-team-*
    event_name: LeaveOrganization
    account: "123837392027"
    comment: attack simulation runs from this role
  - principal: arn:aws:iam::111122223333:root
    expires: 2026-11-23T03:30:00Z
    comment: root password rotation this morning
`)
	clk := &clock{now: t0}
	rec := &recorder{}
	d := newDispatcher(t, tr, state.NewMemory(clk.Now), clk, rec)
	denied := alertsFor(events(t, "access-denied.json", 3), "org-leave", event.SeverityHigh)
	root := alertsFor(events(t, "root-console-login.json", 1), "root-console-login", event.SeverityCritical)
	ctx := context.Background()

	// Same principal, other event name: not covered by the scope.
	other := event.MustParse(strings.Replace(string(denied[0].Event.Raw()), `"LeaveOrganization"`, `"DescribeOrganization"`, 1))
	otherAlert := &event.Alert{Rule: denied[0].Rule, Event: other}
	batch := append(slices.Clone(denied), root[0], otherAlert)
	res, err := d.Dispatch(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ignored != 4 || res.Sent != 1 {
		t.Errorf("result = %+v", res)
	}
	if sent := rec.sent(); len(sent) != 1 || sent[0].Alerts[0] != otherAlert {
		t.Errorf("sent = %+v", sent)
	}
	if ig := tr.Ignored(tr.Labels(denied[0]), clk.Now()); ig == nil ||
		ig.String() != `ignore[0] (trailwatch.yaml:6, {principal=stratus-red-team-*, event_name=LeaveOrganization, account=123837392027}: "attack simulation runs from this role")` {
		t.Errorf("ignore = %v", ig)
	}
	clk.Add(time.Hour) // the root ignore rule has expired
	if res, _ := d.Dispatch(ctx, root); res.Ignored != 0 || res.Sent != 1 {
		t.Errorf("after expiry: %+v", res)
	}
}

func TestIdempotentDelivery(t *testing.T) {
	tr := newTree(t, `
receivers:
  - {name: a, stdout: {}}
  - {name: b, stdout: {}}
route:
  receiver: a
  routes:
    - matchers: [severity >= high]
      receiver: b
      continue: true
    - matchers: [severity = critical]
      receiver: b
`)
	clk := &clock{now: t0}
	rec := &recorder{}
	d := newDispatcher(t, tr, state.NewMemory(clk.Now), clk, rec)
	alerts := alertsFor(events(t, "root-console-login.json", 4), "root-console-login", event.SeverityCritical)
	ctx := context.Background()

	// The same event twice in one batch (two delivery paths), and two
	// routes to receiver b: one delivery per (event, rule, receiver).
	batch := append(slices.Clone(alerts), alerts[0])
	res, err := d.Dispatch(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if res != (Result{Alerts: 5, Sent: 4, Groups: 1, Duplicate: 1}) {
		t.Errorf("first: %+v", res)
	}
	res, err = d.Dispatch(ctx, alerts)
	if err != nil || res != (Result{Alerts: 4, Duplicate: 4}) || len(rec.sent()) != 1 {
		t.Errorf("second: %+v, %v, %d sends", res, err, len(rec.sent()))
	}
}

func TestFailedDeliveryIsRetried(t *testing.T) {
	for _, cfg := range []string{throttleConfig, strings.Replace(throttleConfig, "1h", "0s", 1)} {
		tr := newTree(t, cfg)
		clk := &clock{now: t0}
		rec := &recorder{fail: errors.New("slack answered 503")}
		d := newDispatcher(t, tr, state.NewMemory(clk.Now), clk, rec)
		alerts := alertsFor(events(t, "access-denied.json", 7), "access-denied-burst", event.SeverityMedium)
		ctx := context.Background()

		res, err := d.Dispatch(ctx, alerts)
		var de *DeliveryError
		if !errors.As(err, &de) {
			t.Fatalf("error %v is not a *DeliveryError", err)
		}
		wantErr := `receiver "slack" could not deliver group "slack/route/{principal=stratus-red-team-leave-org-role/aws-go-sdk-1688990515440126480, rule=access-denied-burst}" (7 alerts): slack answered 503`
		if err.Error() != wantErr || len(de.Alerts) != 7 || de.Delivered {
			t.Errorf("error:\n got: %v\nwant: %s", err, wantErr)
		}
		if res != (Result{Alerts: 7, Failed: 7}) {
			t.Errorf("failed: %+v", res)
		}
		rec.mu.Lock()
		rec.fail = nil
		rec.mu.Unlock()
		res, err = d.Dispatch(ctx, alerts)
		if err != nil || res != (Result{Alerts: 7, Sent: 7, Groups: 1}) {
			t.Fatalf("retry: %+v, %v", res, err)
		}
		if g := rec.sent()[0]; g.Count != 7 || g.Repeat {
			t.Errorf("retry group Count=%d repeat=%v", g.Count, g.Repeat)
		}
	}
}

// TestConcurrentDispatchers checks that processes sharing one store send a
// group once per repeat interval and lose no count.
func TestConcurrentDispatchers(t *testing.T) {
	tr := newTree(t, throttleConfig)
	clk := &clock{now: t0}
	st := state.NewMemory(clk.Now)
	rec := &recorder{}
	evs := events(t, "access-denied.json", 80)
	alerts := alertsFor(evs, "access-denied-burst", event.SeverityMedium)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range 8 {
		d := newDispatcher(t, tr, st, clk, rec)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = d.Dispatch(context.Background(), alerts[i*10:(i+1)*10])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	sent := rec.sent()
	if len(sent) != 1 {
		t.Fatalf("%d sends within one interval, want 1", len(sent))
	}
	// Held-back alerts are reported with the next send of the group, here
	// just after the interval (the pending count lives two intervals).
	clk.Add(61 * time.Minute)
	d := newDispatcher(t, tr, st, clk, rec)
	more := alertsFor(events(t, "access-denied.json", 81)[80:], "access-denied-burst", event.SeverityMedium)
	if _, err := d.Dispatch(context.Background(), more); err != nil {
		t.Fatal(err)
	}
	sent = rec.sent()
	if len(sent) != 2 || sent[0].Count+sent[1].Count != 81 {
		t.Errorf("counts %d + %d, want 81 in all", sent[0].Count, sent[len(sent)-1].Count)
	}
}

type failingStore struct {
	state.Store
}

func (failingStore) Get(context.Context, string) ([]byte, bool, error) {
	return nil, false, errors.New("dynamodb: throttled")
}

func TestStoreErrorIsReported(t *testing.T) {
	tr := newTree(t, throttleConfig)
	clk := &clock{now: t0}
	rec := &recorder{}
	d := newDispatcher(t, tr, failingStore{state.NewMemory(clk.Now)}, clk, rec)
	res, err := d.Dispatch(context.Background(), alertsFor(events(t, "access-denied.json", 2), "r", event.SeverityLow))
	if err == nil || !strings.Contains(err.Error(), "dynamodb: throttled") || res.Failed != 2 || len(rec.sent()) != 0 {
		t.Errorf("result %+v, error %v", res, err)
	}
}

func TestNewDispatcherNeedsItsParts(t *testing.T) {
	_, err := NewDispatcher(nil, DispatcherOptions{})
	want := "route: dispatcher needs a routing tree\nroute: dispatcher needs a state store\nroute: dispatcher needs a renderer\nroute: dispatcher needs a deliverer"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v", err)
	}
}

func TestRenderersUseReceiverSettings(t *testing.T) {
	c := loadConfig(t, `
timezone: Asia/Tokyo
locale: ja
accounts: {"111122223333": 本番}
receivers:
  - name: out
    stdout: {format: json}
    templates:
      title: 'ROOT {{ .Title }}'
  - name: bot
    slackbot:
      token: env:SLACK_BOT_TOKEN
      channel: C0SECURITY
      mentions: {critical: "@channel"}
route:
  receiver: out
`)
	rs, err := NewRenderers(c, 0, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	alerts := alertsFor(events(t, "root-console-login.json", 1), "root-console-login", event.SeverityCritical)
	g := &render.Group{Key: "k", Receiver: "bot", Alerts: alerts, Count: 1}
	p, err := rs.Render(config.KindSlackBot, "bot", g)
	if err != nil {
		t.Fatal(err)
	}
	if body := string(p.Body); !strings.Contains(body, `"channel":"C0SECURITY"`) || !strings.Contains(body, `\u003c!channel\u003e`) || !strings.Contains(body, "本番") {
		t.Errorf("slackbot body lacks channel, mention or account name: %s", body)
	}
	g.Receiver = "out"
	p, err = rs.Render(config.KindStdout, "out", g)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Text+string(p.Body), "ROOT ") {
		t.Errorf("stdout payload lacks the receiver's title template: %q %s", p.Text, p.Body)
	}
	if _, err := rs.Render(config.KindStdout, "nobody", g); err == nil {
		t.Error("unknown receiver rendered")
	}

	bad := loadConfig(t, `
receivers:
  - name: out
    stdout: {}
    templates:
      title: '{{ .Title '
route:
  receiver: out
`)
	_, err = NewRenderers(bad, 0, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "trailwatch.yaml:4: receivers[0].templates: render: template \"title\" does not parse") {
		t.Errorf("error = %v", err)
	}
}

// TestCancelledDeliveryReleasesTheGroup: a send cut short by the end of a
// Lambda invocation must not leave the repeat interval held, or the retry
// would count the alerts instead of sending them.
func TestCancelledDeliveryReleasesTheGroup(t *testing.T) {
	tr := newTree(t, throttleConfig)
	clk := &clock{now: t0}
	st := state.NewMemory(clk.Now)
	alerts := alertsFor(events(t, "access-denied.json", 3), "access-denied-burst", event.SeverityMedium)
	ctx, cancel := context.WithCancel(context.Background())
	d, err := NewDispatcher(tr, DispatcherOptions{Store: st, Renderer: &recorder{}, Now: clk.Now,
		Deliverer: DeliverFunc(func(ctx context.Context, _ string, _ *render.Payload, _ *render.Group) error {
			cancel()
			return ctx.Err()
		})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Dispatch(ctx, alerts); !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v", err)
	}
	rec := &recorder{}
	res, err := newDispatcher(t, tr, st, clk, rec).Dispatch(context.Background(), alerts)
	if err != nil || res.Sent != 3 || len(rec.sent()) != 1 {
		t.Errorf("retry: %+v, %v", res, err)
	}
}

func TestGroupByAllAndNone(t *testing.T) {
	for _, tt := range []struct {
		groupBy string
		groups  int
	}{
		{"[]", 1},    // every alert of the route in one message
		{"[...]", 3}, // every label, the event id too: one message per event
		{"[rule]", 2},
	} {
		tr := newTree(t, `
receivers:
  - {name: out, stdout: {}}
route:
  receiver: out
  group_by: `+tt.groupBy+`
`)
		clk := &clock{now: t0}
		rec := &recorder{}
		d := newDispatcher(t, tr, state.NewMemory(clk.Now), clk, rec)
		denied := alertsFor(events(t, "access-denied.json", 2), "a", event.SeverityLow)
		root := alertsFor(events(t, "root-console-login.json", 1), "b", event.SeverityLow)
		res, err := d.Dispatch(context.Background(), append(denied, root...))
		if err != nil || res.Groups != tt.groups || res.Sent != 3 {
			t.Errorf("group_by %s: %+v, %v", tt.groupBy, res, err)
		}
	}
}
