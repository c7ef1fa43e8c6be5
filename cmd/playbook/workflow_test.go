package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/rhysd/actionlint"
)

// docs/examples/github-actions.yaml is a real workflow: actionlint (the linter GitHub Actions
// users run, as a Go module) finds nothing wrong in it, the expressions and shell scripts
// included.
func TestGitHubActionsExampleLints(t *testing.T) {
	const path = "../../docs/examples/github-actions.yaml"
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	linter, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{Oneline: true})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := linter.Lint(path, content, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("%s", e.Error())
	}
	if !bytes.Contains(content, []byte("report merge")) {
		t.Error("the workflow no longer merges the modes' events")
	}
}
