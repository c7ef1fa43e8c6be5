package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/kindlab/playbook/engine"
	"github.com/spf13/cobra"
)

func newStepsCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "steps [NAME]",
		Short: "List the step types, or show one's parameters and outputs",
		Args:  cobra.MaximumNArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			var names []string
			for _, p := range engine.Plugins() {
				names = append(names, p.Name+"\t"+p.Summary)
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			docs := engine.Plugins()
			if len(args) == 1 {
				docs = filterPlugins(docs, args[0])
				if len(docs) == 0 {
					return unknownStepType(args[0])
				}
			}
			if output == "json" {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(docs)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			defer w.Flush()
			if len(args) == 0 {
				for _, d := range docs {
					fmt.Fprintf(w, "%s\t%s\n", d.Name, d.Summary)
				}
				return nil
			}
			printPlugin(w, docs[0])
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func filterPlugins(docs []engine.PluginDoc, name string) []engine.PluginDoc {
	for _, d := range docs {
		if d.Name == name {
			return []engine.PluginDoc{d}
		}
	}
	return nil
}

func unknownStepType(name string) error {
	var names []string
	for _, p := range engine.Plugins() {
		names = append(names, p.Name)
	}
	msg := fmt.Sprintf("no step type %q (there are: %s)", name, strings.Join(names, ", "))
	if s := engine.Suggest(name, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return &usageError{fmt.Errorf("%s", msg)}
}

func printPlugin(w *tabwriter.Writer, d engine.PluginDoc) {
	fmt.Fprintf(w, "%s: %s\n\nparameters:\n", d.Name, d.Summary)
	for _, p := range d.Params {
		req := ""
		if p.Required {
			req = " (required)"
		}
		fmt.Fprintf(w, "  %s\t%s%s\t%s\n", p.Key, p.Type, req, p.Doc)
	}
	fmt.Fprintf(w, "\noutputs:\n")
	for _, o := range d.Outputs {
		fmt.Fprintf(w, "  %s\t%s\t%s\n", o.Name, o.Type, o.Doc)
	}
}
