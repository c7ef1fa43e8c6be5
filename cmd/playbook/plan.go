package main

import (
	"context"

	"encoding/json"
	"fmt"
	"github.com/kindlab/playbook/engine"
	"os"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func newPlanCommand() *cobra.Command {
	var (
		lf     loadFlags
		output string
		render bool
	)
	cmd := &cobra.Command{
		Use:   "plan FILE",
		Short: "Show every step with its parameters resolved as far as possible, running nothing",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pb, err := lf.load(args[0])
			if err != nil {
				return err
			}
			ctx := context.Background()
			if render {
				ctx = engine.WithRender(ctx)
			}
			steps, err := pb.Plan(ctx)
			if err != nil {
				return err
			}
			doc := map[string]any{"playbook": pb.Name, "vars": pb.MaskedVars(), "steps": pb.MaskValue(steps)}
			switch output {
			case "json":
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(doc)
			case "text", "yaml":
				enc := yaml.NewEncoder(os.Stdout)
				enc.SetIndent(2)
				defer enc.Close()
				return enc.Encode(doc)
			}
			return &usageError{fmt.Errorf("--output must be text or json, got %q", output)}
		},
	}
	lf.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text (YAML) or json")
	cmd.Flags().BoolVar(&render, "render", false, "include what steps would produce (helmInstall: the rendered manifests, client-side)")
	return cmd
}
