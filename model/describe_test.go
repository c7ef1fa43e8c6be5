package model

import "testing"

func TestSuggest(t *testing.T) {
	commands := []string{"completion", "plan", "run", "steps", "validate", "version"}
	keys := []string{"when", "loop", "retry", "timeout", "ignoreErrors", "exec", "kubectlExec"}
	for _, tc := range []struct {
		word       string
		candidates []string
		want       string
	}{
		{"whne", keys, "when"},
		{"exce", keys, "exec"},
		{"ignoreError", keys, "ignoreErrors"},
		{"kubectlexec", keys, "kubectlExec"},
		{"valdiate", commands, "validate"},
		{"plna", commands, "plan"},
		{"frobnicate", commands, ""},
		{"xyz", commands, ""},
		{"when", keys, ""},
	} {
		if got := Suggest(tc.word, tc.candidates); got != tc.want {
			t.Errorf("Suggest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}
