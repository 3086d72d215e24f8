package report

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/geoip"
)

// Locator maps an address to a place and network; *geoip.Locator has it.
type Locator interface {
	Lookup(ip netip.Addr) (geoip.Location, bool)
}

// Options configure a login report.
type Options struct {
	// Location is the time zone of times and days; nil means UTC.
	Location *time.Location
	// GeoIP, when set, adds country and network to each source address.
	GeoIP Locator
	// MaxRows bounds the sign-ins kept for the table; 0 means
	// DefaultMaxRows. Sign-ins past it still count everywhere else.
	MaxRows int
}

// DefaultMaxRows is the default bound on the sign-ins a report lists.
const DefaultMaxRows = 100_000

// maxKeys bounds the distinct principals, sources and networks a report
// counts separately; the rest are folded into one Other entry.
const maxKeys = 10_000

// Other names the entry that holds whatever exceeded maxKeys.
const Other = "(other)"

// Results and MFA values of a sign-in.
const (
	Success = "Success"
	Failure = "Failure"
	Unknown = "Unknown"
	Yes     = "Yes"
	No      = "No"
)

// SignIn is one console sign-in or role switch.
type SignIn struct {
	Time          time.Time
	Event         string // ConsoleLogin or SwitchRole
	Result        string // Success, Failure or Unknown
	Principal     string
	PrincipalType string
	ARN           string
	Account       string
	SourceIP      string
	Country       string
	ASN           uint
	ASOrg         string
	Network       string // "AS2516", else the address's /24 or /48
	UserAgent     string
	MFA           string // Yes, No or Unknown
	Error         string // errorMessage of a failure
	Region        string
	EventID       string
}

// Logins collects the sign-ins of an event stream. It is not safe for
// concurrent use.
type Logins struct {
	opt        Options
	rows       []SignIn
	dropped    int
	principals map[string]*PrincipalStats
	days       map[string]*DayStats
	failures   map[string]*SourceStats
	networks   map[string]*NetworkStats
	total      Totals
}

// NewLogins returns an empty login report.
func NewLogins(o Options) *Logins {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	return &Logins{
		opt:        o,
		principals: map[string]*PrincipalStats{},
		days:       map[string]*DayStats{},
		failures:   map[string]*SourceStats{},
		networks:   map[string]*NetworkStats{},
	}
}

// IsSignIn reports whether an event is one the login report counts: a
// console sign-in (ConsoleLogin) or role switch (SwitchRole).
func IsSignIn(ev *event.Event) bool {
	switch ev.Name() {
	case "ConsoleLogin", "SwitchRole":
		return ev.Source() == "signin.amazonaws.com" || ev.Type() == event.TypeConsoleSignIn
	}
	return false
}

// Add counts ev when it is a sign-in and reports whether it was. ev need
// not outlive the call.
func (l *Logins) Add(ev *event.Event) bool {
	if !IsSignIn(ev) {
		return false
	}
	s := l.signIn(ev)
	l.count(&s)
	if len(l.rows) < l.opt.MaxRows {
		l.rows = append(l.rows, s)
	} else {
		l.dropped++
	}
	return true
}

func (l *Logins) signIn(ev *event.Event) SignIn {
	p := ev.Principal()
	s := SignIn{
		Time:          ev.Time(),
		Event:         ev.Name(),
		Result:        ev.LoginResult(),
		Principal:     p.String(),
		PrincipalType: p.Type,
		ARN:           p.ARN,
		Account:       ev.Account(),
		SourceIP:      ev.SourceIP(),
		UserAgent:     ev.UserAgent(),
		MFA:           Unknown,
		Region:        ev.Region(),
		EventID:       ev.ID(),
	}
	if s.Result == "" {
		s.Result = Unknown
		if ev.ErrorCode() != "" {
			s.Result = Failure
		}
	}
	if s.Result == Failure {
		s.Error = ev.ErrorMessage()
		if s.Error == "" {
			s.Error = ev.ErrorCode()
		}
	}
	if used, known := ev.MFAUsed(); known {
		s.MFA = No
		if used {
			s.MFA = Yes
		}
	}
	if ip, err := netip.ParseAddr(s.SourceIP); err == nil {
		ip = ip.Unmap()
		if l.opt.GeoIP != nil {
			if loc, ok := l.opt.GeoIP.Lookup(ip); ok {
				s.Country, s.ASN, s.ASOrg = loc.Country, loc.ASN, loc.ASOrg
			}
		}
		switch {
		case s.ASN != 0:
			s.Network = "AS" + strconv.FormatUint(uint64(s.ASN), 10)
		case ip.Is4():
			s.Network = netip.PrefixFrom(ip, 24).Masked().String()
		default:
			s.Network = netip.PrefixFrom(ip, 48).Masked().String()
		}
	}
	return s
}

// Totals counts every sign-in of a report.
type Totals struct {
	SignIns, Success, Failure, Unknown int
	// MFA and NoMFA count sign-ins that say whether MFA was used.
	MFA, NoMFA int
	// SuccessMFA and SuccessNoMFA count successful sign-ins by MFA.
	SuccessMFA, SuccessNoMFA      int
	Principals, Sources, Networks int
	First, Last                   time.Time
}

// PrincipalStats counts one principal's sign-ins.
type PrincipalStats struct {
	Principal, Type, Account, ARN string
	SignIns, Success, Failure     int
	MFA, NoMFA                    int
	First, Last                   time.Time
	sources                       map[string]bool
	Sources                       int // distinct source addresses, up to maxKeys
}

// DayStats counts the sign-ins of one day in the report's zone.
type DayStats struct {
	Day                       string // 2006-01-02
	Success, Failure, Unknown int
}

// SourceStats counts failed sign-ins from one address.
type SourceStats struct {
	SourceIP, Country, Network string
	Failures                   int
	Principals                 int
	principals                 map[string]bool
	Last                       time.Time
}

// NetworkStats is one network sign-ins came from, and when it was first
// seen.
type NetworkStats struct {
	Network, Country, ASOrg string
	First, Last             time.Time
	FirstPrincipal          string
	SignIns                 int
}

func principalKey(s *SignIn) string {
	return s.PrincipalType + "\x00" + s.Account + "\x00" + s.Principal
}

func (l *Logins) count(s *SignIn) {
	t := &l.total
	t.SignIns++
	switch s.Result {
	case Success:
		t.Success++
	case Failure:
		t.Failure++
	default:
		t.Unknown++
	}
	switch s.MFA {
	case Yes:
		t.MFA++
		if s.Result == Success {
			t.SuccessMFA++
		}
	case No:
		t.NoMFA++
		if s.Result == Success {
			t.SuccessNoMFA++
		}
	}
	if !s.Time.IsZero() {
		if t.First.IsZero() || s.Time.Before(t.First) {
			t.First = s.Time
		}
		if s.Time.After(t.Last) {
			t.Last = s.Time
		}
	}

	key := principalKey(s)
	p := l.principals[key]
	if p == nil {
		if len(l.principals) >= maxKeys {
			key = Other
			p = l.principals[key]
		}
		if p == nil {
			p = &PrincipalStats{Principal: s.Principal, Type: s.PrincipalType, Account: s.Account, ARN: s.ARN, sources: map[string]bool{}}
			if key == Other {
				p.Principal, p.Type, p.Account, p.ARN = Other, "", "", ""
			}
			l.principals[key] = p
		}
	}
	p.SignIns++
	switch s.Result {
	case Success:
		p.Success++
	case Failure:
		p.Failure++
	}
	switch s.MFA {
	case Yes:
		p.MFA++
	case No:
		p.NoMFA++
	}
	span(&p.First, &p.Last, s.Time)
	if s.SourceIP != "" && len(p.sources) < maxKeys {
		p.sources[s.SourceIP] = true
	}

	if !s.Time.IsZero() {
		day := s.Time.In(l.opt.Location).Format(time.DateOnly)
		d := l.days[day]
		if d == nil {
			d = &DayStats{Day: day}
			l.days[day] = d
		}
		switch s.Result {
		case Success:
			d.Success++
		case Failure:
			d.Failure++
		default:
			d.Unknown++
		}
	}

	if s.Result == Failure {
		src := s.SourceIP
		f := l.failures[src]
		if f == nil {
			if len(l.failures) >= maxKeys {
				src = Other
				f = l.failures[src]
			}
			if f == nil {
				f = &SourceStats{SourceIP: src, principals: map[string]bool{}}
				if src != Other {
					f.Country, f.Network = s.Country, s.Network
				}
				l.failures[src] = f
			}
		}
		f.Failures++
		if len(f.principals) < maxKeys {
			f.principals[key] = true
		}
		if s.Time.After(f.Last) {
			f.Last = s.Time
		}
	}

	if s.Network != "" {
		nk := s.Network
		n := l.networks[nk]
		if n == nil {
			if len(l.networks) >= maxKeys {
				nk = Other
				n = l.networks[nk]
			}
			if n == nil {
				n = &NetworkStats{Network: nk}
				if nk != Other {
					n.Country, n.ASOrg = s.Country, s.ASOrg
				}
				l.networks[nk] = n
			}
		}
		n.SignIns++
		if n.First.IsZero() || !s.Time.IsZero() && s.Time.Before(n.First) {
			n.First = s.Time
			n.FirstPrincipal = s.Principal
		}
		if s.Time.After(n.Last) {
			n.Last = s.Time
		}
	}
}

func span(first, last *time.Time, t time.Time) {
	if t.IsZero() {
		return
	}
	if first.IsZero() || t.Before(*first) {
		*first = t
	}
	if t.After(*last) {
		*last = t
	}
}

// Result is a finished login report: totals, the breakdowns, and the
// sign-ins in time order.
type Result struct {
	Location   *time.Location
	Totals     Totals
	Principals []PrincipalStats // most sign-ins first
	Days       []DayStats       // in date order, days without sign-ins left out
	Failures   []SourceStats    // most failures first
	Networks   []NetworkStats   // first seen first
	SignIns    []SignIn         // in time order
	// Omitted counts sign-ins past Options.MaxRows, counted but not listed.
	Omitted int
}

// Result finishes the report. The Logins may go on collecting afterwards.
func (l *Logins) Result() *Result {
	r := &Result{Location: l.opt.Location, Totals: l.total, Omitted: l.dropped}
	r.Totals.Principals = len(l.principals)
	r.Totals.Networks = len(l.networks)
	for _, p := range l.principals {
		c := *p
		c.Sources = len(p.sources)
		c.sources = nil
		r.Principals = append(r.Principals, c)
	}
	slices.SortFunc(r.Principals, func(a, b PrincipalStats) int {
		return cmp.Or(cmp.Compare(b.SignIns, a.SignIns), cmp.Compare(a.Principal, b.Principal), cmp.Compare(a.Account, b.Account), cmp.Compare(a.Type, b.Type))
	})
	for _, d := range l.days {
		r.Days = append(r.Days, *d)
	}
	slices.SortFunc(r.Days, func(a, b DayStats) int { return cmp.Compare(a.Day, b.Day) })
	sources := map[string]bool{}
	for _, s := range l.rows {
		if len(sources) < maxKeys {
			sources[s.SourceIP] = true
		}
	}
	r.Totals.Sources = len(sources)
	for _, f := range l.failures {
		c := *f
		c.Principals = len(f.principals)
		c.principals = nil
		r.Failures = append(r.Failures, c)
	}
	slices.SortFunc(r.Failures, func(a, b SourceStats) int {
		return cmp.Or(cmp.Compare(b.Failures, a.Failures), cmp.Compare(a.SourceIP, b.SourceIP))
	})
	for _, n := range l.networks {
		r.Networks = append(r.Networks, *n)
	}
	slices.SortFunc(r.Networks, func(a, b NetworkStats) int {
		return cmp.Or(a.First.Compare(b.First), cmp.Compare(a.Network, b.Network))
	})
	r.SignIns = slices.Clone(l.rows)
	slices.SortStableFunc(r.SignIns, func(a, b SignIn) int { return a.Time.Compare(b.Time) })
	return r
}
