package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCommand() *cobra.Command {
	var lf loadFlags
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Load, check and compile playbooks; print only errors",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{fmt.Errorf("validate needs at least one playbook file")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var failed error
			for _, path := range args {
				if _, err := lf.load(path); err != nil {
					failed = err
				}
			}
			return failed
		},
	}
	lf.register(cmd)
	return cmd
}
