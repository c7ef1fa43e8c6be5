package engine

import "github.com/kindlab/playbook/model"

// Compile turns a loaded playbook into a Plan: it applies the user's overrides, resolves
// secrets and vars, and decodes and checks every step against its step type. loadDiags are
// the model's own problems; compiling goes on after them as far as it can, so that a user
// sees every problem at once.
func Compile(file *model.Playbook, opts LoadOptions, loadDiags Diagnostics) (*Plan, error) {
	c := &compiler{file: file, diags: loadDiags, exprs: newExprCompiler()}
	plan := &Plan{File: file.File, Name: file.Name, Description: file.Description}
	vars, err := c.overrides(opts)
	if err != nil {
		return nil, err
	}
	secrets, err := c.secrets(plan, opts.Secrets)
	if err != nil {
		return nil, err
	}
	varsOK := c.resolveVars(plan, append(vars, secrets...))
	if varsOK {
		c.steps(plan)
	}
	// A message about a wrong value may quote it: "expected a list, got "<the secret>"".
	for i := range c.diags {
		c.diags[i].Msg = plan.masker.String(c.diags[i].Msg)
	}
	c.diags.SortByPosition()
	if errs := c.diags.Errors(); len(errs) > 0 {
		return nil, append(errs, c.diags.Warnings()...)
	}
	plan.Warnings = c.diags.Warnings()
	return plan, nil
}

// compiler is the state of one Compile.
type compiler struct {
	file  *model.Playbook
	diags Diagnostics
	exprs *exprCompiler
	// what vars and step ids exist, for the scope checks
	varNames map[string]bool
	refs     *stepRefs
}

func (c *compiler) add(d Diagnostic) { c.diags = append(c.diags, d) }
