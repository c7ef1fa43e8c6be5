package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/kindlab/playbook/engine"

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
			// Files that include the same broken base would repeat its errors: say each once.
			seen := map[string]bool{}
			var failed error
			for _, path := range args {
				_, err := engine.Load(path, lf.options())
				if err == nil {
					continue
				}
				failed = err
				for _, line := range strings.Split(err.Error(), "\n") {
					if !seen[line] {
						seen[line] = true
						fmt.Fprintln(os.Stderr, line)
					}
				}
			}
			if failed != nil {
				return &alreadyReported{failed}
			}
			return nil
		},
	}
	lf.register(cmd)
	return cmd
}
