package steps_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/shelltest"
)

// Every value arrives byte-exact in every context, and none runs: the shell expands each
// ${{ }} from the environment; it never parses one.
func TestShellValuesArriveByteExact(t *testing.T) {
	pwned := filepath.Join(t.TempDir(), "pwned")
	values := shelltest.HostileValues(pwned)
	indexes := shelltest.SetValues(t, values)
	for _, c := range shelltest.Contexts {
		t.Run(c.Name, func(t *testing.T) {
			out := t.TempDir()
			script := strings.ReplaceAll(c.Script, "@V@", shelltest.ValueExpr)
			body := fmt.Sprintf("steps:\n  - name: write\n    loop: [%s]\n    exec:\n      env: {OUT: %q, I: \"${{ item }}\"}\n      shell: %q\n",
				strings.Join(indexes, ", "), out, script)
			if _, _, err := loadRun(t, body); err != nil {
				t.Fatal(err)
			}
			for i, v := range values {
				got, err := os.ReadFile(filepath.Join(out, strconv.Itoa(i)))
				if err != nil {
					t.Fatalf("value %d (%q): %v", i, v, err)
				}
				if want := v + c.Want; string(got) != want {
					t.Errorf("value %d arrived changed:\ngot  %q\nwant %q", i, got, want)
				}
			}
			if _, err := os.Stat(pwned); err == nil {
				t.Fatal("a value was run as code")
			}
		})
	}
}

// In shell arithmetic the shell evaluates a value (bash would run commands in an array
// subscript): only an integer gets there; anything else fails the step before it runs.
func TestShellArithmeticTakesOnlyIntegers(t *testing.T) {
	pwned := filepath.Join(t.TempDir(), "pwned")
	out := filepath.Join(t.TempDir(), "out")
	_, _, err := loadRun(t, fmt.Sprintf("vars: {n: 0}\nsteps:\n  - name: sum\n    exec: {shell: 'echo $(( ${{ vars.n }} + 1 )) > %s'}\n", out), "n=41")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); string(got) != "42\n" {
		t.Errorf("got %q, want 42", got)
	}
	// The value known at load fails the load; one a step produces fails the step.
	t.Setenv("PB_HOSTILE_NUMBER", "a[$(touch "+pwned+")]")
	for _, script := range []string{`echo $(( ${{ vars.v }} ))`, `echo "${A[${{ vars.v }}]}"`, `let x=${{ vars.v }}`, `[[ 1 -eq ${{ vars.v }} ]]`, `echo $(( ${{ steps.v.outputs.values.v }} ))`} {
		err := loadAndRun(t, fmt.Sprintf("vars: {v: ''}\nsteps:\n  - name: value\n    id: v\n    exec: {shell: 'echo \"v=$PB_HOSTILE_NUMBER\" >> $PLAYBOOK_OUTPUT'}\n  - name: sum\n    exec: {shell: %q}\n", script), "v=a[$(touch "+pwned+")]")
		if err == nil || !strings.Contains(err.Error(), "a value in shell arithmetic must be an integer") {
			t.Errorf("%s: got %v, want the integer error", script, err)
		}
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("a value was run as code")
	}
}

// loadAndRun is loadRun for tests that expect an error at load or at run alike.
func loadAndRun(t *testing.T, body string, vars ...string) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pb.yaml")
	if err := os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: t\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	pb, err := engine.Load(path, engine.LoadOptions{Vars: vars})
	if err != nil {
		return err
	}
	_, err = pb.Run(context.Background(), engine.RunOptions{})
	return err
}
