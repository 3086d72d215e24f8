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

	// Formats taking a count.
	alertsFmt, moreFmt string
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
		alertsFmt:    "%d alerts",
		moreFmt:      "and %d more",
		titleFmt:     "[%s] %s",
		TimeLayout:   "2006-01-02 15:04:05 MST",
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
		alertsFmt:    "%d件",
		moreFmt:      "他 %d 件",
		titleFmt:     "【%s】%s",
		TimeLayout:   "2006-01-02 15:04:05 MST",
	}
}

func (w *Words) severity(s event.Severity) string {
	if s < 0 || int(s) >= len(w.Severity) {
		return s.String()
	}
	return w.Severity[s]
}

func (w *Words) alerts(n int) string { return fmt.Sprintf(w.alertsFmt, n) }

func (w *Words) more(n int) string { return fmt.Sprintf(w.moreFmt, n) }

func (w *Words) title(sev, title string) string { return fmt.Sprintf(w.titleFmt, sev, title) }
