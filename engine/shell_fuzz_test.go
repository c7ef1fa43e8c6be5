package engine_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/shelltest"
)

// FuzzShellValues builds a script from two of the contexts a value can stand in and runs it
// with /bin/sh: whatever the value, it arrives byte-exact in both, and nothing it says runs.
func FuzzShellValues(f *testing.F) {
	seedDir := f.TempDir()
	for i, v := range shelltest.HostileValues(filepath.Join(seedDir, "pwned")) {
		f.Add(uint8(i), uint8(i*7), v)
	}
	pwned := filepath.Join(f.TempDir(), "pwned")
	f.Fuzz(func(t *testing.T, a, b uint8, value string) {
		if strings.IndexByte(value, 0) >= 0 {
			return // no environment variable can hold a NUL; the engine says so (tested below)
		}
		value = strings.ReplaceAll(value, "PWNED", pwned)
		first := shelltest.Contexts[int(a)%len(shelltest.Contexts)]
		second := shelltest.Contexts[int(b)%len(shelltest.Contexts)]
		out := t.TempDir()
		script := strings.ReplaceAll(first.Script, "$I", "1") + "\n" + strings.ReplaceAll(second.Script, "$I", "2")
		script = strings.ReplaceAll(script, "@V@", "${{ vars.v }}")
		body := header + "vars: {v: ''}\nsteps:\n  - name: render\n    shell:\n      script: " + yamlQuote(script) + "\n"
		dir := writeFiles(t, map[string]string{"pb.yaml": body})
		pb, err := engine.Load(filepath.Join(dir, "pb.yaml"), engine.LoadOptions{Vars: []string{"v=" + value}})
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		script, env := renderedScript(t, pb)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", script)
		cmd.Env = append(os.Environ(), append(env, "OUT="+out)...)
		if output, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sh: %v: %s\nscript:\n%s", err, output, script)
		}
		for i, c := range []string{first.Want, second.Want} {
			got, err := os.ReadFile(filepath.Join(out, string(rune('1'+i))))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != value+c {
				t.Fatalf("context %q: got %q, want %q", []string{first.Name, second.Name}[i], got, value+c)
			}
		}
		if _, err := os.Stat(pwned); err == nil {
			t.Fatalf("%q was run as code", value)
		}
	})
}

// renderedScript runs the test plugin that hands back a shell parameter as a step gets it.
func renderedScript(t *testing.T, pb *engine.Plan) (string, []string) {
	t.Helper()
	c := &collect{}
	if _, err := pb.Run(t.Context(), engine.RunOptions{Reporters: []engine.Reporter{c}}); err != nil {
		t.Fatal(err)
	}
	e, ok := c.finished("render")
	if !ok {
		t.Fatal("the step did not finish")
	}
	outputs := e.Outputs.(map[string]any)
	var env []string
	switch list := outputs["env"].(type) {
	case []string:
		env = list
	case []any:
		for _, s := range list {
			env = append(env, s.(string))
		}
	}
	return outputs["script"].(string), env
}

// A value that no environment can carry is an error, not a value cut short.
func TestShellValueWithNULIsAnError(t *testing.T) {
	_, err := load(t, header+"vars: {v: ''}\nsteps:\n  - {name: render, shell: {script: 'echo ${{ vars.v + \"\\x00\" }}'}}\n")
	if err == nil || !strings.Contains(err.Error(), "cannot hold a NUL byte") {
		t.Fatalf("got %v", err)
	}
}
