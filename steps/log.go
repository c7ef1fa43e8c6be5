package steps

import (
	"context"

	"github.com/kindlab/playbook/engine"
)

type logParams struct {
	Message string `yaml:"message" doc:"the text to print; ${{ }} expressions are filled in" pb:"required"`
}

func init() {
	engine.Register(engine.StepType[logParams]{
		Name:    "log",
		Summary: "print a message",
		Example: `- name: say where the kubeconfig is
  log: {message: "export KUBECONFIG=${{ env('HOME') }}/.kube/config"}`,
		Outputs: []engine.OutputDoc{{Name: "message", Type: "string", Doc: "the printed message"}},
		Run: func(_ context.Context, rt *engine.Runtime, p *logParams) (map[string]any, error) {
			rt.Logf("%s", p.Message)
			return map[string]any{"message": p.Message}, nil
		},
	})
}
