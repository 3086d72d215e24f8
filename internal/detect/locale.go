package detect

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
)

// Locales lists the locales a detector may carry text in besides English,
// as rules may.
var Locales = []string{"ja"}

// LocalText is a detector's title and description in one locale.
type LocalText struct {
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
}

// note is what trailwatch writes about one detection, in every locale it
// speaks: English, and Japanese with AWS names and values kept as they are.
type note struct{ en, ja string }

// alert builds an alert on a kept copy of the event.
func (b *base) alert(o *obs, n note, ctx map[string]string) *event.Alert {
	a := &event.Alert{Rule: b.rule, Event: o.ev.Clone(), Annotation: n.en, Context: ctx}
	if n.ja != "" {
		a.Annotations = map[string]string{"ja": n.ja}
	}
	return a
}

// kindText is a kind's default title and description, in English and
// Japanese.
type kindText struct {
	title, desc     string
	jaTitle, jaDesc string
}

// defaultText returns the title and description a detector of sp's kind
// carries unless its spec sets its own.
func defaultText(sp *Spec) kindText {
	switch sp.Kind {
	case KindTrustedNetwork:
		return kindText{
			"Sign-in from outside the trusted networks",
			"A console sign-in, or an action of the root user, came from an address outside every trusted network or from an unexpected region. AWS cannot restrict console sign-in by IP: confirm with the person, and if it was not them, reset the password and MFA and review what the session did.",
			"信頼済みネットワークの外からのサインイン",
			"コンソールへのサインイン、またはルートユーザーの操作が、どの信頼済みネットワークにも含まれないアドレス、または想定外のリージョンから行われました。AWS はコンソールのサインインを IP アドレスで制限できません。本人に確認し、本人でなければパスワードと MFA を再設定して、そのセッションの操作を確認してください。",
		}
	case KindFirstSeen:
		what := map[string]string{AttrNetwork: "network", AttrCountry: "country", AttrASN: "network operator (ASN)", AttrUserAgent: "browser or client"}[sp.Attribute]
		jaWhat := jaAttrNoun(sp.Attribute)
		return kindText{
			"Sign-in from a new " + what,
			"A principal signed in from a " + what + " not seen for it during the retention window. Travel, a new ISP or a new laptop explain most of these; a stolen password explains the rest. Confirm with the person.",
			"新しい" + jaWhat + "からのサインイン",
			"プリンシパルが、保持期間中に一度も使っていない" + jaWhat + "からサインインしました。出張、プロバイダーの変更、新しいパソコンがほとんどの理由ですが、残りはパスワードの漏えいです。本人に確認してください。",
		}
	case KindBurst:
		switch sp.What {
		case BurstFailedLogins:
			return kindText{
				"Burst of failed console sign-ins",
				"One principal failed to sign in to the console many times in a short window: password guessing, or a person locked out. Check the source address and whether a success followed.",
				"コンソールへのサインイン失敗の連続",
				"一つのプリンシパルが短時間にコンソールへのサインインに何度も失敗しました。パスワードの推測か、ロックアウトされた利用者です。送信元アドレスと、その後に成功したサインインがないかを確認してください。",
			}
		case BurstSpraying:
			return kindText{
				"Password spraying from one address",
				"One source address failed console sign-ins for many different user names in a short window, the pattern of password spraying. Block the address where you can and check for any success from it.",
				"一つのアドレスからのパスワードスプレー",
				"一つの送信元アドレスから、短時間に多数の異なるユーザー名でコンソールへのサインインが失敗しました。パスワードスプレー攻撃の特徴です。可能ならアドレスを遮断し、そこからの成功したサインインがないか確認してください。",
			}
		case BurstAccessDenied:
			return kindText{
				"Burst of access-denied errors",
				"One principal was denied many API calls in a short window: often stolen credentials being used to discover what they can reach, sometimes a broken deployment. Check the calls and the source address.",
				"アクセス拒否エラーの連続",
				"一つのプリンシパルの API 呼び出しが短時間に何度も拒否されました。盗まれた認証情報で何にアクセスできるかを探っていることが多く、デプロイの不具合のこともあります。呼び出しの内容と送信元アドレスを確認してください。",
			}
		}
	case KindImpossibleTravel:
		return kindText{
			"Impossible travel between sign-ins",
			"Two successful sign-ins of one principal came from places too far apart for the time between them. One of them may be an attacker; VPNs and mobile networks also cause this. Confirm with the person.",
			"ありえない移動を伴うサインイン",
			"一つのプリンシパルの二つの成功したサインインが、その間の時間では移動できないほど離れた場所から行われました。どちらかが攻撃者かもしれません。VPN やモバイル回線でも起こります。本人に確認してください。",
		}
	}
	return kindText{}
}

// localTexts returns a detector's text in other locales: the spec's own
// where it gives it, else the kind's Japanese text when the English title
// (or description) is the kind's too. A custom English title without a
// Japanese one is shown in English rather than replaced by the kind's.
func localTexts(sp *Spec, kt kindText) map[string]event.LocalText {
	ja := event.LocalText{}
	if sp.Title == "" {
		ja.Title = kt.jaTitle
	}
	if sp.Description == "" {
		ja.Description = kt.jaDesc
	}
	if l, ok := sp.Locales["ja"]; ok {
		if l.Title != "" {
			ja.Title = l.Title
		}
		if l.Description != "" {
			ja.Description = strings.TrimSpace(l.Description)
		}
	}
	if ja == (event.LocalText{}) {
		return nil
	}
	return map[string]event.LocalText{"ja": ja}
}

// burstNote says what a burst saw: "5 failed sign-ins in 3m20s".
func burstNote(what string, n int64, took time.Duration, sourceIP, name, code string) note {
	switch what {
	case BurstFailedLogins:
		return note{fmt.Sprintf("%d failed sign-ins in %s", n, took), fmt.Sprintf("%sの間にサインインが%d回失敗", jaDuration(took), n)}
	case BurstSpraying:
		return note{fmt.Sprintf("%d user names tried from %s in %s", n, sourceIP, took), fmt.Sprintf("%sの間に %s から%d個のユーザー名でサインインを試行", jaDuration(took), sourceIP, n)}
	}
	return note{fmt.Sprintf("%d denied calls in %s (last: %s %s)", n, took, name, code), fmt.Sprintf("%sの間に呼び出しが%d回拒否 (最後: %s %s)", jaDuration(took), n, name, code)}
}

// firstSeenNote says what a first-seen detector saw.
func firstSeenNote(attr, val, principal string, retention time.Duration) note {
	return note{
		fmt.Sprintf("first sign-in from %s %s for %s in %s", attrNoun(attr), val, principal, human(retention)),
		fmt.Sprintf("%s が過去%sで初めて%s %s からサインイン", principal, jaHuman(retention), jaAttrNoun(attr), val),
	}
}

// travelNote says how far and how fast a principal would have travelled;
// speed is "" for no time at all.
func travelNote(km float64, from, to string, gap time.Duration, speed string) note {
	en, ja := "instantly", "瞬時"
	if speed != "" {
		en, ja = speed, speed
	}
	return note{
		fmt.Sprintf("%.0f km from %s to %s in %s (%s)", km, from, to, gap, en),
		fmt.Sprintf("%sの間に %s から %s へ %.0f km (%s)", jaDuration(gap), from, to, km, ja),
	}
}

// trustedNote joins why a sign-in is not trusted.
type trustedNote struct{ en, ja []string }

func (t *trustedNote) outside(addr string, nets []string) {
	t.en = append(t.en, fmt.Sprintf("%s is outside the trusted networks (%s)", addr, strings.Join(nets, ", ")))
	t.ja = append(t.ja, fmt.Sprintf("%s は信頼済みネットワーク (%s) の外です", addr, strings.Join(nets, ", ")))
}

func (t *trustedNote) region(r string, regions []string) {
	t.en = append(t.en, fmt.Sprintf("region %s is not one of the expected regions (%s)", r, strings.Join(regions, ", ")))
	t.ja = append(t.ja, fmt.Sprintf("リージョン %s は想定リージョン (%s) に含まれません", r, strings.Join(regions, ", ")))
}

func (t *trustedNote) note() note {
	return note{strings.Join(t.en, "; "), strings.Join(t.ja, "。")}
}

// jaAttrNoun names a first-seen attribute in Japanese.
func jaAttrNoun(a string) string {
	switch a {
	case AttrNetwork:
		return "ネットワーク"
	case AttrCountry:
		return "国"
	case AttrASN:
		return "ネットワーク事業者 (ASN)"
	case AttrUserAgent:
		return "ブラウザーまたはクライアント"
	}
	return a
}

// jaHuman writes whole days as "90日", other durations as jaDuration does.
func jaHuman(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "日"
	}
	return jaDuration(d)
}
