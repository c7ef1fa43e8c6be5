package steps_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
	_ "github.com/kindlab/playbook/steps"
)

// What `playbook steps` shows is all a user has to go on: every parameter and output says
// what it is, and every step type's example loads as written. (That each step returns the
// outputs it documents is checked by the engine on every run, so every test here checks it.)
func TestEveryStepTypeIsDocumented(t *testing.T) {
	docs := engine.Plugins()
	if len(docs) < 15 {
		t.Fatalf("only %d step types registered", len(docs))
	}
	for _, d := range docs {
		if d.Summary == "" {
			t.Errorf("%s: no summary", d.Name)
		}
		if len(d.Outputs) == 0 {
			t.Errorf("%s: no outputs documented", d.Name)
		}
		for _, o := range d.Outputs {
			if o.Type == "" || o.Doc == "" {
				t.Errorf("%s: output %s has no type or doc", d.Name, o.Name)
			}
		}
		var walk func(prefix string, params []engine.ParamDoc)
		walk = func(prefix string, params []engine.ParamDoc) {
			for _, p := range params {
				if p.Doc == "" {
					t.Errorf("%s: parameter %s%s has no doc", d.Name, prefix, p.Key)
				}
				walk(prefix+p.Key+".", p.Keys)
			}
		}
		walk("", d.Params)
		t.Run(d.Name+"/example", func(t *testing.T) {
			if !strings.Contains(d.Example, "\n  "+d.Name+":") {
				t.Fatalf("the example has no %s step:\n%s", d.Name, d.Example)
			}
			path := filepath.Join(t.TempDir(), "example.yaml")
			body := "apiVersion: playbook/v1\nkind: Playbook\nname: example\nsteps:\n"
			for _, line := range strings.Split(d.Example, "\n") {
				body += "  " + line + "\n"
			}
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := engine.Load(path, engine.LoadOptions{}); err != nil {
				t.Fatalf("the example does not load: %v\n%s", err, body)
			}
		})
	}
}
