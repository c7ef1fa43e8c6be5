package model

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeMatrix(t *testing.T, body string, playbooks ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range playbooks {
		os.WriteFile(filepath.Join(dir, p), []byte("apiVersion: playbook/v1\nkind: Playbook\nname: x\nsteps: []\n"), 0o644)
	}
	path := filepath.Join(dir, "matrix.yaml")
	os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Matrix\nname: m\n"+body), 0o644)
	return path
}

// The cells are GitHub's: the product, less what exclude matches, with include merged into
// the combinations it fits or added; each named by its playbook and the vars that vary.
func TestMatrixCells(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string // name: vars
	}{
		{"playbooks alone", "playbooks: [kpr.yaml, kpr-ebpf.yaml]\n", []string{"kpr: ", "kpr-ebpf: "}},
		{"a var axis", "playbooks: [kpr.yaml]\nmatrix: {v: [1.20.0, 1.19.0]}\n",
			[]string{"kpr v=1.20.0: v=1.20.0", "kpr v=1.19.0: v=1.19.0"}},
		{"exclude on every key it names", "playbooks: [kpr.yaml, kpr-ebpf.yaml]\nmatrix: {v: ['1', '2'], exclude: [{playbook: kpr.yaml, v: '2'}]}\n",
			[]string{"kpr v=1: v=1", "kpr-ebpf v=1: v=1", "kpr-ebpf v=2: v=2"}},
		{"include extends what it fits", "playbooks: [kpr.yaml, kpr-ebpf.yaml]\nmatrix: {v: ['1'], include: [{playbook: kpr.yaml, extra: 'yes'}]}\n",
			[]string{"kpr extra=yes: extra=yes v=1", "kpr-ebpf: v=1"}},
		{"include adds what fits nothing", "playbooks: [kpr.yaml]\nmatrix: {v: ['1'], include: [{playbook: kpr.yaml, v: '2'}]}\n",
			[]string{"kpr v=1: v=1", "kpr v=2: v=2"}},
		{"a list value as JSON", "playbooks: [kpr.yaml]\nmatrix: {images: [[a, b]]}\n", []string{`kpr: images=["a","b"]`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, ds := LoadMatrix(writeMatrix(t, tc.body, "kpr.yaml", "kpr-ebpf.yaml"))
			if len(ds) > 0 {
				t.Fatal(ds)
			}
			var got []string
			for _, c := range m.Cells {
				var vars []string
				for _, k := range []string{"extra", "images", "v"} {
					if v, ok := c.Vars[k]; ok {
						vars = append(vars, k+"="+v)
					}
				}
				got = append(got, c.Name+": "+strings.Join(vars, " "))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("cells:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// A wrong matrix file says where and what, with a did-you-mean where one fits.
func TestMatrixErrors(t *testing.T) {
	cases := []struct{ body, want string }{
		{"playbooks: [kpr.yaml]\nmatrx: {}\n", `matrix.yaml:5:1: unknown key "matrx" in the matrix file`},
		{"playbooks: [kpr.yaml]\nmatrx: {}\n", `did you mean "matrix"?`},
		{"playbooks: [nope.yaml]\n", "matrix.yaml:4:13: playbooks: no file nope.yaml"},
		{"playbooks: kpr.yaml\n", `matrix.yaml:4:12: playbooks: expected a list, got "kpr.yaml"`},
		{"playbooks: [kpr.yaml]\nmatrix: {v: []}\n", "matrix.yaml:5:13: matrix.v: give at least one value"},
		{"playbooks: [kpr.yaml]\nmatrix: {exclude: [kpr.yaml]}\n", "matrix.yaml:5:20: matrix.exclude: expected a mapping"},
		{"matrix: {}\n", `missing required key "playbooks"`},
	}
	for _, tc := range cases {
		_, ds := LoadMatrix(writeMatrix(t, tc.body, "kpr.yaml"))
		if !strings.Contains(ds.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.body, ds, tc.want)
		}
	}
}
