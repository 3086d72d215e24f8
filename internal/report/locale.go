package report

import (
	"fmt"
	"slices"
)

// Locales are the languages of the HTML page.
var Locales = []string{"en", "ja"}

// words holds every word the HTML page shows, by locale. Values from the
// events (names, addresses, user agents) are shown as they are.
var words = map[string]map[string]string{
	"en": {
		"lang":               "en",
		"title":              "Console sign-ins",
		"period":             "From %s to %s. Times in %s.",
		"empty":              "No console sign-ins in these events.",
		"footer":             "Made by trailwatch from CloudTrail events. This page loads nothing from the network.",
		"card_signins":       "Sign-ins",
		"card_success":       "Succeeded",
		"card_failure":       "Failed",
		"card_principal":     "Principals",
		"card_networks":      "Networks",
		"card_mfa":           "Successful sign-ins with MFA",
		"per_day":            "Sign-ins per day",
		"per_week":           "Sign-ins per week (weeks start on Monday)",
		"per_month":          "Sign-ins per month",
		"per_principal":      "Sign-ins per principal",
		"top_principals":     "The %d principals with the most sign-ins",
		"mfa_share":          "MFA on successful sign-ins",
		"failures":           "Failed sign-ins by source address",
		"no_failures":        "No failed sign-ins.",
		"top_failures":       "The %d addresses with the most failures",
		"new_networks":       "Networks seen for the first time",
		"new_networks_y":     "networks seen so far",
		"principals":         "Principals",
		"signins":            "Every sign-in",
		"sort_hint":          "Select a column heading to sort by it; select it again to reverse.",
		"shown":              "The first %d of %d sign-ins are listed; the CSV output lists them all.",
		"omitted":            "%d more sign-ins are counted above but not listed.",
		"col_time":           "Time",
		"col_event":          "Event",
		"col_result":         "Result",
		"col_principal":      "Principal",
		"col_type":           "Type",
		"col_account":        "Account",
		"col_ip":             "Source IP",
		"col_country":        "Country",
		"col_network":        "Network",
		"col_asorg":          "Network owner",
		"col_agent":          "Client (user agent)",
		"col_mfa":            "MFA",
		"col_error":          "Error",
		"col_region":         "Region",
		"col_signins":        "Sign-ins",
		"col_success":        "Succeeded",
		"col_failure":        "Failed",
		"col_mfa_yes":        "With MFA",
		"col_mfa_no":         "Without MFA",
		"col_sources":        "Source IPs",
		"col_first":          "First",
		"col_last":           "Last",
		"col_failures":       "Failures",
		"col_first_seen":     "First seen",
		"col_first_by":       "First used by",
		"Success":            "Succeeded",
		"Failure":            "Failed",
		"Unknown":            "Unknown",
		"Yes":                "Yes",
		"No":                 "No",
		"mfa_unknown":        "Not recorded",
		"ConsoleLogin":       "Console sign-in",
		"SwitchRole":         "Role switch",
		"Root":               "Root user",
		"IAMUser":            "IAM user",
		"AssumedRole":        "Assumed role",
		"Role":               "Role",
		"FederatedUser":      "Federated user",
		"IdentityCenterUser": "IAM Identity Center user",
		"SAMLUser":           "SAML user",
		"WebIdentityUser":    "Web identity user",
		"Directory":          "Directory user",
		"AWSAccount":         "AWS account",
		"AWSService":         "AWS service",
		"Anonymous":          "Anonymous",
		"other":              "Everything else",
		"of":                 "%d of %d",
	},
	"ja": {
		"lang":               "ja",
		"title":              "コンソールへのサインイン",
		"period":             "期間: %s から %s まで（時刻は %s）",
		"empty":              "これらのイベントにはコンソールへのサインインがありません。",
		"footer":             "trailwatch が CloudTrail のイベントから作成しました。このページはネットワークから何も読み込みません。",
		"card_signins":       "サインイン",
		"card_success":       "成功",
		"card_failure":       "失敗",
		"card_principal":     "プリンシパル",
		"card_networks":      "ネットワーク",
		"card_mfa":           "多要素認証を使った成功サインイン",
		"per_day":            "日別のサインイン",
		"per_week":           "週別のサインイン（週は月曜日から）",
		"per_month":          "月別のサインイン",
		"per_principal":      "プリンシパル別のサインイン",
		"top_principals":     "サインインの多いプリンシパル上位 %d 件",
		"mfa_share":          "成功したサインインの多要素認証",
		"failures":           "送信元アドレス別の失敗したサインイン",
		"no_failures":        "失敗したサインインはありません。",
		"top_failures":       "失敗の多いアドレス上位 %d 件",
		"new_networks":       "初めて見たネットワーク",
		"new_networks_y":     "これまでに見たネットワーク数",
		"principals":         "プリンシパル",
		"signins":            "すべてのサインイン",
		"sort_hint":          "列の見出しを選ぶとその列で並べ替え、もう一度選ぶと逆順になります。",
		"shown":              "全 %[2]d 件のうち最初の %[1]d 件を表示しています。CSV 出力にはすべて含まれます。",
		"omitted":            "ほかに %d 件のサインインは集計には含まれますが、一覧には表示されません。",
		"col_time":           "日時",
		"col_event":          "イベント",
		"col_result":         "結果",
		"col_principal":      "プリンシパル",
		"col_type":           "種類",
		"col_account":        "アカウント",
		"col_ip":             "送信元 IP アドレス",
		"col_country":        "国",
		"col_network":        "ネットワーク",
		"col_asorg":          "ネットワークの所有者",
		"col_agent":          "クライアント（ユーザーエージェント）",
		"col_mfa":            "多要素認証",
		"col_error":          "エラー",
		"col_region":         "リージョン",
		"col_signins":        "サインイン",
		"col_success":        "成功",
		"col_failure":        "失敗",
		"col_mfa_yes":        "多要素認証あり",
		"col_mfa_no":         "多要素認証なし",
		"col_sources":        "送信元 IP アドレス数",
		"col_first":          "最初",
		"col_last":           "最後",
		"col_failures":       "失敗",
		"col_first_seen":     "初めて見た日時",
		"col_first_by":       "最初に使ったプリンシパル",
		"Success":            "成功",
		"Failure":            "失敗",
		"Unknown":            "不明",
		"Yes":                "あり",
		"No":                 "なし",
		"mfa_unknown":        "記録なし",
		"ConsoleLogin":       "コンソールへのサインイン",
		"SwitchRole":         "ロールの切り替え",
		"Root":               "ルートユーザー",
		"IAMUser":            "IAM ユーザー",
		"AssumedRole":        "引き受けたロール",
		"Role":               "ロール",
		"FederatedUser":      "フェデレーションユーザー",
		"IdentityCenterUser": "IAM Identity Center ユーザー",
		"SAMLUser":           "SAML ユーザー",
		"WebIdentityUser":    "ウェブ ID ユーザー",
		"Directory":          "ディレクトリユーザー",
		"AWSAccount":         "AWS アカウント",
		"AWSService":         "AWS のサービス",
		"Anonymous":          "匿名",
		"other":              "その他",
		"of":                 "%[2]d 件中 %[1]d 件",
	},
}

// checkLocale returns an error naming the locales there are.
func checkLocale(l string) error {
	if !slices.Contains(Locales, l) {
		return fmt.Errorf("report: unknown locale %q (want en or ja)", l)
	}
	return nil
}

// dict returns the words of a locale; a word it lacks falls back to the
// key itself, which the tests forbid.
type dict map[string]string

func (d dict) get(key string) string {
	if v, ok := d[key]; ok {
		return v
	}
	return key
}

// term translates a value from the events that has a name in the
// dictionary (a result, a principal type, an event name), or returns it
// unchanged.
func (d dict) term(v string) string {
	if t, ok := d[v]; ok && v != "" {
		return t
	}
	return v
}
