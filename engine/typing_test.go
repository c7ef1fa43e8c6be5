package engine_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
)

// One rule for text that stands for a typed value, in --var, vars files and step parameters
// alike: a bool is true or false (any case), a number is its digits (quoted or not), and a
// list's items take the kind the declared list's items share.
func TestOneTypingRule(t *testing.T) {
	body := header + "vars:\n  debug: false\n  replicas: 1\n  regions: [eu, us]\nsteps:\n  - {name: a, say: {message: x}}\n"
	cases := []struct {
		name  string
		vars  []string
		file  string // a vars file's content
		want  map[string]any
		error string
	}{
		{"--var True", []string{"debug=True"}, "", map[string]any{"debug": true}, ""},
		{"--var 1 for a bool", []string{"debug=1"}, "", nil, `expected true or false, got "1"`},
		{"--var yes for a bool", []string{"debug=yes"}, "", nil, `expected true or false, got "yes"`},
		{"vars file yes for a bool", nil, "debug: yes\n", nil, `expected true or false, got "yes"`},
		{"vars file \"3\" for an int", nil, "replicas: \"3\"\n", map[string]any{"replicas": 3}, ""},
		{"--var [1, 2] for a list of strings", []string{"regions=[1, 2]"}, "", map[string]any{"regions": []any{"1", "2"}}, ""},
		{"vars file list of lists for a list of strings", nil, "regions: [[a]]\n", nil, "item 0: expected a string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"pb.yaml": body}
			var opts engine.LoadOptions
			opts.Vars = tc.vars
			if tc.file != "" {
				files["vars.yaml"] = tc.file
			}
			dir := writeFiles(t, files)
			if tc.file != "" {
				opts.VarsFiles = []string{filepath.Join(dir, "vars.yaml")}
			}
			pb, err := engine.Load(filepath.Join(dir, "pb.yaml"), opts)
			if tc.error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.error) {
					t.Fatalf("got %v, want %s", err, tc.error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.want {
				if got := pb.Vars[k]; !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", k, got, want)
				}
			}
		})
	}
	// Parameters by the same rule: a quoted number is a number, "True" a bool, "yes" is not.
	mustLoad(t, header+"steps:\n  - {name: a, echo: {stdout: x}, retry: {attempts: \"3\"}, ignoreErrors: \"True\"}\n")
	if _, err := load(t, header+"steps:\n  - {name: a, echo: {stdout: x}, ignoreErrors: \"yes\"}\n"); err == nil || !strings.Contains(err.Error(), "expected true or false") {
		t.Errorf("ignoreErrors: yes: %v", err)
	}
}
