package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kindlab/playbook/engine"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newRunCommand() *cobra.Command {
	var (
		lf      loadFlags
		only    []string
		startAt string
		output  string
		junit   string
		timeout time.Duration
		resume  bool
		state   string
	)
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run a playbook",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return &usageError{fmt.Errorf("--output must be text or json, got %q", output)}
			}
			pb, err := lf.load(args[0])
			if err != nil {
				return err
			}
			reporters, closeAll := buildReporters(output, junit)
			ctx, finallyCtx, stop := interruptContexts()
			defer stop()
			if state == "" {
				state = engine.DefaultStatePath(args[0])
			}
			_, runErr := pb.Run(ctx, engine.RunOptions{Only: only, StartAt: startAt, Timeout: timeout,
				Reporters: reporters, FinallyContext: finallyCtx, StatePath: state, Resume: resume})
			if err := closeAll(); err != nil && runErr == nil {
				return err
			}
			if runErr != nil {
				var stepErr *engine.StepError
				if !errors.As(runErr, &stepErr) && engine.IsInvalidInput(runErr) {
					return runErr // a bad --only or --start-at: nothing ran, say why
				}
				return &alreadyReported{runErr}
			}
			return nil
		},
	}
	lf.register(cmd)
	cmd.Flags().StringArrayVar(&only, "only", nil, "run only the step with this id; repeatable (finally steps still run)")
	cmd.Flags().StringVar(&startAt, "start-at", "", "skip the steps before the one with this id")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "progress format: text (live view on a terminal, plain lines otherwise) or json (one event per line)")
	cmd.Flags().StringVar(&junit, "junit", "", "write a JUnit XML report, one testcase per step, to this file")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "stop the main steps after this long (finally steps still run)")
	cmd.Flags().BoolVar(&resume, "resume", false, "skip steps that succeeded in the last run with the same resolved inputs, and go on from there")
	cmd.Flags().StringVar(&state, "state", "", "run state file (default ~/.local/state/playbook/runs/NAME-HASH.json)")
	return cmd
}

func buildReporters(output, junit string) ([]engine.Reporter, func() error) {
	var reporters []engine.Reporter
	var closers []io.Closer
	stdoutTTY := term.IsTerminal(int(os.Stdout.Fd()))
	switch {
	case output == "json":
		reporters = append(reporters, engine.NewJSONReporter(os.Stdout))
	case stdoutTTY && os.Getenv("CI") == "":
		live := engine.NewLiveReporter(os.Stdout, engine.ColorAllowed(), func() int {
			w, _, _ := term.GetSize(int(os.Stdout.Fd()))
			return w
		})
		reporters = append(reporters, live)
		closers = append(closers, live)
	default:
		reporters = append(reporters, engine.NewTextReporter(os.Stdout, stdoutTTY && engine.ColorAllowed()))
	}
	if junit != "" {
		j := engine.NewJUnitReporter(junit)
		reporters = append(reporters, j)
		closers = append(closers, j)
	}
	return reporters, func() error {
		var first error
		for _, c := range closers {
			if err := c.Close(); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
}

// interruptContexts returns the run's context, cancelled by the first Ctrl-C or SIGTERM, and
// the context of finally steps, cancelled only by a second one: cleanup still runs after an
// interruption, and a user in a hurry can still get out.
func interruptContexts() (context.Context, context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	finallyCtx, cancelFinally := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-signals:
			fmt.Fprintln(os.Stderr, "\ninterrupted: stopping the current step, then running finally steps (interrupt again to skip them)")
			cancel()
		case <-done:
			return
		}
		select {
		case <-signals:
			cancelFinally()
		case <-done:
		}
	}()
	return ctx, finallyCtx, func() {
		signal.Stop(signals)
		close(done)
		cancel()
		cancelFinally()
	}
}
