package textwidth

import "testing"

func TestWidth(t *testing.T) {
	for s, want := range map[string]int{
		"":                     0,
		"ConsoleLogin":         12,
		"【重大】ルートユーザー":          22,
		"ｱｲｳ":                  3, // half-width katakana
		"ＡＢ":                   4,
		"e\u0301":              1, // combining accent
		"a\u200bb":             2, // zero-width space
		"送信元IP":                8,
		"2026-11-23 10:15 JST": 20,
		"\x1b[31m":             4, // the escape itself takes no column
	} {
		if got := Width(s); got != want {
			t.Errorf("Width(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		s    string
		w    int
		cut  string
		mid  string
		padw int
	}{
		{"stratus-red-team-get-usr-data-role/aws-go-sdk-1688990565286187801", 30,
			"stratus-red-team-get-usr-data…", "stratus-red-tea…90565286187801", 0},
		{"short", 10, "short", "short", 0},
		{"ルートユーザー", 9, "ルートユ…", "ルー…ザー", 0},
		{"ルートユーザー", 8, "ルート…", "ルー…ー", 0},
		{"abc", 0, "", "", 0},
	} {
		if got := Cut(tc.s, tc.w); got != tc.cut || Width(got) > tc.w {
			t.Errorf("Cut(%q, %d) = %q, want %q", tc.s, tc.w, got, tc.cut)
		}
		if got := CutMiddle(tc.s, tc.w); got != tc.mid || Width(got) > tc.w {
			t.Errorf("CutMiddle(%q, %d) = %q (%d columns), want %q", tc.s, tc.w, got, Width(got), tc.mid)
		}
	}
	if got := Pad("送信", 6); got != "送信  " {
		t.Errorf("Pad = %q", got)
	}
}

// FuzzCut: whatever the text and width, a cut never exceeds the width and
// is valid UTF-8 when the input is.
func FuzzCut(f *testing.F) {
	f.Add("【重大】ルートユーザーがサインイン", 7)
	f.Add("stratus-red-team/aws-go-sdk", 5)
	f.Fuzz(func(t *testing.T, s string, w int) {
		w = w % 200
		if w < 0 {
			w = -w
		}
		for _, got := range []string{Cut(s, w), CutMiddle(s, w)} {
			if Width(got) > w {
				t.Fatalf("%q cut to %d columns is %q (%d)", s, w, got, Width(got))
			}
		}
	})
}
