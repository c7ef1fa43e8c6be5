package main

import (
	"fmt"
	"os"

	"github.com/kindlab/playbook/engine"
	"github.com/spf13/cobra"
)

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "playbook",
		Short:         "Run declarative, checkable YAML playbooks (kind, Cilium, Kubernetes labs)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(newRunCommand(), newValidateCommand(), newPlanCommand(), newStepsCommand(), newVersionCommand())
	return root
}

// loadFlags are the flags every command that loads a playbook shares.
type loadFlags struct {
	vars      []string
	varsFiles []string
	secrets   []string
}

func (f *loadFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.vars, "var", nil, "set a var: key=value (value read as YAML: 3 is a number); repeatable")
	cmd.Flags().StringArrayVar(&f.varsFiles, "vars-file", nil, "YAML file of var values; repeatable")
	cmd.Flags().StringArrayVar(&f.secrets, "secret", nil, "set a secret the playbook declares: key=value (masked in all output); repeatable")
}

func (f *loadFlags) load(path string) (*engine.Playbook, error) {
	pb, err := engine.Load(path, f.options())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return nil, &alreadyReported{err}
	}
	return pb, nil
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
