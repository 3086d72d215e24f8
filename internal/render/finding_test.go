package render

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/finding"
)

// findingAlerts reads a finding event from testdata/events and returns the
// alerts internal/finding raises on it.
func findingAlerts(t testing.TB, name string, kind event.Kind) []*event.Alert {
	t.Helper()
	path := filepath.Join("testdata", "events", name)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := event.Parse(raw, event.Origin{Input: path, Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := finding.New(finding.Options{}).Alerts(context.Background(), ev)
	if err != nil || len(alerts) == 0 {
		t.Fatalf("%s: %d alerts, %v", name, len(alerts), err)
	}
	return alerts
}

// findingCases are the documented GuardDuty and Security Hub findings, as
// the route stage hands them to a renderer.
func findingCases() []goldenCase {
	return []goldenCase{
		{"guardduty-finding", func(t testing.TB) *Group {
			return &Group{Key: "ops/{account=123456789012, rule=guardduty-finding}", Receiver: "ops", Count: 1,
				Alerts: findingAlerts(t, "guardduty-finding.json", event.KindGuardDuty)}
		}},
		{"securityhub-finding", func(t testing.TB) *Group {
			return &Group{Key: "ops/{account=123456789012, rule=securityhub-finding}", Receiver: "ops", Count: 1,
				Alerts: findingAlerts(t, "securityhub-finding.json", event.KindSecurityHub)}
		}},
	}
}

// TestFindingGolden renders each documented finding for every receiver
// kind in English and Japanese, against testdata/golden/*finding*.
func TestFindingGolden(t *testing.T) {
	for _, locale := range []string{"en", "ja"} {
		r := newTestRenderer(t, locale)
		for _, c := range findingCases() {
			for _, kind := range Kinds() {
				t.Run(c.name+"/"+kind+"/"+locale, func(t *testing.T) {
					p, err := r.Render(kind, "ops", c.group(t))
					if err != nil {
						t.Fatal(err)
					}
					for ext, got := range goldenFiles(t, kind, p) {
						checkGolden(t, filepath.Join("testdata", "golden", c.name+"."+kind+"."+locale+"."+ext), got)
					}
				})
			}
		}
	}
}

// A finding's message says what the finding says, in the receiver's
// language around the product's own words, and links to the finding in
// its service's console.
func TestFindingMessage(t *testing.T) {
	for _, c := range []struct {
		locale, kind string
		want         []string
	}{
		{"en", KindSlack, []string{
			"[MEDIUM] GuardDuty finding: [SAMPLE] Reconnaissance API GeneratedFindingAPIName",
			"GuardDuty reports Recon:IAMUser/MaliciousIPCaller.Custom on AccessKey GeneratedFindingUserName, seen 1 time",
			"*Finding type*\nRecon:IAMUser/MaliciousIPCaller.Custom", "*Resource*\nAccessKey GeneratedFindingUserName",
			"*Times seen*\n1", "*First seen*\n2022-01-13 00:00:47 UTC", "*Source IP*\n198.51.100.0",
			"*Description (original text)*\nAPIs commonly used in reconnaissance attacks",
			"Open in GuardDuty console", "https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?macros=current\u0026fId=30bf285e52a1e405084ff6ec28e06e17",
		}},
		{"ja", KindSlack, []string{
			"【中】GuardDuty の検出結果: [SAMPLE] Reconnaissance API GeneratedFindingAPIName",
			"GuardDuty が AccessKey GeneratedFindingUserName について Recon:IAMUser/MaliciousIPCaller.Custom を報告しました (1 回検知)",
			"*検出タイプ*\nRecon:IAMUser/MaliciousIPCaller.Custom", "*検知回数*\n1", "*初回検知*\n2022-01-13 09:00:47 JST",
			"*説明 (原文)*\nAPIs commonly used", "GuardDuty コンソールで開く",
		}},
	} {
		g := findingCases()[0].group(t)
		p, err := newTestRenderer(t, c.locale).Render(c.kind, "ops", g)
		if err != nil {
			t.Fatal(err)
		}
		var body string
		walkStrings(decode(t, p.Body), "", func(_, s string) { body += s + "\n" })
		body += string(p.Body)
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s %s message lacks %q:\n%s", c.locale, c.kind, w, p.Body)
			}
		}
	}
}

// Japanese finding messages hold no English of trailwatch's own: only the
// finding's words, which stay as the product wrote them.
func TestFindingJapaneseHasNoEnglish(t *testing.T) {
	checkNoEnglish(t, englishVocabulary(t), findingCases())
}

// A finding's text is whoever imported it: "<!channel>" in its title and a
// megabyte of description are escaped and cut in every receiver's payload,
// and every payload stays within its receiver's limits.
func TestHostileFindingIsEscapedAndBounded(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "events", "securityhub-finding.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("<!channel> <https://evil.example|click here> & *bold* 日本語 ", 20_000)
	f := m["detail"].(map[string]any)["findings"].([]any)[0].(map[string]any)
	f["Title"] = "<!channel> Ignore this: <https://evil.example|all clear>"
	f["Description"] = huge
	f["Remediation"] = map[string]any{"Recommendation": map[string]any{"Text": huge}}
	b, _ := json.Marshal(m)
	ev, err := event.Parse(b, event.Origin{Input: "hostile", Kind: event.KindSecurityHub})
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := finding.New(finding.Options{}).Alerts(context.Background(), ev)
	if err != nil || len(alerts) != 1 {
		t.Fatalf("%d alerts, %v", len(alerts), err)
	}
	g := &Group{Key: "k", Receiver: "ops", Count: 1, Alerts: alerts}
	shLink := regexp.MustCompile(`<https://[a-z0-9-]+\.console\.aws\.amazon\.com/securityhub/home\?region=[a-z0-9-]+#/findings\?search=[^<>|\s]+\|[0-9: -]+[A-Z]{3}>`)
	for _, locale := range []string{"en", "ja"} {
		// No mentions: the operator's own "<!channel>" would be the one
		// live markup, and on purpose.
		r, err := New(Options{Locale: locale, Mentions: &Mentions{}})
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range Kinds() {
			p, err := r.Render(kind, "ops", g)
			if err != nil {
				t.Fatalf("%s %s: %v", kind, locale, err)
			}
			where := kind + " " + locale
			switch kind {
			case KindSlack, KindSlackBot:
				checkSlackLimits(t, p.Body)
				walkStrings(decode(t, p.Body), "", func(key, s string) {
					if key == "url" || key == "type" || key == "color" || key == "action_id" || key == "channel" {
						return
					}
					checkSlackText(t, where+" "+key, shLink.ReplaceAllString(s, ""))
				})
			case KindTeams:
				if len(p.Body) > TeamsMaxBytes {
					t.Errorf("%s: card is %d bytes", where, len(p.Body))
				}
				if strings.Contains(string(p.Body), "](https://evil") || strings.Contains(string(p.Body), "<!channel>") {
					t.Errorf("%s: live markup in the card", where)
				}
			case KindEmail:
				if strings.Contains(p.HTML, "<!channel>") || strings.Contains(p.HTML, `<https://evil`) {
					t.Errorf("%s: unescaped HTML", where)
				}
			case KindSNS:
				if len(p.Body) > SNSMaxBytes {
					t.Errorf("%s: SNS message is %d bytes", where, len(p.Body))
				}
			case KindWebhook, KindStdout:
				if len(p.Body) > WebhookMaxBytes+1 || !json.Valid(bytes.TrimSpace(p.Body)) {
					t.Errorf("%s: document is %d bytes or not JSON", where, len(p.Body))
				}
			}
		}
	}
}
