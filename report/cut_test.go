package report

import "testing"

// A line in the live view takes at most its width in terminal cells, whatever a command
// printed: colours, cursor moves, tabs, wide characters, emoji made of several code points.
func TestCutFitsTerminalCells(t *testing.T) {
	cases := []struct {
		in    string
		width int
		want  string
	}{
		{"plain", 10, "plain"},
		{"a long plain line", 10, "a long pl…"},
		{"\x1b[31mred\x1b[0m text", 20, "red text"},
		{"\x1b]0;title\x07after", 20, "after"},
		{"tab\there", 20, "tab here"},
		{"bell\x07 and \x7f del", 20, "bell and  del"},
		{"日本日本日本", 7, "日本日…"},
		{"日本", 4, "日本"},
		{"👩‍👩‍👧 family", 8, "👩‍👩‍👧 fami…"},
		{"e\u0301e\u0301e\u0301", 2, "e\u0301…"},
	}
	for _, tc := range cases {
		if got := cut(tc.in, tc.width); got != tc.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
	}
}
