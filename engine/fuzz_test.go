package engine_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
)

var fuzzSeeds = []string{
	header + "steps:\n  - {name: a, log: {message: hi}}\n",
	header + "vars: {a: 1, b: \"${{ vars.a + 1 }}\"}\nsteps:\n  - name: x\n    id: x\n    loop: \"${{ 1..vars.b }}\"\n    parallel: 2\n    exec: {argv: [echo, \"${{ item }}\"]}\n    retry: {attempts: 2, delay: 1s, until: outputs.exitCode == 0}\n",
	header + "steps:\n  - name: a\n    assert: {that: [\"1 == 1\"], message: m}\nfinally:\n  - {name: f, log: {message: \"${{ 'x' }}\"}}\n",
	header + "steps:\n\t- name: tab\n",
	header + "steps: [\n",
	header + "include: [missing.yaml]\n",
	header + "steps:\n  - name: a\n    whne: true\n    exec: {argv: echo}\n",
	"apiVersion: playbook/v1\nkind: Playbook\nname: &a x\nsteps: [*a]\n",
}

// FuzzLoad: whatever the bytes, loading never panics or hangs, and every rejection names a
// position in the file.
func FuzzLoad(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body string) {
		path := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := engine.Load(path, engine.LoadOptions{})
			done <- err
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Load hung on %q", body)
		}
		if err == nil {
			return
		}
		var ds engine.Diagnostics
		if !errors.As(err, &ds) {
			t.Fatalf("rejection is not a diagnostic: %T %v", err, err)
		}
		for _, d := range ds {
			if d.Line < 1 || d.Col < 1 || d.File == "" {
				if strings.Contains(d.Msg, "cannot include") || strings.Contains(d.Msg, "include cycle") {
					continue // points at the include line of the including file
				}
				t.Fatalf("diagnostic without a position: %+v (input %q)", d, body)
			}
		}
	})
}

// FuzzTemplate: any text in a step's message either loads or fails with a position; a load
// never panics, and a successful one renders without panicking.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"plain", "${{ 1 + 2 }}", "a ${{ vars.x }} b", "$${{ x }}", "${{ \"}}\" }}", "${{", "${{ }}", "${{ lines('a\\nb') }}", "${{ vars.x ?? 'd' }}"} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, msg string) {
		if strings.ContainsAny(msg, "\x00") {
			return
		}
		body := header + "vars: {x: 1}\nsteps:\n  - name: a\n    log:\n      message: " + yamlQuote(msg) + "\n"
		path := filepath.Join(dir, "t.yaml")
		os.WriteFile(path, []byte(body), 0o644)
		pb, err := engine.Load(path, engine.LoadOptions{})
		if err != nil {
			var ds engine.Diagnostics
			if !errors.As(err, &ds) || ds[0].Line < 1 {
				t.Fatalf("rejection without position: %v", err)
			}
			return
		}
		_, _ = pb.Run(t.Context(), engine.RunOptions{})
	})
}

func yamlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteString("\\x")
			b.WriteString(strings.ToUpper(string("0123456789abcdef"[r>>4]) + string("0123456789abcdef"[r&15])))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
