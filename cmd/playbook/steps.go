package main

import (
	"encoding/json"
	"fmt"
	"io"
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
		Short: "List the step types, or show one's parameters, outputs and an example",
		Example: `  playbook steps
  playbook steps exec
  playbook steps kindCreate -o json`,
		Args: cobra.MaximumNArgs(1),
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
				fmt.Fprintf(w, "\nplaybook steps NAME shows one: its parameters, outputs and an example.\n")
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
	printParams(w, d.Params, "  ", "")
	fmt.Fprintf(w, "\noutputs (steps.<id>.outputs.NAME; a looped step's outputs are a list, one per item):\n")
	for _, o := range d.Outputs {
		fmt.Fprintf(w, "  %s\t%s\t%s\n", o.Name, o.Type, o.Doc)
	}
	if d.Example != "" {
		fmt.Fprintf(w, "\nexample:\n%s\n", indentLines(d.Example, "  "))
	}
	fmt.Fprintf(w, "\nevery step also takes:\n")
	printParams(w, engine.StepKeyDocs, "  ", "")
}

// printParams lists parameters with their full dotted key (nodes.extraMounts.hostPath), each
// level indented once more than its parent.
func printParams(w io.Writer, params []engine.ParamDoc, indent, parent string) {
	for _, p := range params {
		var marks []string
		if p.Required {
			marks = append(marks, "required")
		}
		if p.OneOf != "" {
			marks = append(marks, "one of: "+strings.Join(oneOfGroup(params, p.OneOf), ", "))
		}
		mark := ""
		if len(marks) > 0 {
			mark = " (" + strings.Join(marks, "; ") + ")"
		}
		fmt.Fprintf(w, "%s%s%s\t%s%s\t%s\n", indent, parent, p.Key, p.Type, mark, p.Doc)
		if len(p.Keys) > 0 {
			printParams(w, p.Keys, indent+"  ", parent+p.Key+".")
		}
	}
}

func oneOfGroup(params []engine.ParamDoc, group string) []string {
	var keys []string
	for _, p := range params {
		if p.OneOf == group {
			keys = append(keys, p.Key)
		}
	}
	return keys
}

func indentLines(text, prefix string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}
