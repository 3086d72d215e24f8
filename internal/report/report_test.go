package report

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/ingest"
)

const fixture = "testdata/signins.jsonl"

// build reads files through the ingest package, as the CLI does, into a
// login report.
func build(t testing.TB, o Options, files ...string) *Result {
	t.Helper()
	l := NewLogins(o)
	for ev, err := range ingest.New(ingest.Options{}).Paths(context.Background(), files) {
		if err != nil {
			t.Fatal(err)
		}
		l.Add(ev)
	}
	return l.Result()
}

// counts is what the tests compute for one principal, on their own.
type counts struct{ SignIns, Success, Failure, MFA, NoMFA int }

// independent counts the fixture's sign-ins with encoding/json and rules
// written here from CloudTrail's documentation: grouped by the identity's
// type, account and user name (or ARN), result from responseElements,
// MFA from additionalEventData.MFAUsed.
func independent(t *testing.T, file string) (map[string]counts, counts) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	groups := map[string]counts{}
	var total counts
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct {
			EventName    string
			UserIdentity struct {
				Type, AccountID, UserName, ARN string
				SessionContext                 struct {
					Attributes struct{ MFAAuthenticated string }
				}
			}
			RecipientAccountID  string
			ErrorCode           string
			ResponseElements    map[string]any
			AdditionalEventData map[string]any
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.EventName != "ConsoleLogin" && e.EventName != "SwitchRole" {
			continue
		}
		acct := e.RecipientAccountID
		if acct == "" {
			acct = e.UserIdentity.AccountID
		}
		who := e.UserIdentity.UserName
		switch {
		case e.UserIdentity.Type == "Root":
			who = "root" // one root user per account
		case e.UserIdentity.Type != "IAMUser" && e.UserIdentity.Type != "IdentityCenterUser" || who == "":
			who = e.UserIdentity.ARN
		}
		key := e.UserIdentity.Type + "|" + acct + "|" + who
		c := groups[key]
		c.SignIns++
		switch r, _ := e.ResponseElements[e.EventName].(string); {
		case r == "Success":
			c.Success++
		case r == "Failure" || r == "" && e.ErrorCode != "":
			c.Failure++
		}
		// Sign-in events say MFAUsed; a session's sign-in says
		// mfaAuthenticated in its session context.
		v, ok := e.AdditionalEventData["MFAUsed"]
		if !ok && e.UserIdentity.SessionContext.Attributes.MFAAuthenticated != "" {
			v = e.UserIdentity.SessionContext.Attributes.MFAAuthenticated
		}
		switch strings.ToLower(fmt.Sprint(v)) {
		case "true", "yes":
			c.MFA++
		case "false", "no":
			c.NoMFA++
		}
		groups[key] = c
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, c := range groups {
		total.SignIns += c.SignIns
		total.Success += c.Success
		total.Failure += c.Failure
		total.MFA += c.MFA
		total.NoMFA += c.NoMFA
	}
	return groups, total
}

func sortedCounts(m map[string]counts) []counts {
	var out []counts
	for _, c := range m {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b counts) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return out
}

// TestCountsMatchIndependentCount: the report's totals and per-principal
// counts equal those computed independently from the same events. The
// principals are compared as the multiset of their count vectors, so the
// test needs no principal naming of its own.
func TestCountsMatchIndependentCount(t *testing.T) {
	r := build(t, Options{}, fixture)
	groups, total := independent(t, fixture)
	got := counts{r.Totals.SignIns, r.Totals.Success, r.Totals.Failure, r.Totals.MFA, r.Totals.NoMFA}
	if got != total {
		t.Errorf("totals %+v, want %+v", got, total)
	}
	var have []counts
	for _, p := range r.Principals {
		have = append(have, counts{p.SignIns, p.Success, p.Failure, p.MFA, p.NoMFA})
	}
	slices.SortFunc(have, func(a, b counts) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	if want := sortedCounts(groups); !slices.Equal(have, want) {
		t.Errorf("per principal\n%v\nwant\n%v", have, want)
	}
	if len(r.SignIns) != total.SignIns || !slices.IsSortedFunc(r.SignIns, func(a, b SignIn) int { return a.Time.Compare(b.Time) }) {
		t.Errorf("%d sign-ins listed, in time order: want %d", len(r.SignIns), total.SignIns)
	}
}

// TestFormatsAgree: the CSV lists every sign-in, the JSON carries the same
// totals, and the table has a row per principal.
func TestFormatsAgree(t *testing.T) {
	r := build(t, Options{Location: time.FixedZone("JST", 9*3600)}, fixture)
	var b bytes.Buffer
	if err := r.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != r.Totals.SignIns+1 || !slices.Equal(rows[0], CSVHeader) {
		t.Fatalf("%d CSV rows, header %q", len(rows), rows[0])
	}
	if last := rows[len(rows)-1][0]; !strings.HasSuffix(last, "+09:00") {
		t.Errorf("CSV time %q is not in the report's zone", last)
	}
	b.Reset()
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var j struct {
		Totals     struct{ SignIns, Success, Failure int } `json:"totals"`
		SignIns    []json.RawMessage                       `json:"sign_ins"`
		Principals []json.RawMessage                       `json:"principals"`
	}
	if err := json.Unmarshal(b.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	if len(j.SignIns) != r.Totals.SignIns || len(j.Principals) != len(r.Principals) {
		t.Errorf("JSON has %d sign-ins and %d principals", len(j.SignIns), len(j.Principals))
	}
	b.Reset()
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(b.String(), "\n"); lines != len(r.Principals)+3 {
		t.Errorf("table has %d lines for %d principals:\n%s", lines, len(r.Principals), b.String())
	}
}

// hostile is a sign-in whose every free-text field is an attack.
const hostile = `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","accountId":"111122223333","arn":"arn:aws:iam::111122223333:user/x","userName":"<script>alert(1)</script>\u001b[31m"},"eventTime":"2024-05-01T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"\"><img src=x onerror=alert(2)>","errorMessage":"=HYPERLINK(\"http://evil.example\")","responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No"},"eventID":"</td><svg onload=alert(3)>","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}`

// TestHostileValuesAreEscaped: the page, the CSV and the table carry
// attacker-chosen text as text.
func TestHostileValuesAreEscaped(t *testing.T) {
	l := NewLogins(Options{})
	if !l.Add(event.MustParse(hostile)) {
		t.Fatal("not counted as a sign-in")
	}
	r := l.Result()
	for _, locale := range Locales {
		var b bytes.Buffer
		if err := r.WriteHTML(&b, locale); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		for _, bad := range []string{"<script>alert", "<img src=x", "<svg onload", "\x1b"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s page contains %q", locale, bad)
			}
		}
		if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s page lacks the escaped user name", locale)
		}
		if strings.Count(page, "<script>") != 1 {
			t.Errorf("%s page has %d scripts, want only its own", locale, strings.Count(page, "<script>"))
		}
	}
	var b bytes.Buffer
	if err := r.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, _ := csv.NewReader(&b).ReadAll()
	if got := rows[1][13]; got != `'=HYPERLINK("http://evil.example")` {
		t.Errorf("CSV error cell %q: a formula must not run", got)
	}
	b.Reset()
	r.WriteTable(&b)
	if strings.Contains(b.String(), "\x1b") {
		t.Error("table carries an escape sequence")
	}
}

// TestLocalesComplete: every word has both languages, and the Japanese
// page shows none of the English ones.
func TestLocalesComplete(t *testing.T) {
	en, ja := words["en"], words["ja"]
	for k := range en {
		if _, ok := ja[k]; !ok {
			t.Errorf("ja lacks %q", k)
		}
	}
	for k := range ja {
		if _, ok := en[k]; !ok {
			t.Errorf("en lacks %q", k)
		}
	}
	r := build(t, Options{}, fixture)
	var b bytes.Buffer
	if err := r.WriteHTML(&b, "ja"); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for k, v := range en {
		if k == "lang" || !strings.ContainsAny(v, " ") && len(v) < 4 {
			continue // codes and acronyms (MFA)
		}
		if v == ja[k] {
			continue
		}
		if strings.Contains(page, ">"+v+"<") || strings.Contains(page, v+" ") && len(v) > 12 {
			t.Errorf("the Japanese page shows the English %q (%s)", v, k)
		}
	}
	if !strings.Contains(page, `<html lang="ja">`) || !strings.Contains(page, "コンソールへのサインイン") {
		t.Error("the page is not in Japanese")
	}
	if err := r.WriteHTML(&b, "fr"); err == nil || err.Error() != `report: unknown locale "fr" (want en or ja)` {
		t.Errorf("locale fr: %v", err)
	}
}

// TestBounds: past MaxRows sign-ins are counted but not listed; past
// maxKeys principals fold into Other.
func TestBounds(t *testing.T) {
	l := NewLogins(Options{MaxRows: 10})
	for i := range maxKeys + 5 {
		ev := event.MustParse(fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","accountId":"111122223333","userName":"u%d"},"eventTime":"2024-05-01T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","sourceIPAddress":"10.%d.%d.1","responseElements":{"ConsoleLogin":"Success"},"eventID":"e%d"}`, i, i/256%256, i%256, i))
		l.Add(ev)
	}
	r := l.Result()
	if len(r.SignIns) != 10 || r.Omitted != maxKeys+5-10 || r.Totals.SignIns != maxKeys+5 {
		t.Errorf("listed %d, omitted %d, counted %d", len(r.SignIns), r.Omitted, r.Totals.SignIns)
	}
	if len(r.Principals) != maxKeys+1 {
		t.Fatalf("%d principals, want %d and one Other", len(r.Principals), maxKeys)
	}
	var other *PrincipalStats
	for i := range r.Principals {
		if r.Principals[i].Principal == Other {
			other = &r.Principals[i]
		}
	}
	if other == nil || other.SignIns != 5 {
		t.Errorf("Other: %+v", other)
	}
}

func TestBuckets(t *testing.T) {
	for _, tc := range []struct {
		days []string
		unit string
		n    int
	}{
		{[]string{"2024-05-01", "2024-05-03"}, "per_day", 3},
		{[]string{"2024-01-01", "2024-05-01"}, "per_week", 18},
		{[]string{"2014-07-08", "2023-07-10"}, "per_month", 109},
	} {
		r := &Result{Location: time.UTC}
		for _, d := range tc.days {
			r.Days = append(r.Days, DayStats{Day: d, Success: 1})
		}
		bs, unit := r.buckets()
		total := 0
		for _, b := range bs {
			total += b.success
		}
		if unit != tc.unit || len(bs) != tc.n || total != len(tc.days) {
			t.Errorf("%v: %s with %d buckets holding %d, want %s with %d", tc.days, unit, len(bs), total, tc.unit, tc.n)
		}
	}
}

func TestNiceMax(t *testing.T) {
	for n, want := range map[int]int{0: 1, 1: 1, 2: 2, 3: 5, 7: 10, 11: 20, 57: 100, 101: 200} {
		if got := niceMax(n); got != want {
			t.Errorf("niceMax(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestSwitchRoleAndIdentityCenter: role switches count, with their result,
// and an Identity Center sign-in's boolean MFAUsed reads as MFA.
func TestSwitchRoleAndIdentityCenter(t *testing.T) {
	l := NewLogins(Options{})
	switchRole := `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:anaya","arn":"arn:aws:sts::111122223333:assumed-role/Admin/anaya","accountId":"111122223333"},"eventTime":"2024-05-01T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"SwitchRole","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1","responseElements":{"SwitchRole":"Success"},"additionalEventData":{"SwitchFrom":"arn:aws:iam::111122223333:user/anaya","SwitchTo":"arn:aws:iam::111122223333:role/Admin"},"eventID":"sr1","eventType":"AwsConsoleSignIn"}`
	for _, s := range []string{switchRole} {
		if !l.Add(event.MustParse(s)) {
			t.Fatal("SwitchRole not counted")
		}
	}
	if l.Add(event.MustParse(`{"eventName":"ConsoleLogin","eventSource":"iam.amazonaws.com","userIdentity":{"type":"Root"}}`)) {
		t.Error("a ConsoleLogin from another source counted")
	}
	r := l.Result()
	if r.Totals.Success != 1 || r.SignIns[0].Event != "SwitchRole" || r.SignIns[0].Principal != "Admin/anaya" {
		t.Errorf("%+v", r.SignIns)
	}
	full := build(t, Options{}, fixture)
	for _, s := range full.SignIns {
		if s.PrincipalType == "IdentityCenterUser" && s.MFA != Yes {
			t.Errorf("Identity Center sign-in MFA %q, want Yes", s.MFA)
		}
	}
}
