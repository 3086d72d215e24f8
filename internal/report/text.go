package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"
)

// WriteTable writes the per-principal summary as an aligned text table,
// then one line of totals. Text from events is made safe for a terminal.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PRINCIPAL\tTYPE\tACCOUNT\tSIGN-INS\tSUCCESS\tFAILURE\tMFA\tNO MFA\tSOURCE IPS\tFIRST\tLAST")
	for _, p := range r.Principals {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n",
			dash(terminal(p.Principal)), dash(terminal(p.Type)), dash(terminal(p.Account)),
			p.SignIns, p.Success, p.Failure, p.MFA, p.NoMFA, p.Sources, r.stamp(p.First), r.stamp(p.Last))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, r.summaryLine())
	return err
}

func (r *Result) summaryLine() string {
	t := r.Totals
	s := fmt.Sprintf("\n%d sign-ins by %d principals from %d networks: %d succeeded, %d failed", t.SignIns, t.Principals, t.Networks, t.Success, t.Failure)
	if t.Unknown > 0 {
		s += fmt.Sprintf(", %d without a result", t.Unknown)
	}
	s += fmt.Sprintf("; MFA on %d of %d successful sign-ins that say", t.SuccessMFA, t.SuccessMFA+t.SuccessNoMFA)
	if r.Omitted > 0 {
		s += fmt.Sprintf(" (%d sign-ins counted but not listed)", r.Omitted)
	}
	return s
}

// stamp formats a time in the report's zone, "-" when unknown.
func (r *Result) stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(r.Location).Format("2006-01-02 15:04 MST")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// terminal escapes control characters and direction overrides, so that a
// user name cannot move the cursor or break the table.
func terminal(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CSVHeader is the first row of WriteCSV.
var CSVHeader = []string{"time", "event", "result", "principal", "principal_type", "account", "source_ip",
	"country", "asn", "as_org", "network", "user_agent", "mfa", "error", "region", "event_id"}

// WriteCSV writes one row per sign-in, in time order, with times in RFC
// 3339 in the report's zone.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, s := range r.SignIns {
		asn := ""
		if s.ASN != 0 {
			asn = strconv.FormatUint(uint64(s.ASN), 10)
		}
		t := ""
		if !s.Time.IsZero() {
			t = s.Time.In(r.Location).Format(time.RFC3339)
		}
		row := []string{t, s.Event, s.Result, s.Principal, s.PrincipalType, s.Account, s.SourceIP,
			s.Country, asn, s.ASOrg, s.Network, s.UserAgent, s.MFA, s.Error, s.Region, s.EventID}
		for i := range row {
			row[i] = cell(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a spreadsheet from running a value as a formula: text that
// starts with =, +, -, @, a tab or a carriage return gets a leading quote.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// jsonReport is the shape of WriteJSON.
type jsonReport struct {
	TimeZone   string        `json:"time_zone"`
	Totals     jsonTotals    `json:"totals"`
	Principals []jsonPrin    `json:"principals"`
	Days       []DayStatsOut `json:"days"`
	Failures   []jsonSource  `json:"failures_by_source"`
	Networks   []jsonNetwork `json:"networks"`
	SignIns    []jsonSignIn  `json:"sign_ins"`
	Omitted    int           `json:"omitted"`
}

type jsonTotals struct {
	SignIns      int    `json:"sign_ins"`
	Success      int    `json:"success"`
	Failure      int    `json:"failure"`
	Unknown      int    `json:"unknown"`
	MFA          int    `json:"mfa"`
	NoMFA        int    `json:"no_mfa"`
	SuccessMFA   int    `json:"success_mfa"`
	SuccessNoMFA int    `json:"success_no_mfa"`
	Principals   int    `json:"principals"`
	Sources      int    `json:"sources"`
	Networks     int    `json:"networks"`
	First        string `json:"first,omitempty"`
	Last         string `json:"last,omitempty"`
}

type jsonPrin struct {
	Principal string `json:"principal"`
	Type      string `json:"type"`
	Account   string `json:"account"`
	ARN       string `json:"arn,omitempty"`
	SignIns   int    `json:"sign_ins"`
	Success   int    `json:"success"`
	Failure   int    `json:"failure"`
	MFA       int    `json:"mfa"`
	NoMFA     int    `json:"no_mfa"`
	Sources   int    `json:"source_ips"`
	First     string `json:"first,omitempty"`
	Last      string `json:"last,omitempty"`
}

// DayStatsOut is one day of WriteJSON.
type DayStatsOut struct {
	Day     string `json:"day"`
	Success int    `json:"success"`
	Failure int    `json:"failure"`
	Unknown int    `json:"unknown"`
}

type jsonSource struct {
	SourceIP   string `json:"source_ip"`
	Country    string `json:"country,omitempty"`
	Network    string `json:"network,omitempty"`
	Failures   int    `json:"failures"`
	Principals int    `json:"principals"`
	Last       string `json:"last,omitempty"`
}

type jsonNetwork struct {
	Network        string `json:"network"`
	Country        string `json:"country,omitempty"`
	ASOrg          string `json:"as_org,omitempty"`
	First          string `json:"first,omitempty"`
	FirstPrincipal string `json:"first_principal"`
	Last           string `json:"last,omitempty"`
	SignIns        int    `json:"sign_ins"`
}

type jsonSignIn struct {
	Time          string `json:"time,omitempty"`
	Event         string `json:"event"`
	Result        string `json:"result"`
	Principal     string `json:"principal"`
	PrincipalType string `json:"principal_type"`
	ARN           string `json:"arn,omitempty"`
	Account       string `json:"account"`
	SourceIP      string `json:"source_ip"`
	Country       string `json:"country,omitempty"`
	ASN           uint   `json:"asn,omitempty"`
	ASOrg         string `json:"as_org,omitempty"`
	Network       string `json:"network,omitempty"`
	UserAgent     string `json:"user_agent"`
	MFA           string `json:"mfa"`
	Error         string `json:"error,omitempty"`
	Region        string `json:"region"`
	EventID       string `json:"event_id"`
}

func (r *Result) rfc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(r.Location).Format(time.RFC3339)
}

// WriteJSON writes the whole report as one JSON document.
func (r *Result) WriteJSON(w io.Writer) error {
	t := r.Totals
	out := jsonReport{
		TimeZone: r.Location.String(),
		Totals: jsonTotals{t.SignIns, t.Success, t.Failure, t.Unknown, t.MFA, t.NoMFA, t.SuccessMFA, t.SuccessNoMFA,
			t.Principals, t.Sources, t.Networks, r.rfc(t.First), r.rfc(t.Last)},
		Principals: []jsonPrin{}, Days: []DayStatsOut{}, Failures: []jsonSource{}, Networks: []jsonNetwork{}, SignIns: []jsonSignIn{},
		Omitted: r.Omitted,
	}
	for _, p := range r.Principals {
		out.Principals = append(out.Principals, jsonPrin{p.Principal, p.Type, p.Account, p.ARN, p.SignIns, p.Success, p.Failure,
			p.MFA, p.NoMFA, p.Sources, r.rfc(p.First), r.rfc(p.Last)})
	}
	for _, d := range r.Days {
		out.Days = append(out.Days, DayStatsOut(d))
	}
	for _, f := range r.Failures {
		out.Failures = append(out.Failures, jsonSource{f.SourceIP, f.Country, f.Network, f.Failures, f.Principals, r.rfc(f.Last)})
	}
	for _, n := range r.Networks {
		out.Networks = append(out.Networks, jsonNetwork{n.Network, n.Country, n.ASOrg, r.rfc(n.First), n.FirstPrincipal, r.rfc(n.Last), n.SignIns})
	}
	for _, s := range r.SignIns {
		out.SignIns = append(out.SignIns, jsonSignIn{r.rfc(s.Time), s.Event, s.Result, s.Principal, s.PrincipalType, s.ARN, s.Account,
			s.SourceIP, s.Country, s.ASN, s.ASOrg, s.Network, s.UserAgent, s.MFA, s.Error, s.Region, s.EventID})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
