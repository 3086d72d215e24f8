package render_test

import (
	"fmt"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/render"
)

func ExampleRenderer_Render() {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		panic(err)
	}
	r, err := render.New(render.Options{
		Locale:       "ja",
		Location:     tokyo,
		AccountNames: map[string]string{"111122223333": "prod"},
	})
	if err != nil {
		panic(err)
	}
	ev := event.MustParse(`{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com",
		"eventType":"AwsConsoleSignIn","eventTime":"2026-11-23T01:15:00Z","awsRegion":"us-east-1",
		"recipientAccountId":"111122223333","sourceIPAddress":"192.0.2.0",
		"userIdentity":{"type":"Root","accountId":"111122223333"},
		"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"}}`)
	g := &render.Group{Key: "ops/root", Receiver: "ops", Count: 1, Alerts: []*event.Alert{{
		Rule:  event.RuleInfo{ID: "root-console-login", Title: "Root user signed in to the console", Severity: event.SeverityCritical},
		Event: ev,
	}}}
	p, err := r.Render(render.KindEmail, "ops", g)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Subject)
	fmt.Print(p.Text)
	// Output:
	// 【重大】Root user signed in to the console - 111122223333 (prod)
	// 【重大】Root user signed in to the console
	//
	// イベント名: ConsoleLogin (signin.amazonaws.com)
	// AWSアカウント: 111122223333 (prod)
	// 発生時刻: 2026-11-23 10:15:00 JST
	// リージョン: us-east-1
	// 実行ユーザー: root (Root)
	// 送信元IP: 192.0.2.0
	// MFA: 未使用
	// ログイン結果: 成功
	// ルール: root-console-login
}
