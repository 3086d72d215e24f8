package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/finding"
	"github.com/trailwatch/trailwatch/internal/fold"
	"github.com/trailwatch/trailwatch/internal/geoip"
	"github.com/trailwatch/trailwatch/internal/ingest"
	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/notify/email"
	"github.com/trailwatch/trailwatch/internal/notify/sns"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/route"
	"github.com/trailwatch/trailwatch/internal/rule"
	"github.com/trailwatch/trailwatch/internal/secret"
	"github.com/trailwatch/trailwatch/internal/state"
	"github.com/trailwatch/trailwatch/rules"
)

// Detector is a stateful check run on every event after the rules: first
// seen networks, failed sign-in bursts and the like. Alerts it returns carry
// a clone of the event, as rule alerts do. Safe for concurrent use.
// *detect.Set implements it.
type Detector interface {
	Observe(ctx context.Context, ev *event.Event) ([]*event.Alert, error)
}

// Deps are what a Pipeline needs from outside the process. Zero fields get
// defaults; AWS clients left nil are made from AWS when it is set, and a
// receiver or secret that needs a client nobody provided fails at build
// time with an error saying so.
type Deps struct {
	// ConfigName names the configuration in errors and resolves relative
	// rule file paths ("/etc/trailwatch.yaml", "ssm:/trailwatch/config").
	// Default "trailwatch.yaml".
	ConfigName string

	// AWS is the base AWS configuration the missing clients below are made
	// from (config.LoadDefaultConfig in production).
	AWS *aws.Config
	// Clients; nil ones come from AWS.
	SSM            secret.SSM
	SecretsManager secret.SecretsManager
	KMS            secret.KMS
	SNS            sns.API
	// SES returns the SES client for a region ("" means AWS's region).
	SES      func(region string) email.SESAPI
	DynamoDB state.DynamoDBAPI

	// HTTPClient sends webhook requests; nil means a client with a 15s
	// timeout.
	HTTPClient *http.Client
	// SlackAPIURL replaces Slack's Web API base URL for slackbot receivers
	// (tests point it at a local server).
	SlackAPIURL string
	// Stdout receives stdout receivers' messages; nil means os.Stdout.
	Stdout io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives structured logs; nil discards.
	Logger *slog.Logger

	// Store, when set, is used whatever state.backend says and is not
	// closed by Close (the Lambda face shares one store across reloads).
	Store state.Store
	// StateTable, when set and Store is not, is the DynamoDB table used
	// whatever state.backend says (TRAILWATCH_STATE_TABLE on Lambda).
	StateTable string

	// Retrier retries failed sends; nil means DefaultRetrier.
	Retrier *notify.Retrier
	// Pacer says how many messages each receiver can take before a
	// deadline; groups beyond it are folded into one summary per receiver
	// (route.Pacer). Nil paces by the receivers' own rates (notify.Pace).
	Pacer route.Pacer

	// DetectConfig changes the built-in sign-in detectors (detect.Default):
	// trusted networks, thresholds, detectors turned off. Nil runs the
	// defaults.
	DetectConfig *detect.Config
	// NoDetectors turns the built-in detectors off (rule tests, benchmarks).
	NoDetectors bool
	// Geo locates source addresses for the detectors that need a place
	// (first-seen country and ASN, impossible travel); nil turns those off.
	Geo *geoip.Locator
	// Detectors run after the built-in ones, in order.
	Detectors []Detector

	// DryRun builds a pipeline that renders but never sends: receivers are
	// not constructed (no secret is resolved) and the store is a fresh
	// memory store. Deliver then hands each message to OnMessage instead of
	// its receiver (deduplicated, grouped and throttled as for real, over
	// the whole run), or refuses when OnMessage is nil; Preview works
	// either way.
	DryRun bool
	// OnMessage receives a dry-run pipeline's messages, one call at a time.
	OnMessage func(Message)

	// snsForRegion makes an SNS client for a topic's region; set with the
	// other clients from AWS, so an injected SNS client is used as given.
	snsForRegion func(region string) sns.API
}

// DefaultRetrier returns the retry policy used when Deps.Retrier is nil: at
// most 4 attempts, 10s each, within 30s (and within the invocation's
// deadline, less DeadlineReserve).
func DefaultRetrier(now func() time.Time, log *slog.Logger) *notify.Retrier {
	return &notify.Retrier{
		MaxAttempts:    4,
		MaxElapsed:     30 * time.Second,
		AttemptTimeout: 10 * time.Second,
		Now:            now,
		Logger:         log,
	}
}

// DeadlineReserve is the time Deliver leaves between the end of its sends
// and the context's deadline, so a Lambda invocation can still answer (and
// name what failed) instead of being killed mid-retry.
const DeadlineReserve = 2 * time.Second

// Pipeline is a compiled configuration ready to evaluate events and deliver
// alerts. It implements the Lambda face's Engine. Safe for concurrent use.
type Pipeline struct {
	cfg        *config.Config
	rules      *rule.Set
	builtin    *detect.Set
	extra      []Detector // Deps.Detectors, after the built-in ones
	tree       *route.Tree
	renderers  *route.Renderers
	receivers  map[string]notify.Notifier
	store      state.Store
	ownStore   bool
	dispatcher *route.Dispatcher
	folder     *fold.Folder
	findings   *finding.Stage
	retrier    *notify.Retrier
	log        *slog.Logger
	now        func() time.Time
	dryRun     bool

	// geo is the GeoIP database the configuration named, opened (and
	// closed) by the pipeline; nil when Deps.Geo was given or none is set.
	geo *geoip.Locator

	sinkMu sync.Mutex
	sink   func(Message) // dry run: where Deliver's messages go
}

// Build parses configuration bytes and builds the pipeline; nil bytes mean
// the built-in defaults (config.Default). Every problem is returned, each
// naming the file, line and setting or rule.
func Build(ctx context.Context, configBytes []byte, deps Deps) (*Pipeline, error) {
	if configBytes == nil {
		return New(ctx, config.Default(), deps)
	}
	name := cmp.Or(deps.ConfigName, "trailwatch.yaml")
	cfg, err := config.Parse(name, configBytes, config.Options{Now: deps.Now})
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg, deps)
}

// New builds the pipeline for a loaded configuration.
func New(ctx context.Context, cfg *config.Config, deps Deps) (*Pipeline, error) {
	deps = deps.withDefaults()
	p := &Pipeline{cfg: cfg, log: deps.Logger, now: deps.Now, dryRun: deps.DryRun, sink: deps.OnMessage}
	p.findings = finding.New(finding.Options{Logger: deps.Logger})
	for _, n := range cfg.Notes {
		p.log.InfoContext(ctx, "config_note", "note", n)
	}
	for _, w := range route.Warnings(cfg) {
		p.log.WarnContext(ctx, "config_warning", "warning", w)
	}

	// 1. Rules: the chosen built-in packs, the user's files, minus the
	// disabled ids, with severities overridden.
	set, err := loadRules(cfg)
	if err != nil {
		return nil, err
	}
	p.rules = set

	// 2. Routing tree and one renderer per receiver (locale, time zone,
	// account names, the receiver's templates and mentions).
	if p.tree, err = route.New(cfg); err != nil {
		return nil, err
	}
	if p.renderers, err = route.NewRenderers(cfg, 0, deps.Now); err != nil {
		return nil, err
	}

	// 3. The state store: what was delivered, groups, detector state.
	if p.store, p.ownStore, err = openStore(cfg, deps); err != nil {
		return nil, err
	}
	// Rules with a threshold count their matches in the same store.
	p.rules = p.rules.WithStore(p.store, deps.Now)

	// 4. Detectors: those the selected rule files declare (the sign-in
	// pack's by default), keeping their state in the same store, then any
	// given ones.
	if !deps.NoDetectors {
		if deps.Geo == nil && len(cfg.GeoIP) > 0 {
			if p.geo, err = openGeoIP(ctx, cfg, deps); err != nil {
				return nil, errors.Join(err, p.Close())
			}
			deps.Geo = p.geo
		}
		d, err := buildDetectors(ctx, cfg, deps, p.store, p.rules, p.log)
		if err != nil {
			return nil, errors.Join(err, p.Close())
		}
		p.builtin = d
	}
	p.extra = deps.Detectors

	// 5. Receivers, with their secrets resolved now so that a missing
	// secret fails the build rather than the first alert.
	if !deps.DryRun {
		if p.receivers, err = buildReceivers(ctx, cfg, deps, p.store); err != nil {
			return nil, errors.Join(err, p.Close())
		}
	}

	// 6. The dispatcher: route, silence, group, throttle, render, send and
	// record, once per (event, rule, receiver).
	p.retrier = deps.Retrier
	p.folder = fold.New(fold.Options{Rules: p.rules.Rules()})
	pacer := deps.Pacer
	if pacer == nil && p.receivers != nil {
		pacer = receiverPacer(p.receivers)
	}
	p.dispatcher, err = route.NewDispatcher(p.tree, route.DispatcherOptions{
		Folder:    p.folder,
		Store:     p.store,
		Renderer:  p.renderers,
		Deliverer: route.DeliverFunc(p.send),
		Now:       deps.Now,
		Logger:    deps.Logger,
		TTL:       time.Duration(cfg.State.TTL),
		Pacer:     pacer,
	})
	if err != nil {
		return nil, errors.Join(err, p.Close())
	}
	return p, nil
}

func (d Deps) withDefaults() Deps {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.HTTPClient == nil {
		d.HTTPClient = notify.NewHTTPClient(15 * time.Second)
	}
	if d.Stdout == nil {
		d.Stdout = os.Stdout
	}
	if d.Retrier == nil {
		d.Retrier = DefaultRetrier(d.Now, d.Logger)
	}
	d.fillAWSClients()
	return d
}

// Selection says which rule files cfg selects: built-in packs, the user's
// files (local ones, and those read from where the configuration lives),
// and the disabled ids. Rules and detectors come from the same files.
func Selection(cfg *config.Config) (rule.Selection, error) {
	// rule.Load understands the group names all, default and none.
	sel := rule.Selection{Builtin: rules.FS, Disabled: cfg.Rules.Disable, Packs: cfg.Rules.Packs}
	for _, f := range cfg.RuleSources {
		sel.Files = append(sel.Files, rule.File{FS: f.FS, Name: f.Name, Display: f.Display})
	}
	files, err := cfg.RuleFiles()
	if err != nil {
		return sel, err
	}
	sel.Paths = files
	return sel, nil
}

// loadRules loads the rules cfg selects and compiles them into one Set.
func loadRules(cfg *config.Config) (*rule.Set, error) {
	rs, err := LoadRules(cfg)
	if err != nil {
		return nil, err
	}
	return rule.NewSet(rs...)
}

// LoadRules loads the rules cfg selects: the chosen built-in packs and the
// user's files, minus rules.disable, with rules.severity applied. Problems
// with the configuration's own settings name their lines; rules.disable may
// name detectors too, which the detectors then leave off.
func LoadRules(cfg *config.Config) ([]*rule.Rule, error) {
	var errs []error
	if !cfg.Rules.AllPacks() && !cfg.Rules.NoPacks() {
		have, err := rule.BuiltinPacks(rules.FS)
		if err != nil {
			return nil, err
		}
		for i, p := range cfg.Rules.Packs {
			if !slices.Contains(have, p) && !rule.IsPackGroup(p) {
				errs = append(errs, cfg.Errorf(fmt.Sprintf("rules.packs[%d]", i), "unknown pack %q (the built-in packs are %s)", p, strings.Join(have, ", ")))
			}
		}
	}
	sel, err := Selection(cfg)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sel.Disabled = nil
	sel.SkipBuiltinTests = true // the pipeline runs the rules, never their tests
	loaded, err := rule.Load(sel)
	if err != nil {
		return nil, fmt.Errorf("%s: rules: %w", cfg.File, err)
	}
	byID := make(map[string]*rule.Rule, len(loaded))
	for _, r := range loaded {
		byID[r.ID] = r
	}
	if len(cfg.Rules.Disable) > 0 {
		detectors := map[string]bool{}
		if dc, err := rule.LoadDetectors(sel); err == nil {
			for _, d := range dc.Detectors {
				detectors[d.ID] = true
			}
		}
		for i, id := range cfg.Rules.Disable {
			if byID[id] == nil && !detectors[id] {
				errs = append(errs, cfg.Errorf(fmt.Sprintf("rules.disable[%d]", i), "no loaded rule or detector has id %q", id))
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(cfg.Rules.Severity)) {
		r, ok := byID[id]
		if !ok {
			errs = append(errs, cfg.Errorf("rules.severity."+id, "no loaded rule has id %q", id))
			continue
		}
		r.Severity = cfg.Rules.Severity[id]
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	out := loaded[:0:0]
	for _, r := range loaded {
		if !slices.Contains(cfg.Rules.Disable, r.ID) {
			out = append(out, r)
		}
	}
	return out, nil
}

// openGeoIP opens the configuration's GeoIP databases; S3 objects are
// downloaded once, with the AWS configuration the pipeline was given.
func openGeoIP(ctx context.Context, cfg *config.Config, deps Deps) (*geoip.Locator, error) {
	refs := cfg.GeoIPDatabases()
	var fetcher geoip.Fetcher
	for _, r := range refs {
		if strings.HasPrefix(r, "s3://") {
			if deps.AWS == nil {
				return nil, cfg.Errorf("geoip", "%s: no AWS configuration to read it with", r)
			}
			fetcher = ingest.NewS3Fetcher(s3.NewFromConfig(*deps.AWS))
			break
		}
	}
	geo, err := geoip.Load(ctx, fetcher, "", refs...)
	if err != nil {
		return nil, cfg.Errorf("geoip", "%v", err)
	}
	return geo, nil
}

// buildDetectors builds the detectors declared in the selected rule files
// (the sign-in pack's by default), changed by deps.DetectConfig, and checks
// that no detector id is also a rule id.
func buildDetectors(ctx context.Context, cfgFile *config.Config, deps Deps, store state.Store, rules *rule.Set, log *slog.Logger) (*detect.Set, error) {
	sel, err := Selection(cfgFile)
	if err != nil {
		return nil, err
	}
	cfg, err := rule.LoadDetectors(sel)
	if err != nil {
		return nil, fmt.Errorf("%s: detectors: %w", cfgFile.File, err)
	}
	if deps.DetectConfig != nil {
		if cfg, err = detect.Merge(cfg, deps.DetectConfig); err != nil {
			return nil, fmt.Errorf("detectors: %w", err)
		}
	}
	set, err := detect.New(cfg, detect.Options{Store: store, Geo: deps.Geo, Now: deps.Now, Logger: log})
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, r := range rules.Rules() {
		ids[r.ID] = true
	}
	var errs []error
	for _, d := range set.Rules() {
		if ids[d.ID] {
			errs = append(errs, fmt.Errorf("detector %q has the id of a loaded rule; rename or disable one of them", d.ID))
		}
	}
	for _, d := range set.Disabled() {
		log.DebugContext(ctx, "detector_disabled", "rule_id", d.ID, "reason", d.Reason)
	}
	return set, errors.Join(errs...)
}

// openStore returns the store and whether the pipeline owns (closes) it.
func openStore(cfg *config.Config, deps Deps) (state.Store, bool, error) {
	switch {
	case deps.DryRun:
		return state.NewMemory(deps.Now), true, nil
	case deps.Store != nil:
		return deps.Store, false, nil
	case deps.StateTable != "":
		if deps.DynamoDB == nil {
			return nil, false, fmt.Errorf("state table %q: no DynamoDB client (no AWS configuration was given)", deps.StateTable)
		}
		return dynamoStore(deps.DynamoDB, deps.StateTable, deps.Now), true, nil
	}
	switch cfg.State.Backend {
	case config.BackendMemory:
		return state.NewMemory(deps.Now), true, nil
	case config.BackendDynamoDB:
		if deps.DynamoDB == nil {
			return nil, false, cfg.Errorf("state.table", "no DynamoDB client for table %q (no AWS configuration was given)", cfg.State.Table)
		}
		return dynamoStore(deps.DynamoDB, cfg.State.Table, deps.Now), true, nil
	default:
		path, err := cfg.FilePath()
		if err != nil {
			return nil, false, cfg.Errorf("state.path", "cannot choose the state file: %v (set state.path, or use state.backend memory or dynamodb)", err)
		}
		f, err := state.OpenFile(path, deps.Now)
		if err != nil {
			return nil, false, cfg.Errorf("state.path", "cannot open the state file: %v", err)
		}
		return f, true, nil
	}
}

// dynamoStore is the DynamoDB store with every call bounded by
// state.CallTimeout, so that a table that does not answer fails each call
// in seconds and the caller can fail its input in time.
func dynamoStore(client state.DynamoDBAPI, table string, now func() time.Time) state.Store {
	return state.WithCallTimeout(state.NewDynamoDB(client, table, now), state.CallTimeout)
}

// Config returns the configuration the pipeline was built from.
func (p *Pipeline) Config() *config.Config { return p.cfg }

// Rules returns the compiled rule set.
func (p *Pipeline) Rules() *rule.Set { return p.rules }

// Detect returns the built-in detectors (for `check --learn` and for
// listing them), or nil when Deps.NoDetectors turned them off.
func (p *Pipeline) Detect() *detect.Set { return p.builtin }

// Tree returns the compiled routing tree (for route tests).
func (p *Pipeline) Tree() *route.Tree { return p.tree }

// Store returns the state store.
func (p *Pipeline) Store() state.Store { return p.store }

// Close releases the store when the pipeline opened it.
func (p *Pipeline) Close() error {
	var errs []error
	if p.geo != nil {
		errs = append(errs, p.geo.Close())
	}
	if p.ownStore && p.store != nil {
		errs = append(errs, p.store.Close())
	}
	return errors.Join(errs...)
}

// Alerts returns the alerts ev raises: the rules' first, then the
// detectors'. Alerts are returned even when some rule or detector failed;
// the failures are joined into the error, each naming the rule or detector
// and the event's origin. A GuardDuty or Security Hub event raises its
// findings' alerts instead (internal/finding). To evaluate many events of
// one input, use a Scope: it reads and writes their state in batches.
func (p *Pipeline) Alerts(ctx context.Context, ev *event.Event) ([]*event.Alert, error) {
	return p.alerts(ctx, ev, p.rules, p.builtin)
}

func (p *Pipeline) alerts(ctx context.Context, ev *event.Event, rules *rule.Set, builtin *detect.Set) ([]*event.Alert, error) {
	m, err := p.match(ctx, ev, rules)
	return p.alertsOf(ctx, ev, rules, builtin, m, err)
}

// Match is the half of Alerts that keeps no state: the rules that match ev
// (rule.Set.Matches; nothing for a finding event, whose alerts are its
// findings'). It is safe to call on many goroutines at once, for different
// events; Scope.AlertsOf then makes the alerts on one goroutine, in input
// order, since thresholds and detectors count in order. Alerts(ctx, ev) is
// AlertsOf(ctx, ev, Match(ctx, ev)) on a Scope.
func (p *Pipeline) Match(ctx context.Context, ev *event.Event) (rule.Matched, error) {
	return p.match(ctx, ev, p.rules)
}

// Needs reports whether Scope.AlertsOf or Scope.Learn could do more with
// ev than make the alerts of the rules Match found: a finding event, an
// event a detector looks at or learns from. An event that matched nothing
// and needs nothing can be passed over. Safe for concurrent use with a
// Scope's calls, like Match.
func (p *Pipeline) Needs(ev *event.Event) bool {
	if ev.Kind().Finding() || len(p.extra) > 0 {
		return true
	}
	return p.builtin != nil && p.builtin.Needs(ev)
}

func (p *Pipeline) match(ctx context.Context, ev *event.Event, rules *rule.Set) (rule.Matched, error) {
	if ev.Kind().Finding() {
		return rule.Matched{}, nil
	}
	return rules.Matches(ctx, ev)
}

func (p *Pipeline) alertsOf(ctx context.Context, ev *event.Event, rules *rule.Set, builtin *detect.Set, m rule.Matched, merr error) ([]*event.Alert, error) {
	if ev.Kind().Finding() {
		return p.findings.Alerts(ctx, ev)
	}
	alerts, err := rules.AlertsOf(ctx, ev, m)
	errs := []error{merr, err}
	observe := func(d Detector) {
		more, err := d.Observe(ctx, ev)
		alerts = append(alerts, more...)
		if err != nil {
			errs = append(errs, &DetectorError{Err: fmt.Errorf("detectors on %s: %w", ev.Origin(), err)})
		}
	}
	if builtin != nil {
		observe(builtin)
	}
	for _, d := range p.extra {
		observe(d)
	}
	return alerts, errors.Join(errs...)
}

// PreviewAlerts returns the alerts ev raises for a preview of this one
// event (`trailwatch render --config`): Alerts, except that a rule with a
// threshold alerts as if this match reached it, so the preview shows where
// its alert would go and how it would read rather than nothing.
func (p *Pipeline) PreviewAlerts(ctx context.Context, ev *event.Event) ([]*event.Alert, error) {
	return p.alerts(ctx, ev, p.rules.WithoutThresholds(), p.builtin)
}

// Scope evaluates the events of one input (a log file, an SQS message,
// a few thousand events of a long one) as Pipeline.Alerts does, with their
// state read and written in batches: the thresholds of the rules and the
// built-in detectors keep their state through one state.Scope, which
// remembers what it read and wrote (a principal's window, a threshold's
// count: one read per input, not per event) and, once the store has
// failed, fails every later call at once. End writes the input's state
// (one transaction in the file store). Safe for concurrent use; begin a
// new Scope, or End this one, for each input.
type Scope struct {
	p     *Pipeline
	store *state.Scope
	rules *rule.Set
	det   *detect.Set
}

// NewScope begins a Scope.
func (p *Pipeline) NewScope() *Scope {
	sc := state.NewScope(p.store, p.now)
	s := &Scope{p: p, store: sc, rules: p.rules.WithStore(sc, p.now)}
	if p.builtin != nil {
		s.det = p.builtin.WithStore(sc)
	}
	return s
}

// Alerts returns the alerts ev raises, as Pipeline.Alerts does.
func (s *Scope) Alerts(ctx context.Context, ev *event.Event) ([]*event.Alert, error) {
	return s.p.alerts(ctx, ev, s.rules, s.det)
}

// AlertsOf returns the alerts of ev given what Pipeline.Match found on
// it (and the rule failures it returned, reported with the alerts' other
// errors): Alerts(ctx, ev) with the matching already done, perhaps on
// another goroutine. Call it in input order.
func (s *Scope) AlertsOf(ctx context.Context, ev *event.Event, m rule.Matched, merr error) ([]*event.Alert, error) {
	return s.p.alertsOf(ctx, ev, s.rules, s.det, m, merr)
}

// Learn has the built-in detectors record what ev shows without alerting
// (detect.Set.Learn); a failure is a *DetectorError.
func (s *Scope) Learn(ctx context.Context, ev *event.Event) error {
	if s.det == nil {
		return errors.New("the configuration runs no detectors")
	}
	if err := s.det.Learn(ctx, ev); err != nil {
		return &DetectorError{Err: fmt.Errorf("detectors on %s: %w", ev.Origin(), err)}
	}
	return nil
}

// Err returns the state store's failure that stopped the Scope (every
// later call fails with it at once), or nil. A caller reading an input
// should stop at it: the rest of the input would fail the same way.
func (s *Scope) Err() error { return s.store.Err() }

// End ends the input: its state is written (see state.Flusher) and what
// the Scope remembered is forgotten, so the Scope serves the next input.
// A failure is a *DetectorError: a retry may succeed.
func (s *Scope) End(ctx context.Context) error {
	if err := s.store.End(ctx); err != nil {
		return &DetectorError{Err: fmt.Errorf("write the detectors' and thresholds' state: %w", err)}
	}
	return nil
}

// DetectorError is a detector failure, almost always the state store
// failing (throttled, unreachable). Unlike a rule failing, a retry can
// succeed, so it reports itself Temporary: the Lambda face then fails the
// event's message and the detector sees the event again, which its state
// makes safe.
type DetectorError struct{ Err error }

func (e *DetectorError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *DetectorError) Unwrap() error { return e.Err }

// Temporary reports that a retry may succeed.
func (e *DetectorError) Temporary() bool { return true }

// Deliver routes, groups, renders and sends alerts, each (event, rule,
// receiver) at most once across retries and processes sharing the store. It
// returns exactly the alerts that were not delivered to every receiver they
// route to, with the reasons joined in err. A group that was sent but could
// not be recorded counts as delivered (retrying it would send it twice); its
// error is logged.
func (p *Pipeline) Deliver(ctx context.Context, alerts []*event.Alert) (failed []*event.Alert, err error) {
	if p.dryRun && p.sink == nil {
		return alerts, errDryRun
	}
	if len(alerts) == 0 {
		return nil, nil
	}
	ctx, cancel := withReserve(ctx, DeadlineReserve)
	defer cancel()
	res, err := p.dispatcher.Dispatch(ctx, alerts)
	failures, err := p.report(ctx, res, err)
	seen := map[*event.Alert]bool{}
	for _, de := range failures {
		for _, a := range de.Alerts {
			if !seen[a] {
				seen[a] = true
				failed = append(failed, a)
			}
		}
	}
	return failed, err
}

var errDryRun = errors.New("this pipeline was built for a dry run and sends nothing; give Deps.OnMessage or use Preview")

// report logs a dispatch and sorts its errors: the groups not delivered,
// and every error but those of groups sent and not recorded, which are
// logged instead (a retry may send them again, but they were delivered).
func (p *Pipeline) report(ctx context.Context, res route.Result, err error) ([]*route.DeliveryError, error) {
	p.log.InfoContext(ctx, "dispatch_done", "alerts", res.Alerts, "sent", res.Sent, "groups", res.Groups,
		"duplicate", res.Duplicate, "throttled", res.Throttled, "ignored", res.Ignored, "silenced", res.Silenced, "failed", res.Failed)
	if err == nil {
		return nil, nil
	}
	var (
		failed []*route.DeliveryError
		errs   []error
	)
	for _, e := range flatten(err) {
		var de *route.DeliveryError
		if errors.As(e, &de) && de.Delivered {
			p.log.ErrorContext(ctx, "delivery_not_recorded", "receiver", de.Receiver, "group", de.GroupKey, "inputs", len(de.Origins), "error", e,
				"consequence", "a retry of the same input may send this group again")
			continue
		}
		errs = append(errs, e)
		if de != nil {
			failed = append(failed, de)
		}
	}
	return failed, errors.Join(errs...)
}

// Batch collects alerts for one delivery, such as every alert of one
// Lambda invocation, so that each group is one message however large (see
// route.Batch): it keeps the first few alerts of each group, cut to a
// bounded size, and 48 bytes for each other alert. A Batch is for one
// goroutine and is delivered once.
type Batch struct {
	p *Pipeline
	b *route.Batch
	// undelivered counts the alerts Deliver could not deliver.
	undelivered int
}

// NewBatch returns an empty Batch.
func (p *Pipeline) NewBatch() *Batch { return &Batch{p: p, b: p.dispatcher.NewBatch()} }

// Add routes alerts into the batch one at a time, each a message of its
// own; nil alerts and alerts without an event are passed over.
func (b *Batch) Add(alerts ...*event.Alert) {
	for _, a := range alerts {
		if a != nil && a.Event != nil {
			b.b.Add(a)
		}
	}
}

// AddEvent routes the alerts of one event into the batch, folded into one
// message per receiver (see route.Batch.Add) as Pipeline.Deliver folds
// them; nil alerts and alerts without an event are passed over.
func (b *Batch) AddEvent(alerts ...*event.Alert) {
	valid := alerts[:0:0]
	for _, a := range alerts {
		if a != nil && a.Event != nil {
			valid = append(valid, a)
		}
	}
	if len(valid) > 0 {
		b.b.Add(valid...)
	}
}

// Len returns how many alerts were added.
func (b *Batch) Len() int { return b.b.Len() }

// Bytes returns about how much memory the batch holds.
func (b *Batch) Bytes() int { return b.b.Bytes() }

// Deliver delivers the batch as Pipeline.Deliver does, and returns where
// the alerts not delivered came from (each origin once; an SQS message id
// is in each), with the reasons joined in err.
func (b *Batch) Deliver(ctx context.Context) (failed []event.Origin, err error) {
	p := b.p
	if p.dryRun && p.sink == nil {
		return nil, errDryRun
	}
	if b.b.Len() == 0 {
		return nil, nil
	}
	ctx, cancel := withReserve(ctx, DeadlineReserve)
	defer cancel()
	res, err := b.b.Dispatch(ctx)
	failures, err := p.report(ctx, res, err)
	seen := map[event.Origin]bool{}
	for _, de := range failures {
		b.undelivered += max(de.Count, len(de.Alerts))
		for _, o := range de.Origins {
			if !seen[o] {
				seen[o] = true
				failed = append(failed, o)
			}
		}
	}
	return failed, err
}

// Undelivered returns how many alerts Deliver could not deliver.
func (b *Batch) Undelivered() int { return b.undelivered }

// flatten lists the errors errors.Join put together.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// withReserve shortens ctx's deadline by reserve (or by a fifth of the time
// left, when that is less), so that work bounded by it ends in time for the
// caller to answer.
func withReserve(ctx context.Context, reserve time.Duration) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {}
	}
	left := time.Until(dl)
	return context.WithDeadline(ctx, dl.Add(-min(reserve, left/5)))
}

// send is the Dispatcher's Deliverer: one receiver, with retries (or, in
// a dry run, the OnMessage callback).
func (p *Pipeline) send(ctx context.Context, receiver string, pl *render.Payload, g *render.Group) error {
	if p.dryRun {
		p.sinkMu.Lock()
		defer p.sinkMu.Unlock()
		p.sink(Message{Group: g, Payload: pl})
		return nil
	}
	n, ok := p.receivers[receiver]
	if !ok {
		return fmt.Errorf("receiver %q is not configured", receiver)
	}
	return p.retrier.Deliver(ctx, n, pl, g)
}

// Message is one rendered message: the group it is about and the payload
// its receiver would send.
type Message struct {
	Group   *render.Group
	Payload *render.Payload
}

// Preview routes, groups and renders alerts exactly as Deliver would for a
// first delivery, but sends nothing and reads or writes no persistent state:
// a fresh memory store stands in, so nothing counts as already delivered or
// throttled. Messages come back sorted by receiver and group key.
func (p *Pipeline) Preview(ctx context.Context, alerts []*event.Alert) ([]Message, error) {
	var (
		mu  sync.Mutex
		out []Message
	)
	d, err := route.NewDispatcher(p.tree, route.DispatcherOptions{
		Folder:   p.folder,
		Store:    state.NewMemory(p.now),
		Renderer: p.renderers,
		Deliverer: route.DeliverFunc(func(_ context.Context, _ string, pl *render.Payload, g *render.Group) error {
			mu.Lock()
			defer mu.Unlock()
			out = append(out, Message{Group: g, Payload: pl})
			return nil
		}),
		Now:    p.now,
		Logger: p.log,
		TTL:    time.Duration(p.cfg.State.TTL),
	})
	if err != nil {
		return nil, err
	}
	_, err = d.Dispatch(ctx, alerts)
	slices.SortFunc(out, func(a, b Message) int {
		return cmp.Or(cmp.Compare(a.Group.Receiver, b.Group.Receiver), cmp.Compare(a.Group.Key, b.Group.Key))
	})
	return out, err
}
