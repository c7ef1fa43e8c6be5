package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// besidePlaybooks is a path in a directory that links every file of playbooks/, for a
// matrix example whose paths name them.
func besidePlaybooks(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir("../../playbooks")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		abs, _ := filepath.Abs(filepath.Join("../../playbooks", e.Name()))
		if err := os.Symlink(abs, filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, name)
}

// yamlBlock is a ```yaml block of a Markdown file.
var yamlBlock = regexp.MustCompile("(?ms)^```yaml\n(.*?)^```")

// Every playbook example in README.md and docs/ is validated by the binary, as a user would
// copy it: a whole playbook as it stands, a list of steps inside a minimal playbook. A block
// that is neither must say what it is on its first line (`# vars file`), and parse.
func TestDocsExamplesValidate(t *testing.T) {
	docs, _ := filepath.Glob("../../docs/*.md")
	docs = append(docs, "../../README.md")
	examples, _ := filepath.Glob("../../docs/examples/*.yaml")
	checked := 0
	for _, doc := range docs {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range yamlBlock.FindAllStringSubmatchIndex(string(text), -1) {
			block := string(text[m[2]:m[3]])
			line := strings.Count(string(text[:m[2]]), "\n") + 1
			where := fmt.Sprintf("%s:%d", filepath.Base(doc), line)
			path := filepath.Join(t.TempDir(), fmt.Sprintf("%s-%d.yaml", filepath.Base(doc), i))
			switch {
			case strings.Contains(block, "kind: Matrix"):
				// A matrix names the repository's playbooks: it is checked beside them.
				path = besidePlaybooks(t, filepath.Base(path))
			case strings.Contains(block, "apiVersion: playbook/v1"):
			case strings.HasPrefix(block, "- "):
				block = "apiVersion: playbook/v1\nkind: Playbook\nname: example\nsteps:\n" + indent(block)
			case strings.HasPrefix(block, "# vars file"):
				var vars map[string]any
				if err := yaml.Unmarshal([]byte(block), &vars); err != nil {
					t.Errorf("%s: a vars file that does not parse: %v", where, err)
				}
				continue
			default:
				t.Errorf("%s: a yaml block that is neither a playbook nor steps (or say what it is: # vars file):\n%s", where, block)
				continue
			}
			if err := os.WriteFile(path, []byte(block), 0o644); err != nil {
				t.Fatal(err)
			}
			examples = append(examples, path)
			if _, stderr, code := runCLI(t, "validate", path); code != 0 || stderr != "" {
				t.Errorf("%s: the example does not validate (exit %d):\n%s\n%s", where, code, stderr, block)
			}
			checked++
		}
	}
	for _, path := range examples {
		if strings.HasSuffix(path, "github-actions.yaml") {
			continue // a workflow, not a playbook: TestGitHubActionsExampleLints checks it
		}
		if strings.HasPrefix(path, "../../docs/examples/") {
			if _, stderr, code := runCLI(t, "validate", path); code != 0 || stderr != "" {
				t.Errorf("%s does not validate (exit %d):\n%s", path, code, stderr)
			}
			checked++
		}
	}
	if checked < 5 {
		t.Errorf("only %d examples found: the docs moved?", checked)
	}
}

func indent(text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n") + "\n"
}
