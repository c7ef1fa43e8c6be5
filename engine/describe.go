package engine

import (
	"context"
	"path/filepath"
)

// PlannedStep is one step as `playbook plan` shows it: parameters resolved as far as vars
// decide them, with values that need earlier steps' results left as their ${{ }} source.
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
	// Rendered are the objects the step would create (plan --render), in install order;
	// `playbook plan` prints them after the plan, as a YAML stream.
	Rendered []RenderedObject `json:"rendered,omitempty" yaml:"-"`
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

// Describe shows every step without running anything. It reads the compiled plan only; what
// it returns is masked.
func (p *Plan) Describe(ctx context.Context) ([]PlannedStep, error) {
	var out []PlannedStep
	for _, s := range append(append([]*Step{}, p.Steps...), p.Finally...) {
		ps := PlannedStep{Name: s.Name, ID: s.ID, Type: s.Type, Finally: s.Finally, Parallel: s.Parallel,
			Retry: s.Retry, Params: s.params.shown, Pending: !s.params.known()}
		if s.When != nil {
			ps.When = s.When.Source
		}
		if s.loop != nil {
			ps.Loop = s.loop.shown
		}
		if s.Timeout > 0 {
			ps.Timeout = s.Timeout.String()
		}
		detail, err := s.plugin.plan(context.WithValue(ctx, dirKey{}, filepath.Dir(s.File)), pointerTo(s.params.partial()))
		if err != nil {
			return nil, &StepError{Step: s.Name, ID: s.ID, Cause: p.masker.Error(err)}
		}
		if pd, ok := detail.(PlanDetail); ok {
			for _, o := range pd.Rendered {
				o.YAML = p.masker.String(o.YAML)
				ps.Rendered = append(ps.Rendered, o)
			}
			detail = pd.Detail
		}
		ps.Detail = detail
		ps.Params, ps.Loop, ps.Detail = p.masker.Value(ps.Params), p.masker.Value(ps.Loop), p.masker.Value(ps.Detail)
		ps.Name, ps.When = p.masker.String(ps.Name), p.masker.String(ps.When)
		out = append(out, ps)
	}
	return out, nil
}

// MaskedVars is the vars map as `plan` shows it: secrets, and vars computed from them, as ***.
func (p *Plan) MaskedVars() map[string]any {
	out := make(map[string]any, len(p.Vars))
	for k, v := range p.Vars {
		out[k] = p.masker.Value(v)
	}
	for _, name := range p.Secrets {
		out[name] = Mask
	}
	return out
}

// PlanDetail is what a step type's Plan returns when it has objects to show after the plan
// (`plan --render`): Detail is shown as any plan detail is, Rendered after it, each masked.
type PlanDetail struct {
	Detail   any
	Rendered []RenderedObject
}

// RenderedObject is one object a step would create, as `plan --render` shows it: the text
// its source produced (a chart's template), in the order it would be applied.
type RenderedObject struct {
	Source    string `json:"source" yaml:"source"`
	Kind      string `json:"kind" yaml:"kind"`
	Name      string `json:"name" yaml:"name"`
	Namespace string `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	YAML      string `json:"yaml" yaml:"yaml"`
}
