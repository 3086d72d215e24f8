package route

import (
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
)

// Three principals that all read "break-glass" or "ci-bot" by name: the
// real IAM users, a federated user that named itself, and another
// account's IAM user calling into the watched account.
var (
	realBreakGlass = event.MustParse(`{"eventID":"b1","eventName":"ConsoleLogin","recipientAccountId":"444455556666",
		"userIdentity":{"type":"IAMUser","accountId":"444455556666","userName":"break-glass","arn":"arn:aws:iam::444455556666:user/break-glass"}}`)
	federatedBreakGlass = event.MustParse(`{"eventID":"b2","eventName":"ConsoleLogin","recipientAccountId":"444455556666",
		"userIdentity":{"type":"FederatedUser","accountId":"444455556666","principalId":"444455556666:break-glass",
		"arn":"arn:aws:sts::444455556666:federated-user/break-glass","sessionContext":{"sessionIssuer":{"userName":"intern"}}}}`)
	realCIBot = event.MustParse(`{"eventID":"c1","eventName":"PutRolePolicy","recipientAccountId":"111122223333",
		"userIdentity":{"type":"IAMUser","accountId":"111122223333","userName":"ci-bot","arn":"arn:aws:iam::111122223333:user/ci-bot"}}`)
	foreignCIBot = event.MustParse(`{"eventID":"c2","eventName":"PutRolePolicy","recipientAccountId":"111122223333",
		"userIdentity":{"type":"IAMUser","accountId":"999988887777","userName":"ci-bot","arn":"arn:aws:iam::999988887777:user/ci-bot"}}`)
)

const nameOnlyConfig = `
receivers:
  - name: log
    stdout: {}
route:
  receiver: log
silences:
  - matchers: [principal = break-glass, account = "444455556666"]
    expires: 2099-01-01T00:00:00Z
    comment: drill
ignore:
  - principal: ci-bot
    account: "111122223333"
    comment: CI
`

const pinnedConfig = `
receivers:
  - name: log
    stdout: {}
route:
  receiver: log
silences:
  - matchers: [principal = break-glass, principal_type = IAMUser, principal_account = "444455556666"]
    expires: 2099-01-01T00:00:00Z
    comment: drill
  - matchers: [principal_arn = "arn:aws:iam::444455556666:user/break-glass", rule = other]
    expires: 2099-01-01T00:00:00Z
    comment: arn
ignore:
  - principal: "arn:aws:iam::111122223333:user/ci-bot"
    account: "111122223333"
    comment: CI
`

func muted(tr *Tree, ev *event.Event) bool {
	l := tr.Labels(&event.Alert{Rule: event.RuleInfo{ID: "r"}, Event: ev})
	return tr.Silenced(l, t0) != nil || tr.Ignored(l, t0) != nil
}

// TestNameOnlyMatchersMatchForeignPrincipals shows the hazard Warnings
// names, and that the pinned forms the documentation now shows do not
// have it.
func TestNameOnlyMatchersMatchForeignPrincipals(t *testing.T) {
	tr := newTree(t, nameOnlyConfig)
	for _, ev := range []*event.Event{realBreakGlass, federatedBreakGlass, realCIBot, foreignCIBot} {
		if !muted(tr, ev) {
			t.Errorf("name-only: %s not muted", ev.Principal().ARN)
		}
	}
	warns := Warnings(loadConfig(t, nameOnlyConfig))
	want := []string{
		`trailwatch.yaml:7: silences[0]: matcher "principal = break-glass" picks the principal by name only`,
		`trailwatch.yaml:11: ignore[0]: principal "ci-bot" is a name`,
	}
	if len(warns) != len(want) {
		t.Fatalf("warnings %q; want %d", warns, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(warns[i], w) {
			t.Errorf("warning %q\nwant prefix %q", warns[i], w)
		}
	}

	tr = newTree(t, pinnedConfig)
	for ev, want := range map[*event.Event]bool{realBreakGlass: true, federatedBreakGlass: false, realCIBot: true, foreignCIBot: false} {
		if got := muted(tr, ev); got != want {
			t.Errorf("pinned: %s muted = %v; want %v", ev.Principal().ARN, got, want)
		}
	}
	if warns := Warnings(loadConfig(t, pinnedConfig)); len(warns) != 0 {
		t.Errorf("pinned configuration warned: %q", warns)
	}
}

func TestWarningsOnWildAccountsAndQuoting(t *testing.T) {
	c := loadConfig(t, `
receivers:
  - name: log
    stdout: {}
route:
  receiver: log
silences:
  - matchers: ['role = "deploy\nconfig OK: 1 receivers"']
    expires: 2099-01-01T00:00:00Z
    comment: x
ignore:
  - principal: "arn:aws:iam::*:user/ci-bot"
    comment: CI
`)
	warns := Warnings(c)
	if len(warns) != 2 || !strings.Contains(warns[1], `principal "arn:aws:iam::*:user/ci-bot" matches that name in every account`) {
		t.Fatalf("warnings %q", warns)
	}
	for _, w := range warns {
		if strings.Contains(w, "\n") {
			t.Errorf("warning spans lines: %q", w)
		}
	}
}
