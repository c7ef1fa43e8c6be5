package engine_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kindlab/playbook/engine"
)

// --resume runs a step again when anything it reads changed, whatever kind of input it is;
// and skips it when nothing did.
func TestResumeRunsAgainWhenAnInputChanged(t *testing.T) {
	cases := []struct {
		name, step string
		change     func(t *testing.T, dir string)
	}{
		{"env() beside a step output", `echo: {count: COUNT, stdout: "${{ steps.a.outputs.stdout }} ${{ env('PB_RESUME_INPUT') }}"}`,
			func(t *testing.T, _ string) { t.Setenv("PB_RESUME_INPUT", "two") }},
		{"env() in a loop's items", `loop: "${{ [env('PB_RESUME_INPUT')] }}"` + "\n    echo: {count: COUNT, stdout: \"${{ steps.a.outputs.stdout }}\"}",
			func(t *testing.T, _ string) { t.Setenv("PB_RESUME_INPUT", "two") }},
		{"a file's content", `echo: {count: COUNT, reads: data/values.yaml}`,
			func(t *testing.T, dir string) { write(t, filepath.Join(dir, "data/values.yaml"), "b: 2\n") }},
		{"a file below a directory", `echo: {count: COUNT, reads: data}`,
			func(t *testing.T, dir string) { write(t, filepath.Join(dir, "data/deeper/new.yaml"), "c: 3\n") }},
		{"a new file a glob matches", `echo: {count: COUNT, reads: "data/*.yaml"}`,
			func(t *testing.T, dir string) { write(t, filepath.Join(dir, "data/more.yaml"), "d: 4\n") }},
		{"a when that now reads differently", `when: "env('PB_RESUME_INPUT') == 'one' || true"` + "\n    echo: {count: COUNT, stdout: \"${{ env('PB_RESUME_INPUT') }}\"}",
			func(t *testing.T, _ string) { t.Setenv("PB_RESUME_INPUT", "two") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PB_RESUME_INPUT", "one")
			dir := t.TempDir()
			write(t, filepath.Join(dir, "data/values.yaml"), "a: 1\n")
			count := filepath.Join(dir, "count")
			body := header + "steps:\n  - {name: a, id: a, echo: {stdout: x}}\n  - name: b\n    " +
				replace(tc.step, "COUNT", count) + "\n"
			path := filepath.Join(dir, "pb.yaml")
			write(t, path, body)
			state := filepath.Join(dir, "state.json")
			runOnce := func() {
				t.Helper()
				pb, err := engine.Load(path, engine.LoadOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := run(t, pb, engine.RunOptions{StatePath: state, Resume: true}); err != nil {
					t.Fatal(err)
				}
			}
			runOnce()
			runOnce()
			if n := runs(t, count); n != 1 {
				t.Fatalf("with nothing changed the step ran %d times", n)
			}
			tc.change(t, dir)
			runOnce()
			if n := runs(t, count); n != 2 {
				t.Fatalf("after the change the step ran %d times in all, want 2", n)
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func replace(s, old, new string) string {
	out := ""
	for {
		i := indexOf(s, old)
		if i < 0 {
			return out + s
		}
		out, s = out+s[:i]+new, s[i+len(old):]
	}
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
