package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

//go:embed page.html.tmpl
var pageSource string

// page is parsed once, when the first page is written rather than at every
// start of the program; Execute is safe for concurrent use.
var page = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{
		"pct": func(n, of int) string {
			if of == 0 {
				return "0%"
			}
			return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 0, 64) + "%"
		},
	}).Parse(pageSource))
})

// Colours of results and MFA, chosen to read for colour-blind people too
// (blue and orange rather than green and red).
const (
	colSuccess = "#2b6cb0"
	colFailure = "#dd6b20"
	colUnknown = "#a0aec0"
)

// maxTableRows bounds the rows of the page's sign-in table; the CSV holds
// every kept sign-in.
const maxTableRows = 10_000

// WriteHTML writes the report as one self-contained HTML page in locale
// ("en" or "ja"): inline CSS, inline SVG charts, a little inline script to
// sort the table, and a content security policy that forbids any fetch.
func (r *Result) WriteHTML(w io.Writer, locale string) error {
	if err := checkLocale(locale); err != nil {
		return err
	}
	d := dict(words[locale])
	v := r.view(d)
	return page().Execute(w, v)
}

// view is everything the template shows, computed and translated.
type view struct {
	T        dict
	Period   string
	Empty    bool
	Cards    []card
	Days     chart
	People   chart
	MFA      donut
	Fails    chart
	Networks lineChart
	Prin     []prinRow
	Nets     []netRow
	Rows     []signRow
	Shown    string
	Omitted  string
}

type card struct {
	Key, Label, Value, Detail string
}

// bar is one stacked bar; segs are drawn in order from the base.
type bar struct {
	Label, Full string
	X, Y, W, H  float64 // the label's anchor and the bar's band
	Segs        []seg
	Total       int
	Title       string
	LabelX      float64
	Show        bool // label shown (x axis charts thin their labels)
}

type seg struct {
	X, Y, W, H float64
	Fill       string
	N          int
	Title      string
}

type chart struct {
	Title, Note string
	W, H        float64
	Bars        []bar
	Ticks       []tick
	Legend      []legend
	Empty       string
}

type tick struct {
	X1, Y1, X2, Y2, TX, TY float64
	Label                  string
}

type legend struct {
	X     float64
	Fill  string
	Label string
}

type donut struct {
	Title            string
	Arcs             []arc
	Legend           []legendRow
	Center, CenterOf string
	Empty            string
}

type arc struct {
	Fill, Dash, Offset, Title string
}

type legendRow struct {
	Fill, Label, Value string
}

type lineChart struct {
	Title, YLabel string
	W, H          float64
	Path          string
	Points        []point
	Ticks         []tick
	Empty         string
}

type point struct {
	X, Y  float64
	Title string
}

type prinRow struct {
	Principal, Type, Account, ARN                  string
	SignIns, Success, Failure, MFA, NoMFA, Sources int
	First, Last, FirstSort, LastSort               string
}

type netRow struct {
	First, FirstSort, Network, Country, ASOrg, By string
	SignIns                                       int
}

type signRow struct {
	Time, TimeSort, Event, Result, ResultKey, Principal, Type, Account string
	IP, Country, Network, Agent, MFA, MFAKey, Error, Region, EventID   string
}

func (r *Result) when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(r.Location).Format("2006-01-02 15:04:05")
}

func sortKey(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func (r *Result) view(d dict) *view {
	t := r.Totals
	v := &view{T: d, Empty: t.SignIns == 0}
	zone := r.Location.String()
	if !t.First.IsZero() {
		v.Period = fmt.Sprintf(d.get("period"), r.when(t.First), r.when(t.Last), zone)
	}
	mfaDetail := fmt.Sprintf(d.get("of"), t.SuccessMFA, t.Success)
	v.Cards = []card{
		{"signins", d.get("card_signins"), strconv.Itoa(t.SignIns), ""},
		{"success", d.get("card_success"), strconv.Itoa(t.Success), ""},
		{"failure", d.get("card_failure"), strconv.Itoa(t.Failure), ""},
		{"principals", d.get("card_principal"), strconv.Itoa(t.Principals), ""},
		{"networks", d.get("card_networks"), strconv.Itoa(t.Networks), ""},
		{"success-mfa", d.get("card_mfa"), strconv.Itoa(t.SuccessMFA), mfaDetail},
	}
	v.Days = r.dayChart(d)
	v.People = r.principalChart(d)
	v.MFA = r.mfaDonut(d)
	v.Fails = r.failureChart(d)
	v.Networks = r.networkChart(d)
	// Text from events goes through terminal too: html/template escapes
	// markup, and control characters are shown rather than passed on.
	tx := terminal
	for _, p := range r.Principals {
		v.Prin = append(v.Prin, prinRow{tx(p.Principal), tx(d.term(p.Type)), tx(p.Account), tx(p.ARN), p.SignIns, p.Success, p.Failure,
			p.MFA, p.NoMFA, p.Sources, r.when(p.First), r.when(p.Last), sortKey(p.First), sortKey(p.Last)})
	}
	for _, n := range r.Networks {
		v.Nets = append(v.Nets, netRow{r.when(n.First), sortKey(n.First), tx(n.Network), tx(n.Country), tx(n.ASOrg), tx(n.FirstPrincipal), n.SignIns})
	}
	for i, s := range r.SignIns {
		if i == maxTableRows {
			v.Shown = fmt.Sprintf(d.get("shown"), maxTableRows, len(r.SignIns))
			break
		}
		mfa := d.term(s.MFA)
		if s.MFA == Unknown {
			mfa = d.get("mfa_unknown")
		}
		v.Rows = append(v.Rows, signRow{r.when(s.Time), sortKey(s.Time), tx(d.term(s.Event)), d.term(s.Result), s.Result,
			tx(s.Principal), tx(d.term(s.PrincipalType)), tx(s.Account), tx(s.SourceIP), tx(s.Country), tx(s.Network), tx(s.UserAgent), mfa, s.MFA,
			tx(s.Error), tx(s.Region), tx(s.EventID)})
	}
	if r.Omitted > 0 {
		v.Omitted = fmt.Sprintf(d.get("omitted"), r.Omitted)
	}
	return v
}

// bucket is one bar of the time chart.
type bucket struct {
	start                     time.Time
	label                     string
	success, failure, unknown int
}

// buckets spreads the days with sign-ins over a time axis: one bar a day
// for up to two months, a week for up to two years, a month beyond.
func (r *Result) buckets() (bs []bucket, unit string) {
	if len(r.Days) == 0 {
		return nil, "per_day"
	}
	parse := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	first, last := parse(r.Days[0].Day), parse(r.Days[len(r.Days)-1].Day)
	span := int(last.Sub(first).Hours()/24) + 1
	var start func(time.Time) time.Time
	var next func(time.Time) time.Time
	var label func(time.Time) string
	switch {
	case span <= 62:
		unit = "per_day"
		start = func(t time.Time) time.Time { return t }
		next = func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
		label = func(t time.Time) string { return t.Format("01-02") }
	case span <= 730:
		unit = "per_week"
		start = func(t time.Time) time.Time { return t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7)) }
		next = func(t time.Time) time.Time { return t.AddDate(0, 0, 7) }
		label = func(t time.Time) string { return t.Format("2006-01-02") }
	default:
		unit = "per_month"
		start = func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC) }
		next = func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
		label = func(t time.Time) string { return t.Format("2006-01") }
	}
	index := map[time.Time]int{}
	for b := start(first); !b.After(last); b = next(b) {
		index[b] = len(bs)
		bs = append(bs, bucket{start: b, label: label(b)})
	}
	for _, d := range r.Days {
		b := &bs[index[start(parse(d.Day))]]
		b.success += d.Success
		b.failure += d.Failure
		b.unknown += d.Unknown
	}
	return bs, unit
}

const (
	chartW  = 760.0
	chartH  = 240.0
	padL    = 44.0
	padR    = 12.0
	padT    = 28.0
	padB    = 36.0
	barRowH = 22.0
)

func (r *Result) dayChart(d dict) chart {
	bs, unit := r.buckets()
	c := chart{Title: d.get(unit), W: chartW, H: chartH, Empty: d.get("empty")}
	if len(bs) == 0 {
		return c
	}
	peak := 0
	for _, b := range bs {
		peak = max(peak, b.success+b.failure+b.unknown)
	}
	top := niceMax(peak)
	plotW, plotH := chartW-padL-padR, chartH-padT-padB
	slot := plotW / float64(len(bs))
	bw := math.Max(1, slot*0.8)
	every := int(math.Ceil(float64(len(bs)) / 12))
	for i, b := range bs {
		x := padL + float64(i)*slot + (slot-bw)/2
		y := padT + plotH
		br := bar{Label: b.label, Total: b.success + b.failure + b.unknown, LabelX: x + bw/2, Y: chartH - padB + 14, Show: i%every == 0}
		for _, s := range []struct {
			n    int
			fill string
			key  string
		}{{b.success, colSuccess, Success}, {b.failure, colFailure, Failure}, {b.unknown, colUnknown, Unknown}} {
			if s.n == 0 {
				continue
			}
			h := plotH * float64(s.n) / float64(top)
			y -= h
			br.Segs = append(br.Segs, seg{X: x, Y: y, W: bw, H: h, Fill: s.fill, N: s.n,
				Title: fmt.Sprintf("%s: %s %d", b.label, d.term(s.key), s.n)})
		}
		c.Bars = append(c.Bars, br)
	}
	c.Ticks = yTicks(top, plotH)
	c.Legend = resultLegend(d)
	return c
}

func resultLegend(d dict) []legend {
	return []legend{{padL, colSuccess, d.term(Success)}, {padL + 140, colFailure, d.term(Failure)}, {padL + 280, colUnknown, d.term(Unknown)}}
}

// yTicks returns horizontal grid lines at 0, half and the top.
func yTicks(top int, plotH float64) []tick {
	var ts []tick
	for _, f := range []float64{0, 0.5, 1} {
		y := padT + plotH - f*plotH
		v := f * float64(top)
		if v != math.Trunc(v) {
			continue
		}
		ts = append(ts, tick{X1: padL, Y1: y, X2: chartW - padR, Y2: y, TX: padL - 6, TY: y + 4, Label: strconv.Itoa(int(v))})
	}
	return ts
}

// niceMax rounds a peak up to 1, 2 or 5 times a power of ten, so the axis
// reads easily.
func niceMax(n int) int {
	if n <= 1 {
		return 1
	}
	p := 1
	for p*10 < n {
		p *= 10
	}
	for _, m := range []int{1, 2, 5, 10} {
		if m*p >= n {
			return m * p
		}
	}
	return 10 * p
}

// short keeps a label to n characters, ending in "…" when cut.
func short(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// hbars draws horizontal stacked bars, one row per entry.
func hbars(title string, rows []bar, d dict, legendOn bool) chart {
	const labelW = 230.0
	c := chart{Title: title, W: chartW, H: padT + float64(len(rows))*barRowH + 30}
	peak := 0
	for _, b := range rows {
		peak = max(peak, b.Total)
	}
	top := niceMax(peak)
	plotW := chartW - labelW - padR - 40
	for i := range rows {
		b := &rows[i]
		y := padT + float64(i)*barRowH
		b.X, b.Y, b.H = labelW-8, y+barRowH/2+4, barRowH-6
		x := labelW
		for j := range b.Segs {
			s := &b.Segs[j]
			w := plotW * float64(s.N) / float64(top)
			s.X, s.Y, s.W, s.H = x, y+3, w, barRowH-6
			x += w
		}
		b.LabelX = x + 6
		b.Show = true
	}
	c.Bars = rows
	if legendOn {
		c.Legend = resultLegend(d)
	}
	return c
}

func (r *Result) principalChart(d dict) chart {
	const top = 15
	var rows []bar
	seen := map[string]int{}
	for i, p := range r.Principals {
		if i < top {
			seen[p.Principal]++
		}
	}
	for i, p := range r.Principals {
		if i == top {
			break
		}
		name := terminal(p.Principal)
		if name == Other {
			name = d.get("other")
		} else if seen[p.Principal] > 1 {
			// root of several accounts: say which
			name += " (" + terminal(p.Account) + ")"
		}
		full := name + " (" + terminal(d.term(p.Type)) + ", " + terminal(p.Account) + ")"
		b := bar{Label: short(name, 30), Full: full, Total: p.SignIns, Title: full}
		if p.Success > 0 {
			b.Segs = append(b.Segs, seg{Fill: colSuccess, N: p.Success, Title: fmt.Sprintf("%s: %s %d", name, d.term(Success), p.Success)})
		}
		if p.Failure > 0 {
			b.Segs = append(b.Segs, seg{Fill: colFailure, N: p.Failure, Title: fmt.Sprintf("%s: %s %d", name, d.term(Failure), p.Failure)})
		}
		if u := p.SignIns - p.Success - p.Failure; u > 0 {
			b.Segs = append(b.Segs, seg{Fill: colUnknown, N: u, Title: fmt.Sprintf("%s: %s %d", name, d.term(Unknown), u)})
		}
		rows = append(rows, b)
	}
	c := hbars(d.get("per_principal"), rows, d, true)
	if len(r.Principals) > top {
		c.Note = fmt.Sprintf(d.get("top_principals"), top)
	}
	return c
}

func (r *Result) failureChart(d dict) chart {
	const top = 10
	var rows []bar
	for i, f := range r.Failures {
		if i == top {
			break
		}
		name := terminal(f.SourceIP)
		switch {
		case name == Other:
			name = d.get("other")
		case name == "":
			name = "-"
		}
		label := name
		if f.Country != "" {
			label += " (" + terminal(f.Country) + ")"
		}
		rows = append(rows, bar{Label: short(label, 30), Full: label, Total: f.Failures, Title: label,
			Segs: []seg{{Fill: colFailure, N: f.Failures, Title: fmt.Sprintf("%s: %s %d", label, d.term(Failure), f.Failures)}}})
	}
	c := hbars(d.get("failures"), rows, d, false)
	if len(r.Failures) == 0 {
		c.Empty = d.get("no_failures")
		c.H = padT + 30
	}
	if len(r.Failures) > top {
		c.Note = fmt.Sprintf(d.get("top_failures"), top)
	}
	return c
}

// mfaDonut shows how many successful sign-ins used MFA.
func (r *Result) mfaDonut(d dict) donut {
	t := r.Totals
	unknown := t.Success - t.SuccessMFA - t.SuccessNoMFA
	dn := donut{Title: d.get("mfa_share")}
	if t.Success == 0 {
		dn.Empty = d.get("empty")
		return dn
	}
	const circ = 2 * math.Pi * 60
	offset := 0.0
	for _, p := range []struct {
		n     int
		fill  string
		label string
	}{{t.SuccessMFA, colSuccess, d.term(Yes)}, {t.SuccessNoMFA, colFailure, d.term(No)}, {unknown, colUnknown, d.get("mfa_unknown")}} {
		share := float64(p.n) / float64(t.Success)
		dn.Legend = append(dn.Legend, legendRow{p.fill, p.label, fmt.Sprintf("%d (%.0f%%)", p.n, 100*share)})
		if p.n == 0 {
			continue
		}
		l := share * circ
		dn.Arcs = append(dn.Arcs, arc{Fill: p.fill, Dash: fmt.Sprintf("%.2f %.2f", l, circ-l), Offset: fmt.Sprintf("%.2f", -offset),
			Title: fmt.Sprintf("%s: %d", p.label, p.n)})
		offset += l
	}
	dn.Center = fmt.Sprintf("%.0f%%", 100*float64(t.SuccessMFA)/float64(t.Success))
	dn.CenterOf = fmt.Sprintf(d.get("of"), t.SuccessMFA, t.Success)
	return dn
}

// networkChart draws how many distinct networks have been seen over time:
// each step up is a network seen for the first time.
func (r *Result) networkChart(d dict) lineChart {
	c := lineChart{Title: d.get("new_networks"), YLabel: d.get("new_networks_y"), W: chartW, H: chartH, Empty: d.get("empty")}
	var firsts []NetworkStats
	for _, n := range r.Networks {
		if !n.First.IsZero() {
			firsts = append(firsts, n)
		}
	}
	if len(firsts) == 0 {
		return c
	}
	t0, t1 := firsts[0].First, r.Totals.Last
	if !t1.After(t0) {
		t1 = t0.Add(time.Hour)
	}
	top := niceMax(len(firsts))
	plotW, plotH := chartW-padL-padR, chartH-padT-padB
	xOf := func(t time.Time) float64 { return padL + plotW*float64(t.Sub(t0))/float64(t1.Sub(t0)) }
	yOf := func(n int) float64 { return padT + plotH - plotH*float64(n)/float64(top) }
	path := fmt.Sprintf("M%.1f %.1f", xOf(t0), yOf(0))
	for i, n := range firsts {
		x := xOf(n.First)
		path += fmt.Sprintf(" L%.1f %.1f L%.1f %.1f", x, yOf(i), x, yOf(i+1))
		label := terminal(n.Network)
		if n.Country != "" {
			label += " (" + terminal(n.Country) + ")"
		}
		c.Points = append(c.Points, point{X: x, Y: yOf(i + 1), Title: r.when(n.First) + " " + label + " " + terminal(n.FirstPrincipal)})
	}
	path += fmt.Sprintf(" L%.1f %.1f", xOf(t1), yOf(len(firsts)))
	c.Path = path
	c.Ticks = yTicks(top, plotH)
	for _, t := range []time.Time{t0, t1} {
		c.Ticks = append(c.Ticks, tick{X1: xOf(t), Y1: padT + plotH, X2: xOf(t), Y2: padT + plotH + 4, TX: xOf(t), TY: chartH - padB + 16,
			Label: t.In(r.Location).Format("2006-01-02")})
	}
	return c
}
