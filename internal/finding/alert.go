package finding

import (
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

// newAlert makes the alert for a finding: the rule of its source, titled
// with the finding's own title, and a summary in English and Japanese.
func newAlert(it Item) *event.Alert {
	f := it.Finding
	return &event.Alert{
		Rule:      ruleInfo(f),
		Event:     it.Record,
		Finding:   f,
		Summary:   summaryEN(f),
		Summaries: map[string]string{"ja": summaryJA(f)},
	}
}

// source names a finding's service in messages.
func source(f *event.Finding) string {
	if f.Source == event.KindGuardDuty {
		return "GuardDuty"
	}
	return "Security Hub"
}

// ruleInfo describes the rule a finding alert is raised as. Its title is
// the service's name and the finding's title as the service wrote it, in
// every language: the finding's words are not translated, and the prefix
// says whose they are.
func ruleInfo(f *event.Finding) event.RuleInfo {
	title := first(f.Title, f.Type, f.ID)
	if f.Sample && !strings.HasPrefix(title, "[SAMPLE]") {
		title = "[SAMPLE] " + title
	}
	r := event.RuleInfo{Severity: f.Severity}
	switch f.Source {
	case event.KindGuardDuty:
		r.ID = RuleGuardDuty
		r.Title = "GuardDuty finding: " + title
		r.Description = "Amazon GuardDuty raised this finding. Its title and description are GuardDuty's own; " +
			"open it in the GuardDuty console for the evidence, and see GuardDuty's page for its finding type for what to do."
		r.Refs = []string{"https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-active.html"}
		r.Locales = map[string]event.LocalText{"ja": {
			Title: "GuardDuty の検出結果: " + title,
			Description: "Amazon GuardDuty が検出した結果です。タイトルと説明は GuardDuty の原文のままです。" +
				"根拠は GuardDuty コンソールで、対処は検出タイプごとの GuardDuty のドキュメントで確認してください。",
		}}
	default:
		r.ID = RuleSecurityHub
		r.Title = "Security Hub finding: " + title
		r.Description = "AWS Security Hub imported this finding from " + first(f.Product, "a product") + ". " +
			"Its title and description are the product's own; open it in the Security Hub console for the details and the remediation."
		r.Refs = []string{"https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-findings-format.html"}
		r.Locales = map[string]event.LocalText{"ja": {
			Title: "Security Hub の検出結果: " + title,
			Description: "AWS Security Hub が " + first(f.Product, "製品") + " から取り込んだ検出結果です。" +
				"タイトルと説明は製品の原文のままです。詳細と対処は Security Hub コンソールで確認してください。",
		}}
	}
	return r
}

// what names what a finding says happened: the failed check for a
// compliance finding, else its type.
func what(f *event.Finding) string {
	if f.Control != "" && f.Compliance != "" {
		return f.Control
	}
	return first(f.Type, f.Title, f.ID)
}

// resourceText names the finding's resource: "AccessKey alice".
func resourceText(f *event.Finding) string {
	return strings.TrimSpace(f.ResourceType + " " + f.ResourceID)
}

// summaryEN is the one-line English summary: "GuardDuty reports
// Recon:IAMUser/MaliciousIPCaller.Custom on AccessKey alice, seen 3 times".
func summaryEN(f *event.Finding) string {
	var b strings.Builder
	b.WriteString(first(f.Product, source(f)))
	if f.Control != "" && f.Compliance != "" {
		b.WriteString(" check " + f.Control + " " + f.Compliance)
	} else {
		b.WriteString(" reports " + what(f))
	}
	if r := resourceText(f); r != "" {
		b.WriteString(" on " + r)
	}
	if f.MoreResources > 0 {
		fmt.Fprintf(&b, " and %d more %s", f.MoreResources, plural(f.MoreResources, "resource", "resources"))
	}
	if f.Count > 0 {
		fmt.Fprintf(&b, ", seen %d %s", f.Count, plural(f.Count, "time", "times"))
	}
	return b.String()
}

// summaryJA is the Japanese summary: "GuardDuty が AccessKey alice について
// Recon:IAMUser/MaliciousIPCaller.Custom を報告しました (3 回検知)".
func summaryJA(f *event.Finding) string {
	var b strings.Builder
	b.WriteString(first(f.Product, source(f)))
	if f.Control != "" && f.Compliance != "" {
		b.WriteString(" のチェック " + f.Control + " が")
		if r := resourceText(f); r != "" {
			b.WriteString(" " + r + " で")
		}
		b.WriteString(" " + f.Compliance + " になりました")
	} else {
		b.WriteString(" が")
		if r := resourceText(f); r != "" {
			b.WriteString(" " + r + " について")
		}
		b.WriteString(" " + what(f) + " を報告しました")
	}
	if f.MoreResources > 0 {
		fmt.Fprintf(&b, " (他 %d 件のリソース)", f.MoreResources)
	}
	if f.Count > 0 {
		fmt.Fprintf(&b, " (%d 回検知)", f.Count)
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
