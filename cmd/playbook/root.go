package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/model"
	"github.com/spf13/cobra"
)

// exitCodeHelp is what each exit code means; a command's help lists only those it can return.
var exitCodeHelp = []struct {
	code int
	text string
}{
	{exitOK, "success"},
	{exitStepFailed, "a step failed (its name, its cause and its last output are shown)"},
	{exitInvalid, "invalid playbook or usage: nothing ran (file:line:col, what was expected)"},
	{exitInterrupted, "interrupted (Ctrl-C or SIGTERM); the finally steps ran unless interrupted again"},
}

// exitCodesOf are the codes a command can return: those that run a playbook all of them,
// the others (validate, steps, version) only success and invalid usage.
func exitCodesOf(cmd *cobra.Command) []int {
	switch cmd.Name() {
	case "run", "plan", "playbook":
		return []int{exitOK, exitStepFailed, exitInvalid, exitInterrupted}
	}
	return []int{exitOK, exitInvalid}
}

// helpFooter ends a command's help: its exit codes and the environment it reads.
func helpFooter(cmd *cobra.Command) string {
	var b strings.Builder
	b.WriteString("\nExit codes:\n")
	for _, e := range exitCodeHelp {
		if slices.Contains(exitCodesOf(cmd), e.code) {
			fmt.Fprintf(&b, "  %-4d %s\n", e.code, e.text)
		}
	}
	b.WriteString(`
Environment:
  CI               set: plain progress lines instead of the live view
  NO_COLOR         set: no colour (https://no-color.org)
  XDG_STATE_HOME   where run state (--resume) and kind clusters' kubeconfigs live
  XDG_CACHE_HOME   where downloaded Helm charts are cached
`)
	return b.String()
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "playbook",
		Short: "Run declarative, checkable YAML playbooks (kind, Cilium, Kubernetes labs)",
		Long: `playbook runs declarative YAML playbooks: ordered steps with typed parameters, expressions,
loops, retries, timeouts and cleanup, all checked before anything runs.`,
		Example: `  playbook run playbooks/kpr-ebpf.yaml
  playbook validate playbooks/*.yaml
  playbook plan playbooks/kpr.yaml --render
  playbook steps exec`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.ArbitraryArgs,
		// Only reached with no command, or one that does not exist.
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			var names []string
			for _, c := range cmd.Commands() {
				if c.IsAvailableCommand() {
					names = append(names, c.Name())
				}
			}
			msg := fmt.Sprintf("unknown command %q (commands: %s)", args[0], strings.Join(names, ", "))
			if s := engine.Suggest(args[0], names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			return &usageError{fmt.Errorf("%s", msg)}
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(newRunCommand(), newValidateCommand(), newPlanCommand(), newStepsCommand(), newReportCommand(), newVersionCommand())
	for _, c := range append(root.Commands(), root) {
		c.SetHelpTemplate(root.HelpTemplate() + helpFooter(c))
	}
	return root
}

// loadFlags are the flags every command that loads a playbook shares.
type loadFlags struct {
	vars      []string
	varsFiles []string
	secrets   []string
}

// cellVars are the vars given on the command line, which every cell of a job shares: what a
// report says the cells ran with.
func (f *loadFlags) cellVars() map[string]string {
	vars := map[string]string{}
	for _, kv := range f.vars {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	return vars
}

func (f *loadFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.vars, "var", nil, "set a declared var: key=value, read as the var's declared type (a list takes a,b or [a, b]); repeatable")
	cmd.Flags().StringArrayVar(&f.varsFiles, "vars-file", nil, "YAML file of var values; repeatable")
	cmd.Flags().StringArrayVar(&f.secrets, "secret", nil, "set a secret the playbook declares: key=value (masked in all output); repeatable")
	_ = cmd.RegisterFlagCompletionFunc("var", func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		file := playbookToComplete(args)
		if file == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, v := range file.Vars {
			names = append(names, v.Name+"=")
		}
		return names, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	})
}

// registerStepCompletion completes step ids after the given flags, from the playbook file
// on the command line.
func registerStepCompletion(cmd *cobra.Command, flags ...string) {
	for _, flag := range flags {
		_ = cmd.RegisterFlagCompletionFunc(flag, func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			file := playbookToComplete(args)
			if file == nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var ids []string
			for _, s := range file.Steps {
				if id := s.Value("id"); id != nil {
					name := ""
					if n := s.Value("name"); n != nil {
						name = "\t" + n.Value
					}
					ids = append(ids, id.Value+name)
				}
			}
			return ids, cobra.ShellCompDirectiveNoFileComp
		})
	}
}

// playbookToComplete reads the playbook named on the command line, as far as it reads: a
// completion is best effort.
func playbookToComplete(args []string) *model.Playbook {
	for _, a := range args {
		if strings.HasSuffix(a, ".yaml") || strings.HasSuffix(a, ".yml") {
			if _, err := os.Stat(a); err == nil {
				file, _ := model.Load(a)
				return file
			}
		}
	}
	return nil
}

func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.MinimumNArgs(n)(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

func (f *loadFlags) options() engine.LoadOptions {
	return engine.LoadOptions{Vars: f.vars, VarsFiles: f.varsFiles, Secrets: f.secrets}
}

// load reads a playbook for a command that does not run it; problems go to stderr.
func (f *loadFlags) load(path string) (*engine.Plan, error) {
	pb, err := engine.Load(path, f.options())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return nil, &alreadyReported{err}
	}
	for _, w := range pb.Warnings {
		fmt.Fprintln(os.Stderr, w.Error())
	}
	return pb, nil
}
