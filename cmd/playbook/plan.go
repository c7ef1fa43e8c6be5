package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kindlab/playbook/engine"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func newPlanCommand() *cobra.Command {
	var (
		lf        loadFlags
		output    string
		render    bool
		renderDir string
	)
	cmd := &cobra.Command{
		Use:   "plan FILE",
		Short: "Show every step with its parameters resolved as far as possible, running nothing",
		Long: `Show every step as it would run: parameters resolved as far as vars decide them; values that
need earlier steps' results shown as their ${{ }} source. Secrets, and vars computed from them,
are masked.

With --render, steps show what they would create: helmInstall renders its chart on this
machine (never downloading) for the cluster's Kubernetes version. The objects follow the plan
as a YAML stream, one document per object, in the order Helm would install them; with
--render-dir DIR each object is also written to a file of its own.`,
		Example: `  playbook plan playbooks/kpr.yaml
  playbook plan playbooks/kpr.yaml --render --var ciliumChart=../shared/charts/cilium-1.20.0.tgz
  playbook plan playbooks/kpr.yaml --render-dir /tmp/kpr --vars-file playbooks/vars/lab.yaml
  playbook plan pb.yaml -o json | jq '.steps[].params'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "yaml" && output != "json" {
				return &usageError{fmt.Errorf("--output must be text or json, got %q", output)}
			}
			pb, err := lf.load(args[0])
			if err != nil {
				return err
			}
			ctx := context.Background()
			if render || renderDir != "" {
				ctx = engine.WithRender(ctx)
			}
			steps, err := pb.Describe(ctx)
			if err != nil {
				return err
			}
			if renderDir != "" {
				if err := writeRendered(renderDir, steps); err != nil {
					return err
				}
			}
			doc := map[string]any{"playbook": pb.Name, "vars": pb.MaskedVars(), "steps": steps}
			if output == "json" {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(doc)
			}
			enc := yaml.NewEncoder(os.Stdout)
			enc.SetIndent(2)
			if err := enc.Encode(doc); err != nil {
				return err
			}
			if err := enc.Close(); err != nil {
				return err
			}
			return writeStream(os.Stdout, steps)
		},
	}
	lf.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text (YAML) or json")
	cmd.Flags().BoolVar(&render, "render", false, "show what steps would create (helmInstall: its chart's objects, rendered here)")
	cmd.Flags().StringVar(&renderDir, "render-dir", "", "with --render: also write each object to a file of its own in this directory")
	return cmd
}

// writeStream prints rendered objects after the plan: one YAML document per object, as its
// template produced it, headed by where it came from.
func writeStream(w io.Writer, steps []engine.PlannedStep) error {
	for _, s := range steps {
		for _, o := range s.Rendered {
			if _, err := fmt.Fprintf(w, "---\n# Source: %s (step %s)\n%s", o.Source, stepLabel(s), o.YAML); err != nil {
				return err
			}
		}
	}
	return nil
}

var unsafeFileRE = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// writeRendered writes one file per object, as `helm template --output-dir` writes one per
// template: DIR/STEP/NNN-KIND-NAME.yaml, numbered in install order.
func writeRendered(dir string, steps []engine.PlannedStep) error {
	for _, s := range steps {
		if len(s.Rendered) == 0 {
			continue
		}
		stepDir := filepath.Join(dir, unsafeFileRE.ReplaceAllString(stepLabel(s), "_"))
		if err := os.MkdirAll(stepDir, 0o755); err != nil {
			return err
		}
		for i, o := range s.Rendered {
			name := fmt.Sprintf("%03d-%s-%s.yaml", i+1, strings.ToLower(o.Kind), o.Name)
			body := fmt.Sprintf("# Source: %s\n%s", o.Source, o.YAML)
			if err := os.WriteFile(filepath.Join(stepDir, unsafeFileRE.ReplaceAllString(name, "_")), []byte(body), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

func stepLabel(s engine.PlannedStep) string {
	if s.ID != "" {
		return s.ID
	}
	return s.Name
}
