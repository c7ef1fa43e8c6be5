package engine

import (
	"context"
	"path/filepath"
)

// PlannedStep is one step as `playbook plan` shows it: parameters resolved as far as vars
// allow, with values that need earlier steps' results left as their ${{ }} source.
type PlannedStep struct {
	Name     string `json:"name" yaml:"name"`
	ID       string `json:"id,omitempty" yaml:"id,omitempty"`
	Type     string `json:"type" yaml:"type"`
	Finally  bool   `json:"finally,omitempty" yaml:"finally,omitempty"`
	When     string `json:"when,omitempty" yaml:"when,omitempty"`
	Loop     any    `json:"loop,omitempty" yaml:"loop,omitempty"`
	Parallel int    `json:"parallel,omitempty" yaml:"parallel,omitempty"`
	Retry    *Retry `json:"retry,omitempty" yaml:"retry,omitempty"`
	Timeout  string `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	Params   any    `json:"params" yaml:"params"`
	// Detail is what the step type adds about itself (a generated config, rendered values).
	Detail any `json:"detail,omitempty" yaml:"detail,omitempty"`
	// Pending says the step's parameters depend on earlier steps' results.
	Pending bool `json:"pending,omitempty" yaml:"pending,omitempty"`
}

type (
	renderKey struct{}
	dirKey    struct{}
)

// PlaybookDir is the directory of the playbook being planned, for Plan hooks that read files.
func PlaybookDir(ctx context.Context) string {
	dir, _ := ctx.Value(dirKey{}).(string)
	return dir
}

// WithRender asks step types to include rendered output in their plan (`plan --render`).
func WithRender(ctx context.Context) context.Context {
	return context.WithValue(ctx, renderKey{}, true)
}

// RenderRequested reports whether the plan should include rendered output.
func RenderRequested(ctx context.Context) bool { return ctx.Value(renderKey{}) == true }

// Plan describes every step without running anything.
func (pb *Playbook) Plan(ctx context.Context) ([]PlannedStep, error) {
	var out []PlannedStep
	for _, s := range append(append([]*Step{}, pb.Steps...), pb.Finally...) {
		d := &decoder{file: s.File, scope: s.scope, cache: s.cache, env: &Env{Vars: pb.Vars}, plan: true}
		params, _ := d.value(s.params, s.Type)
		ps := PlannedStep{Name: s.Name, ID: s.ID, Type: s.Type, Finally: s.Finally, Parallel: s.Parallel,
			Retry: s.Retry, Params: params, Pending: s.static == nil}
		if s.When != nil {
			ps.When = s.When.Source
		}
		if s.Loop != nil {
			ps.Loop, _ = d.value(s.Loop, "loop")
		}
		if s.Timeout.Duration > 0 {
			ps.Timeout = s.Timeout.String()
		}
		if s.partial != nil {
			detail, err := s.plugin.plan(context.WithValue(ctx, dirKey{}, filepath.Dir(s.File)), s.partial)
			if err != nil {
				return nil, &StepError{Step: s.Name, ID: s.ID, Cause: err}
			}
			ps.Detail = detail
		}
		out = append(out, ps)
	}
	return out, nil
}
