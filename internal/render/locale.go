package render

import (
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
)

// Words holds one locale's fixed text: severity names, fact labels and
// phrases. Templates see it as .Words.
type Words struct {
	// Locale is "en" or "ja".
	Locale string
	// Severity names, indexed by event.Severity.
	Severity [5]string

	// Fact labels.
	Event, Account, Time, Region, Principal, SourceIP, MFA, LoginResult,
	Error, UserAgent, Request, Rule, Summary, Annotation, Details string

	MFAUsed, MFANotUsed, MFAUnknown string
	LoginSuccess, LoginFailure      string
	Unknown                         string
	OpenConsole                     string
	OtherAlerts                     string
	Repeat                          string
	// AlsoMatched labels the other rules folded into an alert's message.
	AlsoMatched string
	// Truncated ends a value cut to fit a receiver's limits; never longer,
	// in runes or bytes, than TruncMarker, which it replaces.
	Truncated string

	// Fact labels of an alert about a GuardDuty or Security Hub finding.
	// The finding's own title, description and remediation are shown as
	// the product wrote them, under labels that say so.
	FindingTitle, FindingType, ProductSeverity, Product, Control, Compliance,
	Resource, Count, FirstSeen, LastSeen, Updated, Workflow,
	FindingDescription, Remediation string
	// OpenGuardDuty and OpenSecurityHub label the link to a finding.
	OpenGuardDuty, OpenSecurityHub string

	// ContextLabels label the facts detectors add to an alert's context,
	// keyed by the context key ("previous_location"); a key not listed is
	// shown as it is.
	ContextLabels map[string]string

	// Formats taking a count; moreResourcesFmt follows a finding's first
	// resource.
	alertsFmt, moreFmt, moreResourcesFmt string
	// Title formats: severity name, then title.
	titleFmt string
	// TimeLayout formats times (Go layout).
	TimeLayout string
}

// english returns the English words.
func english() Words {
	return Words{
		Locale:       "en",
		Severity:     [5]string{"INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"},
		Event:        "Event",
		Account:      "AWS account",
		Time:         "Time",
		Region:       "Region",
		Principal:    "Principal",
		SourceIP:     "Source IP",
		MFA:          "MFA",
		LoginResult:  "Login result",
		Error:        "Error",
		UserAgent:    "User agent",
		Request:      "Request parameters",
		Rule:         "Rule",
		Summary:      "Summary",
		Annotation:   "Annotation",
		Details:      "Details",
		MFAUsed:      "used",
		MFANotUsed:   "not used",
		MFAUnknown:   "unknown",
		LoginSuccess: "success",
		LoginFailure: "failure",
		Unknown:      "unknown",
		OpenConsole:  "Open in CloudTrail console",
		OtherAlerts:  "Alerts in this group",
		Repeat:       "still firing",
		AlsoMatched:  "Also matched",
		Truncated:    TruncMarker,

		FindingTitle:       "Finding (original text)",
		FindingType:        "Finding type",
		ProductSeverity:    "Severity given",
		Product:            "Product",
		Control:            "Control",
		Compliance:         "Compliance",
		Resource:           "Resource",
		Count:              "Times seen",
		FirstSeen:          "First seen",
		LastSeen:           "Last seen",
		Updated:            "Updated",
		Workflow:           "Workflow",
		FindingDescription: "Description (original text)",
		Remediation:        "Remediation (original text)",
		OpenGuardDuty:      "Open in GuardDuty console",
		OpenSecurityHub:    "Open in Security Hub console",
		moreResourcesFmt:   "and %d more resources",
		ContextLabels: map[string]string{
			"location":          "Location",
			"previous_location": "Previous location",
			"previous_ip":       "Previous source IP",
			"previous_time":     "Previous sign-in",
			"distance_km":       "Distance (km)",
			"speed_kmh":         "Speed (km/h)",
			"source_ip":         "Source IP",
			"network":           "Network",
			"country":           "Country",
			"asn":               "AS number",
			"as_org":            "AS organisation",
			"user-agent":        "User agent",
			"attribute":         "First seen",
			"first_seen":        "First seen",
			"trusted_networks":  "Trusted networks",
			"region":            "Region",
			"expected_regions":  "Expected regions",
			"threshold":         "Threshold",
			"window":            "Window",
			"window_start":      "Window start",
		},
		alertsFmt:  "%d alerts",
		moreFmt:    "and %d more",
		titleFmt:   "[%s] %s",
		TimeLayout: "2006-01-02 15:04:05 MST",
	}
}

// japanese returns the Japanese words.
func japanese() Words {
	return Words{
		Locale:       "ja",
		Severity:     [5]string{"情報", "低", "中", "高", "重大"},
		Event:        "イベント名",
		Account:      "AWSアカウント",
		Time:         "発生時刻",
		Region:       "リージョン",
		Principal:    "実行ユーザー",
		SourceIP:     "送信元IP",
		MFA:          "MFA",
		LoginResult:  "ログイン結果",
		Error:        "エラー",
		UserAgent:    "ユーザーエージェント",
		Request:      "リクエストパラメータ",
		Rule:         "ルール",
		Summary:      "概要",
		Annotation:   "補足",
		Details:      "詳細",
		MFAUsed:      "使用",
		MFANotUsed:   "未使用",
		MFAUnknown:   "不明",
		LoginSuccess: "成功",
		LoginFailure: "失敗",
		Unknown:      "不明",
		OpenConsole:  "CloudTrail コンソールで開く",
		OtherAlerts:  "このグループのアラート",
		Repeat:       "継続中",
		AlsoMatched:  "他に該当したルール",
		Truncated:    "…(省略)",

		FindingTitle:       "検出結果 (原文)",
		FindingType:        "検出タイプ",
		ProductSeverity:    "製品の重要度",
		Product:            "製品",
		Control:            "コントロール",
		Compliance:         "準拠状況",
		Resource:           "リソース",
		Count:              "検知回数",
		FirstSeen:          "初回検知",
		LastSeen:           "最終検知",
		Updated:            "更新時刻",
		Workflow:           "ワークフロー",
		FindingDescription: "説明 (原文)",
		Remediation:        "対処方法 (原文)",
		OpenGuardDuty:      "GuardDuty コンソールで開く",
		OpenSecurityHub:    "Security Hub コンソールで開く",
		moreResourcesFmt:   "他 %d 件",
		ContextLabels: map[string]string{
			"location":          "場所",
			"previous_location": "前回の場所",
			"previous_ip":       "前回の送信元IP",
			"previous_time":     "前回のサインイン",
			"distance_km":       "距離 (km)",
			"speed_kmh":         "速度 (km/h)",
			"source_ip":         "送信元IP",
			"network":           "ネットワーク",
			"country":           "国",
			"asn":               "AS番号",
			"as_org":            "AS組織",
			"user-agent":        "ユーザーエージェント",
			"attribute":         "初めて見た項目",
			"first_seen":        "初回検知",
			"trusted_networks":  "信頼済みネットワーク",
			"region":            "リージョン",
			"expected_regions":  "想定リージョン",
			"threshold":         "しきい値",
			"window":            "集計期間",
			"window_start":      "集計開始",
		},
		alertsFmt:  "%d件",
		moreFmt:    "他 %d 件",
		titleFmt:   "【%s】%s",
		TimeLayout: "2006-01-02 15:04:05 MST",
	}
}

func (w *Words) severity(s event.Severity) string {
	if s < 0 || int(s) >= len(w.Severity) {
		return s.String()
	}
	return w.Severity[s]
}

func (w *Words) alerts(n int) string { return fmt.Sprintf(w.alertsFmt, n) }

// contextLabel returns the label of a detector's context key.
func (w *Words) contextLabel(key string) string {
	if l, ok := w.ContextLabels[key]; ok {
		return l
	}
	return key
}

// contextValue returns the text of a detector's context value: the value
// itself, except for "attribute", whose value names another key (network,
// country, asn, user-agent) and reads as that key's label.
func (w *Words) contextValue(key, val string) string {
	if key == "attribute" {
		if l, ok := w.ContextLabels[val]; ok {
			return l
		}
	}
	return val
}

func (w *Words) more(n int) string { return fmt.Sprintf(w.moreFmt, n) }

func (w *Words) moreResources(n int) string { return fmt.Sprintf(w.moreResourcesFmt, n) }

func (w *Words) title(sev, title string) string { return fmt.Sprintf(w.titleFmt, sev, title) }
