package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func newValidateCommand() *cobra.Command {
	var lf loadFlags
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Load, check and compile playbooks (and matrix files); print only problems",
		Long: `Load, check and compile playbooks as run would, running nothing: unknown keys, wrong
types, expressions, includes, vars. Prints each problem as file:line:col: message, and warnings
(a read of outputs a skipped step would not have); exits 2 on an error, 0 otherwise.`,
		Example: `  playbook validate playbooks/*.yaml
  playbook validate playbooks/kpr.yaml --vars-file playbooks/vars/lab.yaml`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{fmt.Errorf("validate needs at least one playbook file")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			// Files that include the same broken base would repeat its problems: say each once.
			seen := map[string]bool{}
			say := func(text string) {
				for _, line := range strings.Split(text, "\n") {
					if !seen[line] {
						seen[line] = true
						fmt.Fprintln(os.Stderr, line)
					}
				}
			}
			var failed error
			cells, errs := loadCells(args, lf)
			for _, err := range errs {
				failed = err
				say(err.Error())
			}
			for _, c := range cells {
				for _, w := range c.Plan.Warnings {
					say(w.Error())
				}
			}
			if failed != nil {
				return &alreadyReported{&invalid{failed}}
			}
			return nil
		},
	}
	lf.register(cmd)
	return cmd
}
