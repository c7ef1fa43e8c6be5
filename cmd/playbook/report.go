package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/report"
	"github.com/spf13/cobra"
)

func newReportCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Build reports from recorded events"}
	var junit, html string
	merge := &cobra.Command{
		Use:   "merge EVENTS...",
		Short: "Put the runs of separate jobs side by side, as one job's report",
		Long: `Read the JSON event files of separate runs (playbook run -o json > FILE), for example one
CI matrix job per mode, and build the report one job running them all would have built: the
comparison table on stdout, with --junit a suite per run, with --html the page. Each file's runs keep their
cell names; a run of one playbook is named after it, and a name seen before gets -2, -3.`,
		Example: `  playbook report merge kubeproxy.jsonl kpr.jsonl kpr-ebpf.jsonl --junit modes.xml --html modes.html`,
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			comparison := report.NewComparison()
			reps := []engine.Reporter{comparison}
			var files []interface{ Close() error }
			if junit != "" {
				j := report.NewJUnitReporter(junit)
				reps, files = append(reps, j), append(files, j)
			}
			if html != "" {
				h := report.NewHTMLReporter(html)
				reps, files = append(reps, h), append(files, h)
			}
			if err := mergeEvents(args, reps); err != nil {
				return err
			}
			if err := comparison.Write(os.Stdout); err != nil {
				return err
			}
			for _, f := range files {
				if err := f.Close(); err != nil {
					return err
				}
			}
			return nil
		},
	}
	merge.Flags().StringVar(&junit, "junit", "", "write a JUnit XML report, a suite per run, to this file")
	merge.Flags().StringVar(&html, "html", "", "write the self-contained HTML report to this file")
	cmd.AddCommand(merge)
	return cmd
}

// mergeEvents feeds every event of the files to the reporters, each run as a cell of its own.
func mergeEvents(paths []string, reps []engine.Reporter) error {
	taken := map[string]int{}
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return &usageError{err}
		}
		renamed := map[string]string{} // a file's cell -> its name in the merge
		scanner := bufio.NewScanner(f)
		scanner.Buffer(make([]byte, 1<<20), 64<<20)
		for line := 1; scanner.Scan(); line++ {
			if len(scanner.Bytes()) == 0 {
				continue
			}
			var e engine.Event
			if err := json.Unmarshal(scanner.Bytes(), &e); err != nil {
				f.Close()
				return &usageError{fmt.Errorf("%s:%d: not a playbook event (want the lines of playbook run -o json): %v", path, line, err)}
			}
			cell := report.CellOf(e)
			name, ok := renamed[cell]
			if !ok {
				name = cell
				if taken[cell]++; taken[cell] > 1 {
					name += "-" + strconv.Itoa(taken[cell])
				}
				renamed[cell] = name
			}
			e.Cell = name
			for _, r := range reps {
				r.Handle(e)
			}
		}
		err = scanner.Err()
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}
