package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kindlab/playbook/internal/shelltest"
)

// `playbook run` on one playbook that puts every hostile value in every shell context, as a
// user would run it: every value arrives byte-exact, and no value runs.
func TestRunHostileValuesInEveryContext(t *testing.T) {
	pwned := filepath.Join(t.TempDir(), "pwned")
	values := shelltest.HostileValues(pwned)
	indexes := shelltest.SetValues(t, values)
	out := t.TempDir()
	var body strings.Builder
	body.WriteString("steps:\n")
	for c, ctx := range shelltest.Contexts {
		script := strings.ReplaceAll(ctx.Script, "@V@", shelltest.ValueExpr)
		fmt.Fprintf(&body, "  - name: %q\n    loop: [%s]\n    exec:\n      env: {OUT: %q, I: \"%d-${{ item }}\"}\n      shell: %q\n",
			ctx.Name, strings.Join(indexes, ", "), out, c, script)
	}
	stdout, stderr, code := runCLI(t, "run", writePlaybook(t, body.String()))
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
	}
	for c, ctx := range shelltest.Contexts {
		for i, v := range values {
			got, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("%d-%d", c, i)))
			if err != nil || string(got) != v+ctx.Want {
				t.Errorf("%s, value %d: got %q (%v), want %q", ctx.Name, i, got, err, v+ctx.Want)
			}
		}
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("a value was run as code")
	}
}
