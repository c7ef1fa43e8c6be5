package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/kindlab/playbook/engine"
)

type execParams struct {
	Argv        []string          `yaml:"argv" doc:"the program and its arguments, run directly: no shell ever sees them"`
	Shell       string            `yaml:"shell" doc:"a script run by /bin/sh -c, only when you write it; ${{ }} values in it are shell-quoted" pb:"shell"`
	Env         map[string]string `yaml:"env" doc:"environment variables added to the playbook's own"`
	Dir         string            `yaml:"dir" doc:"working directory, relative to the playbook file"`
	Stdin       string            `yaml:"stdin" doc:"text fed to standard input"`
	OkExitCodes []int             `yaml:"okExitCodes" doc:"exit codes that count as success besides 0"`
}

// killGrace is how long a cancelled command gets between SIGTERM and SIGKILL: short enough
// that Ctrl-C stops a step within a second.
const killGrace = 800 * time.Millisecond

func init() {
	engine.Register(engine.StepType[execParams]{
		Name:    "exec",
		Summary: "run a local command (argv, or a shell script when you write shell:)",
		Outputs: []engine.OutputDoc{
			{Name: "stdout", Type: "string", Doc: "standard output, without the trailing newline"},
			{Name: "stderr", Type: "string", Doc: "standard error, without the trailing newline"},
			{Name: "exitCode", Type: "int", Doc: "the exit code (-1 when killed by a signal)"},
		},
		Validate: func(p *execParams) error {
			switch {
			case len(p.Argv) == 0 && p.Shell == "":
				return engine.Errorf("argv", "write argv (a list) or shell (a script)")
			case len(p.Argv) > 0 && p.Shell != "":
				return engine.Errorf("shell", "write argv or shell, not both")
			}
			return nil
		},
		Run: runExec,
	})
}

func runExec(ctx context.Context, rt *engine.Runtime, p *execParams) (map[string]any, error) {
	argv := p.Argv
	if p.Shell != "" {
		argv = []string{"/bin/sh", "-c", p.Shell}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = killGrace
	cmd.Dir = rt.Dir()
	if p.Dir != "" {
		cmd.Dir = p.Dir
		if !filepath.IsAbs(p.Dir) {
			cmd.Dir = filepath.Join(rt.Dir(), p.Dir)
		}
	}
	cmd.Env = os.Environ()
	for k, v := range p.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if p.Stdin != "" {
		cmd.Stdin = strings.NewReader(p.Stdin)
	}
	var stdout, stderr bytes.Buffer
	outLines, errLines := rt.Output("stdout"), rt.Output("stderr")
	cmd.Stdout = io.MultiWriter(&stdout, outLines)
	cmd.Stderr = io.MultiWriter(&stderr, errLines)
	err := cmd.Run()
	outLines.Close()
	errLines.Close()
	// Kill whatever the command left behind in its process group.
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	code := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		return nil, err
	}
	outputs := map[string]any{
		"stdout":   strings.TrimRight(stdout.String(), "\n"),
		"stderr":   strings.TrimRight(stderr.String(), "\n"),
		"exitCode": code,
	}
	if ctx.Err() != nil {
		return outputs, context.Cause(ctx)
	}
	if code != 0 && !slices.Contains(p.OkExitCodes, code) {
		return outputs, fmt.Errorf("%s exited with code %d%s", argv[0], code, lastLine(stderr.String()))
	}
	return outputs, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return ": " + s[strings.LastIndexByte(s, '\n')+1:]
}
