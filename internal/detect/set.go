package detect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/geoip"
	"github.com/trailwatch/trailwatch/internal/state"
)

// Options are a Set's dependencies.
type Options struct {
	// Store keeps every detector's state; required. Use the DynamoDB store
	// when several processes (Lambda invocations) observe events at once.
	Store state.Store
	// Geo locates source addresses; nil turns off the detectors that need a
	// location (first-seen country and asn, impossible travel).
	Geo *geoip.Locator
	// Now is the clock, used for state expiry and for events without an
	// eventTime; nil means time.Now. Windows and learning periods are
	// measured in event time, so replaying archived logs behaves as the
	// live events did.
	Now func() time.Time
	// MaxSkew is how far past the clock an eventTime is believed; a later
	// one is taken as the clock's time instead, and logged. 0 means
	// DefaultMaxSkew.
	MaxSkew time.Duration
	// Logger receives a line for every eventTime not believed; nil
	// discards.
	Logger *slog.Logger
}

// DefaultMaxSkew is how far in the future an eventTime may lie before the
// detectors stop believing it. CloudTrail writes the time of the call, so
// a real event is never later than the moment it is read, give or take
// clock drift; a record dated later was written by someone else. Believed,
// one forged record dated 2099 would open a burst window, a first-seen
// entry, a learning start and a last sign-in location that last until
// 2099, and every real event until then would be "late" and ignored.
const DefaultMaxSkew = 5 * time.Minute

// Disabled names a configured detector that does not run, and why.
type Disabled struct {
	ID     string
	Reason string
}

// Set runs every configured detector on an event in one call. It is safe
// for concurrent use; all state lives in the Store, whose conditional
// writes keep concurrent Observe calls (in one process or many) from
// double-counting or double-alerting.
type Set struct {
	detectors []detector
	disabled  []Disabled
	store     state.Store
	geo       *geoip.Locator
	now       func() time.Time
	maxSkew   time.Duration
	log       *slog.Logger

	names    map[string]bool // event names some detector watches
	errCodes map[string]bool // error codes some detector counts
	rootAll  bool            // some detector watches every Root event
	learners []*firstSeen    // detectors with a learning period
	learn    *learnStarts    // shared by the views WithStore makes
}

// learnStarts remembers, per account and learning detector, the learning
// start recorded in the store, so that most events need not ask it.
type learnStarts struct {
	mu     sync.Mutex
	byAcct map[string]*acctStarts // by the event's account, as written
}

// acctStarts are the learning starts of one account, by the index of the
// detector in Set.learners (zero: not recorded yet), and each as
// eventTime writes it, to compare an event's time without parsing it.
type acctStarts struct {
	at   []time.Time
	text [][]byte
}

// detector is one configured detector.
type detector interface {
	info() *event.RuleInfo
	// wants reports, from cheap fields only, whether the event concerns it.
	wants(o *obs) bool
	// observe updates state and returns an alert, or nil. In learn mode it
	// records and never alerts.
	observe(ctx context.Context, o *obs, learn bool) (*event.Alert, error)
}

// New builds a Set from cfg (usually Merge of Default and the user's
// configuration). Detectors that cannot run are listed by Disabled rather
// than failing: a GeoIP detector without a database, a trusted-network
// detector without networks or regions, or one turned off with enabled:
// false.
func New(cfg *Config, o Options) (*Set, error) {
	if o.Store == nil {
		return nil, errors.New("detect: no state store")
	}
	if cfg == nil {
		cfg = &Config{}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxSkew <= 0 {
		o.MaxSkew = DefaultMaxSkew
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Set{
		store: o.Store, geo: o.Geo, now: o.Now, maxSkew: o.MaxSkew, log: o.Logger,
		names: map[string]bool{}, errCodes: map[string]bool{},
		learn: &learnStarts{byAcct: map[string]*acctStarts{}},
	}
	nets := map[string][]netip.Prefix{}
	for name, cidrs := range cfg.Networks {
		for _, c := range cidrs {
			p, _ := parsePrefix(c) // validated above
			nets[name] = append(nets[name], p)
		}
	}
	for i := range cfg.Detectors {
		sp := cfg.Detectors[i]
		if sp.Enabled != nil && !*sp.Enabled {
			s.disabled = append(s.disabled, Disabled{sp.ID, "turned off in the configuration (enabled: false)"})
			continue
		}
		d, reason := s.build(&sp, nets)
		if d == nil {
			s.disabled = append(s.disabled, Disabled{sp.ID, reason})
			continue
		}
		s.detectors = append(s.detectors, d)
	}
	return s, nil
}

func (s *Set) build(sp *Spec, nets map[string][]netip.Prefix) (detector, string) {
	b := base{id: sp.ID, set: s}
	events := sp.Events
	if len(events) == 0 {
		events = []string{"ConsoleLogin"}
	}
	watch := func(names ...string) {
		for _, n := range names {
			s.names[n] = true
		}
	}
	switch sp.Kind {
	case KindTrustedNetwork:
		var prefixes []netip.Prefix
		names := sp.Networks
		if len(names) == 0 {
			for n := range nets {
				names = append(names, n)
			}
			slices.Sort(names)
		}
		for _, n := range names {
			prefixes = append(prefixes, nets[n]...)
		}
		if len(prefixes) == 0 && len(sp.Regions) == 0 {
			return nil, "no trusted networks or regions configured (add networks: to the configuration)"
		}
		root := sp.RootEvents == nil || *sp.RootEvents
		d := &trusted{base: b, events: events, failures: sp.Failures, root: root,
			prefixes: prefixes, netNames: names, regions: sp.Regions}
		d.rule = ruleInfo(sp, event.SeverityHigh)
		watch(events...)
		s.rootAll = s.rootAll || root
		return d, ""
	case KindFirstSeen:
		if (sp.Attribute == AttrCountry || sp.Attribute == AttrASN) && !s.geo.HasLocation() && !s.geo.HasASN() {
			return nil, "needs a GeoIP database (geoip: in the configuration)"
		}
		if sp.Attribute == AttrCountry && !s.geo.HasLocation() {
			return nil, "needs a GeoIP City or Country database"
		}
		if sp.Attribute == AttrASN && !s.geo.HasASN() {
			return nil, "needs a GeoIP ASN database"
		}
		d := &firstSeen{base: b, attr: sp.Attribute, events: events, failures: sp.Failures,
			learning: orDur(sp.Learning, 7*24*time.Hour), retention: orDur(sp.Retention, 90*24*time.Hour),
			v4: orInt(sp.IPv4Prefix, 24), v6: orInt(sp.IPv6Prefix, 48)}
		d.rule = ruleInfo(sp, event.SeverityMedium)
		watch(events...)
		d.learnIdx = len(s.learners)
		s.learners = append(s.learners, d)
		return d, ""
	case KindBurst:
		d := &burst{base: b, what: sp.What, threshold: int64(sp.Threshold), window: time.Duration(sp.Window)}
		switch sp.What {
		case BurstFailedLogins:
			d.rule = ruleInfo(sp, event.SeverityMedium)
			watch("ConsoleLogin")
		case BurstSpraying:
			d.rule = ruleInfo(sp, event.SeverityHigh)
			watch("ConsoleLogin")
		case BurstAccessDenied:
			d.codes = sp.ErrorCodes
			if len(d.codes) == 0 {
				d.codes = []string{"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation", "UnauthorizedAccess"}
			}
			for _, c := range d.codes {
				s.errCodes[c] = true
			}
			d.rule = ruleInfo(sp, event.SeverityMedium)
		}
		return d, ""
	case KindImpossibleTravel:
		if !s.geo.HasLocation() {
			return nil, "needs a GeoIP City database (geoip: in the configuration)"
		}
		d := &travel{base: b, events: events, maxKmh: orFloat(sp.MaxSpeedKmh, 900), minKm: orFloat(sp.MinDistanceKm, 100)}
		d.rule = ruleInfo(sp, event.SeverityHigh)
		watch(events...)
		return d, ""
	}
	return nil, "unknown kind " + sp.Kind
}

// ruleInfo describes a detector's alerts: the spec's title, description,
// severity and tags where it sets them, else its kind's, in English and in
// the other locales.
func ruleInfo(sp *Spec, sev event.Severity) event.RuleInfo {
	kt := defaultText(sp)
	r := event.RuleInfo{ID: sp.ID, Title: kt.title, Severity: sev, Description: kt.desc, Tags: slices.Clone(sp.Tags)}
	if sp.Title != "" {
		r.Title = sp.Title
	}
	if sp.Description != "" {
		r.Description = strings.TrimSpace(sp.Description)
	}
	if sp.Severity != "" {
		r.Severity, _ = event.ParseSeverity(sp.Severity)
	}
	r.Locales = localTexts(sp, kt)
	r.Tags = append(r.Tags, "detector")
	return r
}

func orDur(d Duration, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orFloat(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// WithStore returns a view of the set whose detectors keep their state in
// st instead of the set's store: usually a state.Scope over that store,
// so that the events of one input share what they read (see
// state.Scope). The view shares the set's detectors and configuration.
func (s *Set) WithStore(st state.Store) *Set {
	c := *s
	c.store = st
	return &c
}

// Disabled lists the configured detectors that do not run, with the reason.
func (s *Set) Disabled() []Disabled { return slices.Clone(s.disabled) }

// Rules describes the detectors that run, in configuration order.
func (s *Set) Rules() []event.RuleInfo {
	out := make([]event.RuleInfo, len(s.detectors))
	for i, d := range s.detectors {
		out[i] = *d.info()
	}
	return out
}

// Observe runs every detector that cares about ev and returns their alerts.
// Events no detector watches (by name, error code, or a Root principal) are
// skipped before any state is touched. A store failure does not stop the
// other detectors: Observe returns the alerts it could raise and every
// failure, each naming the detector and the event id.
func (s *Set) Observe(ctx context.Context, ev *event.Event) ([]*event.Alert, error) {
	return s.run(ctx, ev, false)
}

// Learn observes ev and records what it shows (networks, user agents,
// locations, learning start) without alerting and without counting bursts.
// `trailwatch check --learn` runs it over archived logs to build a baseline,
// so that later live events alert only on what is new.
func (s *Set) Learn(ctx context.Context, ev *event.Event) error {
	_, err := s.run(ctx, ev, true)
	return err
}

func (s *Set) run(ctx context.Context, ev *event.Event, learn bool) ([]*event.Alert, error) {
	if len(s.detectors) == 0 {
		return nil, nil
	}
	var (
		errs []error
		o    *obs // built when first needed
	)
	if len(s.learners) > 0 {
		var err error
		if o, err = s.markLearning(ctx, ev); err != nil {
			errs = append(errs, err)
		}
	}
	// Most events concern no detector: they are passed over on fields read
	// in place, before anything is built for them.
	if !s.watches(ev) {
		return nil, errors.Join(errs...)
	}
	if o == nil {
		o = &obs{ev: ev, set: s, st: s.store}
	}
	o.name = ev.Name()
	var alerts []*event.Alert
	for _, d := range s.detectors {
		if !d.wants(o) {
			continue
		}
		a, err := d.observe(ctx, o, learn)
		if err != nil {
			errs = append(errs, fmt.Errorf("detector %s on event %s: %w", d.info().ID, eventName(ev), err))
			continue
		}
		if a != nil && !learn {
			alerts = append(alerts, a)
		}
	}
	return alerts, errors.Join(errs...)
}

func eventName(ev *event.Event) string {
	if id := ev.ID(); id != "" {
		return fmt.Sprintf("%q (%s)", id, ev.Origin())
	}
	return ev.Origin().String()
}

// watches reports whether some detector looks at ev: by its name, its
// error code, or a Root principal.
func (s *Set) watches(ev *event.Event) bool {
	v := ev.Value()
	return s.names[string(v.GetStringBytes("eventName"))] ||
		len(s.errCodes) > 0 && s.errCodes[string(v.GetStringBytes("errorCode"))] ||
		s.rootAll && string(v.GetStringBytes("userIdentity", "type")) == event.PrincipalRoot
}

// Needs reports whether Observe or Learn could do anything with ev:
// alert, count, or record a learning start. An event no detector watches,
// of an account whose learning starts are known and not after it, needs
// nothing, and a caller may pass it over without keeping it. Safe for
// concurrent use with Observe: what Observe records only ever makes more
// events need nothing.
func (s *Set) Needs(ev *event.Event) bool {
	if len(s.detectors) == 0 {
		return false
	}
	if s.watches(ev) {
		return true
	}
	if len(s.learners) == 0 {
		return false
	}
	acct, at := learnKey(ev)
	return !s.learnedBefore(acct, at)
}

// learnKey returns the account of ev and the text of its eventTime, as
// markLearning reads them.
func learnKey(ev *event.Event) (acct, at []byte) {
	v := ev.Value()
	acct = v.GetStringBytes("recipientAccountId")
	if len(acct) == 0 {
		acct = v.GetStringBytes("userIdentity", "accountId")
	}
	return acct, v.GetStringBytes("eventTime")
}

// learnedBefore reports whether every learning detector has a start
// recorded for acct that is not after at, an eventTime in CloudTrail's
// layout, whose text order is time order.
func (s *Set) learnedBefore(acct, at []byte) bool {
	if !isCanonicalTime(at) {
		return false
	}
	s.learn.mu.Lock()
	defer s.learn.mu.Unlock()
	known := s.learn.byAcct[string(acct)]
	if known == nil {
		return false
	}
	for i := range s.learners {
		if known.text[i] == nil || bytes.Compare(at, known.text[i]) < 0 {
			return false
		}
	}
	return true
}

// markLearning records, once per process for each learning detector and
// account, when the detector first saw an event of the account: the start
// of its learning period. An event older than the recorded start (replay
// out of order) moves the start back. It returns the obs it built to read
// the event's time, if it did.
func (s *Set) markLearning(ctx context.Context, ev *event.Event) (*obs, error) {
	// The common case, an event of an account whose starts are recorded
	// and not after it, is decided on the text of its eventTime.
	acct, at := learnKey(ev)
	if s.learnedBefore(acct, at) {
		return nil, nil
	}
	o := &obs{ev: ev, set: s, st: s.store}
	t := o.time()
	for i, d := range s.learners {
		s.learn.mu.Lock()
		known := s.learn.byAcct[string(acct)]
		recorded := known != nil && !known.at[i].IsZero() && !t.Before(known.at[i])
		s.learn.mu.Unlock()
		if recorded {
			continue
		}
		got, err := d.learningStart(ctx, o, o.account(), t)
		if err != nil {
			return o, fmt.Errorf("detector %s on event %s: %w", d.id, eventName(ev), err)
		}
		s.learn.mu.Lock()
		known = s.learn.byAcct[string(acct)]
		if known == nil {
			known = &acctStarts{at: make([]time.Time, len(s.learners)), text: make([][]byte, len(s.learners))}
			s.learn.byAcct[string(acct)] = known
		}
		known.at[i] = got
		known.text[i] = got.UTC().AppendFormat(nil, canonicalTime)
		s.learn.mu.Unlock()
	}
	return o, nil
}

// canonicalTime is the layout CloudTrail writes eventTime in.
const canonicalTime = "2006-01-02T15:04:05Z"

// isCanonicalTime reports whether b is a time in canonicalTime's layout,
// so that comparing two such texts compares the times.
func isCanonicalTime(b []byte) bool {
	if len(b) != len(canonicalTime) {
		return false
	}
	for i, c := range b {
		switch canonicalTime[i] {
		case '-', 'T', ':', 'Z':
			if c != canonicalTime[i] {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// learningStartFor returns the cached learning start of d for the
// account an event names.
func (s *Set) learningStartFor(d *firstSeen, ev *event.Event) (time.Time, bool) {
	s.learn.mu.Lock()
	defer s.learn.mu.Unlock()
	known := s.learn.byAcct[ev.Account()]
	if known == nil || known.at[d.learnIdx].IsZero() {
		return time.Time{}, false
	}
	return known.at[d.learnIdx], true
}

// base holds what every detector has.
type base struct {
	id   string
	rule event.RuleInfo
	set  *Set
}

func (b *base) info() *event.RuleInfo { return &b.rule }

// key builds a state key under the detector's prefix. Parts must be safe
// (validated or hashed).
func (b *base) key(parts ...string) string {
	return "detect/" + b.id + "/" + strings.Join(parts, "/")
}

// obs caches what detectors read from one event, and carries the store
// its detectors keep their state in (the Set's, or a view's).
type obs struct {
	ev   *event.Event
	set  *Set
	st   state.Store
	name string

	t       time.Time
	tDone   bool
	p       *event.Principal
	addr    netip.Addr
	addrOK  bool
	addrSet bool
	loc     geoip.Location
	locOK   bool
	locErr  error
	locDone bool
}

// time is the event time, or the clock when the event has none or names
// a time further ahead of the clock than MaxSkew (see DefaultMaxSkew).
// Earlier times are believed: replaying archives (check --learn) needs
// them, and an old time can only open windows that have closed, record
// values that retention has expired, or move a learning start back, which
// makes first-seen alerts start sooner, never later.
func (o *obs) time() time.Time {
	if !o.tDone {
		now := o.set.now()
		o.t = o.ev.Time()
		switch {
		case o.t.IsZero():
			o.t = now
		case o.t.After(now.Add(o.set.maxSkew)):
			o.set.log.Warn("event_time_in_future", "event_id", o.ev.ID(), "origin", o.ev.Origin().String(),
				"event_time", o.ev.Str("eventTime"), "now", now.UTC().Format(time.RFC3339),
				"consequence", "the detectors use the time of reading instead")
			o.t = now
		}
		o.tDone = true
	}
	return o.t
}

func (o *obs) principal() *event.Principal {
	if o.p == nil {
		p := o.ev.Principal()
		o.p = &p
	}
	return o.p
}

// account returns the event's account, made safe for a state key.
func (o *obs) account() string { return safePart(o.ev.Account()) }

// principalKey is a stable, hashed key for the principal: for IAM users
// and root, account + type + name (failed sign-ins carry no ARN); for
// others the ARN, else account + type + name.
func (o *obs) principalKey() string {
	p := o.principal()
	var k string
	switch {
	case p.Type == event.PrincipalIAMUser || p.Type == event.PrincipalRoot || p.ARN == "":
		acct := p.AccountID
		if acct == "" {
			acct = o.ev.Account()
		}
		k = acct + "|" + p.Type + "|" + p.Name
	default:
		k = p.ARN
	}
	return hash(k)
}

// sourceAddr parses sourceIPAddress; ok is false for service names such as
// "signin.amazonaws.com" or "AWS Internal".
func (o *obs) sourceAddr() (netip.Addr, bool) {
	if !o.addrSet {
		a, err := netip.ParseAddr(strings.TrimSpace(o.ev.SourceIP()))
		if err == nil {
			o.addr, o.addrOK = a.Unmap().WithZone(""), true
		}
		o.addrSet = true
	}
	return o.addr, o.addrOK
}

// location looks the source address up once per event.
func (o *obs) location() (geoip.Location, bool, error) {
	if !o.locDone {
		if a, ok := o.sourceAddr(); ok {
			o.loc, o.locOK, o.locErr = o.set.geo.Find(a)
		}
		o.locDone = true
	}
	return o.loc, o.locOK, o.locErr
}

// isSuccess reports whether a sign-in succeeded: not a Failure, no error.
func (o *obs) isSuccess() bool {
	return o.ev.LoginResult() != event.LoginFailure && o.ev.ErrorCode() == ""
}

// hash returns a short, key-safe digest of attacker-controllable text.
func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:12])
}

// safePart keeps short [A-Za-z0-9._-] text and hashes anything else.
func safePart(s string) string {
	if s == "" || len(s) > 64 {
		return "h" + hash(s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return "h" + hash(s)
		}
	}
	return s
}

// ttlUntil is the TTL that makes an item expire at until (an event time
// plus a period), measured on the store's clock, and never less than floor:
// replayed events older than their period still get a short life.
func (s *Set) ttlUntil(until time.Time, floor time.Duration) time.Duration {
	d := until.Sub(s.now())
	if d < floor {
		return floor
	}
	return d
}

// addLocation adds the source's location to an alert's context. Callers
// have already called o.location and handled its error.
func addLocation(ctx map[string]string, o *obs) {
	if loc, ok, _ := o.location(); ok {
		ctx["location"] = loc.String()
		if loc.ASOrg != "" {
			ctx["as_org"] = loc.ASOrg
		}
	}
}
