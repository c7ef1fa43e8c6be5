package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kindlab/playbook/engine"
)

type execParams struct {
	Argv        []string          `yaml:"argv" doc:"the program and its arguments, run directly: no shell ever sees them" pb:"oneof=command"`
	Shell       engine.Script     `yaml:"shell" doc:"a script run by /bin/sh -c, only when you write it; each ${{ }} value reaches it through the environment, never as code" pb:"oneof=command"`
	Env         map[string]string `yaml:"env" doc:"environment variables added to the playbook's own"`
	Dir         string            `yaml:"dir" doc:"working directory, relative to the playbook file"`
	Stdin       string            `yaml:"stdin" doc:"text fed to standard input"`
	OkExitCodes []int             `yaml:"okExitCodes" doc:"exit codes that count as success besides 0"`
}

// killGrace is how long a cancelled command gets between SIGTERM and SIGKILL: short enough
// that Ctrl-C stops a step within a second.
const killGrace = 800 * time.Millisecond

// outputSettle is how long a command's output may still arrive after it exited, when
// something it started in the background holds the same stdout.
const outputSettle = 100 * time.Millisecond

func init() {
	engine.Register(engine.StepType[execParams]{
		Name:    "exec",
		Summary: "run a local command (argv, or a shell script when you write shell:)",
		Example: `- name: the demo answers through a port-forward
  exec:
    shell: |
      kubectl port-forward svc/web 8080:80 >/dev/null &
      sleep 1 && curl -sf http://127.0.0.1:8080/`,
		Outputs: []engine.OutputDoc{
			{Name: "stdout", Type: "string", Doc: "standard output, without the trailing newline"},
			{Name: "stderr", Type: "string", Doc: "standard error, without the trailing newline"},
			{Name: "exitCode", Type: "int", Doc: "the exit code (-1 when killed by a signal)"},
			{Name: "values", Type: "map", Doc: valuesOutputDoc},
		},
		OutputKeys: func(p *execParams) map[string][]string { return valuesKeys(p.Shell.Text) },
		Validate: func(p *execParams) error {
			switch {
			case len(p.Argv) == 0 && p.Shell.Text == "":
				return engine.Errorf("argv", "write argv (a list) or shell (a script)")
			case len(p.Argv) > 0 && p.Shell.Text != "":
				return engine.Errorf("shell", "write argv or shell, not both")
			}
			return nil
		},
		Run: runExec,
	})
}

// runExec runs the command in a process group of its own. The step is done when the command
// exits, even if something it started in the background (`kubectl port-forward ... &`) still
// holds its output: that keeps running, its output drained, until the run ends, when its
// process group gets SIGTERM and then SIGKILL. A cancelled step takes its whole group down at
// once.
func runExec(ctx context.Context, rt *engine.Runtime, p *execParams) (map[string]any, error) {
	argv := p.Argv
	if p.Shell.Text != "" {
		argv = []string{"/bin/sh", "-c", p.Shell.Text}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Dir = rt.Dir()
	if p.Dir != "" {
		cmd.Dir = p.Dir
		if !filepath.IsAbs(p.Dir) {
			cmd.Dir = filepath.Join(rt.Dir(), p.Dir)
		}
	}
	if info, err := os.Stat(cmd.Dir); err != nil || !info.IsDir() {
		// exec would blame the program ("fork/exec /usr/bin/true: no such file or directory").
		return nil, engine.Errorf("dir", "the working directory %s is not there (or not a directory)", cmd.Dir)
	}
	outputFile, err := os.CreateTemp("", "playbook-output-*")
	if err != nil {
		return nil, err
	}
	outputFile.Close()
	defer os.Remove(outputFile.Name())
	cmd.Env = append(os.Environ(), outputFileEnv+"="+outputFile.Name())
	for k, v := range p.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, p.Shell.Env...)
	if p.Stdin != "" {
		cmd.Stdin = strings.NewReader(p.Stdin)
	}
	stdout, stderr := rt.Capture("stdout"), rt.Capture("stderr")
	outPipe, err := newDrain(stdout)
	if err != nil {
		return nil, err
	}
	errPipe, err := newDrain(stderr)
	if err != nil {
		outPipe.abandon()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outPipe.w, errPipe.w
	if err := cmd.Start(); err != nil {
		outPipe.abandon()
		errPipe.abandon()
		return nil, err
	}
	outPipe.started()
	errPipe.started()
	group := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var waitErr error
	select {
	case waitErr = <-exited:
	case <-ctx.Done():
		// SIGTERM to the group, SIGKILL to what is left after the grace period.
		_ = syscall.Kill(-group, syscall.SIGTERM)
		select {
		case waitErr = <-exited:
		case <-time.After(killGrace):
			_ = syscall.Kill(-group, syscall.SIGKILL)
			waitErr = <-exited
		}
		_ = syscall.Kill(-group, syscall.SIGKILL)
	}
	outLeft, errLeft := outPipe.settle(), errPipe.settle()
	leftovers := outLeft || errLeft
	stdout.Close()
	stderr.Close()
	if leftovers || groupAlive(group) {
		if ctx.Err() != nil {
			killGroupAndWait(group)
			outPipe.abandon()
			errPipe.abandon()
		} else {
			rt.Logf("left running in the background until the run ends: process group %d", group)
			rt.OnRunEnd(func(ctx context.Context) {
				stopGroup(ctx, group)
				outPipe.abandon()
				errPipe.abandon()
			})
		}
	}
	code := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(waitErr, &exitErr):
		code = exitErr.ExitCode()
	case waitErr != nil:
		return nil, waitErr
	}
	outputs := map[string]any{"stdout": stdout.String(), "stderr": stderr.String(), "exitCode": code, "values": map[string]any{}}
	if ctx.Err() != nil {
		return outputs, context.Cause(ctx)
	}
	if code != 0 && !slices.Contains(p.OkExitCodes, code) {
		return outputs, fmt.Errorf("%s exited with code %d%s", argv[0], code, lastLine(stderr.String()))
	}
	written, err := os.Open(outputFile.Name())
	if err != nil {
		return outputs, err
	}
	defer written.Close()
	if outputs["values"], err = readOutputFile(written); err != nil {
		return outputs, err
	}
	return outputs, nil
}

// groupAlive reports whether any process of the group is left.
func groupAlive(group int) bool { return syscall.Kill(-group, 0) == nil }

// killGroupAndWait kills the group and waits, briefly, until the kernel has taken it down:
// SIGKILL is delivered asynchronously, and a process in uninterruptible sleep (a busy disk)
// outlives kill() by a while. A cancelled step returns only when its processes are gone.
func killGroupAndWait(group int) {
	_ = syscall.Kill(-group, syscall.SIGKILL)
	awaitGroupGone(context.Background(), group, 5*time.Second)
}

// awaitGroupGone reports whether the group is gone within the time given (false when ctx
// ends first).
func awaitGroupGone(ctx context.Context, group int, within time.Duration) bool {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for groupAlive(group) {
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return false
		case <-tick.C:
		}
	}
	return true
}

// stopGroup ends what a step left behind: SIGTERM, then SIGKILL after the grace period, or at
// once when ctx (a second Ctrl-C) says not to wait.
func stopGroup(ctx context.Context, group int) {
	if !groupAlive(group) {
		return
	}
	_ = syscall.Kill(-group, syscall.SIGTERM)
	if !awaitGroupGone(ctx, group, killGrace) {
		_ = syscall.Kill(-group, syscall.SIGKILL)
	}
}

// drain is one output pipe of a command: the command writes into w, a goroutine copies r into
// the step's capture until the step is done, and then on into nothing, so that a background
// process holding w is never killed by a closed pipe (SIGPIPE).
type drain struct {
	r, w   *os.File
	sink   *switchWriter
	copied chan struct{}
	// idleSince is when the copier last started waiting for the pipe (0 while it is passing
	// output on, however slowly the reports are read).
	idleSince atomic.Int64
}

func newDrain(capture io.Writer) (*drain, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	d := &drain{r: r, w: w, sink: &switchWriter{w: capture}, copied: make(chan struct{})}
	go func() {
		defer close(d.copied)
		buf := make([]byte, 64<<10)
		for {
			d.idleSince.Store(time.Now().UnixNano())
			n, err := r.Read(buf)
			d.idleSince.Store(0)
			if n > 0 {
				_, _ = d.sink.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	return d, nil
}

// started closes the parent's copy of the write end: EOF then comes when every process that
// holds it is gone.
func (d *drain) started() { d.w.Close() }

// settle waits for the command's last output: until EOF, however long passing it on to slow
// reports takes. Only when the pipe stays open and silent for outputSettle (something the
// command started in the background holds it) does it stop waiting; it then reports true,
// and that process's output from now on goes nowhere.
func (d *drain) settle() bool {
	tick := time.NewTicker(outputSettle / 5)
	defer tick.Stop()
	for {
		select {
		case <-d.copied:
			return false
		case <-tick.C:
		}
		if idle := d.idleSince.Load(); idle != 0 && time.Since(time.Unix(0, idle)) >= outputSettle {
			d.sink.detach()
			return true
		}
	}
}

func (d *drain) abandon() {
	d.w.Close()
	d.r.Close()
}

// switchWriter passes writes on until it is detached, and drops them after.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil {
		_, _ = s.w.Write(p)
	}
	return len(p), nil
}

func (s *switchWriter) detach() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w = nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return ": " + s[strings.LastIndexByte(s, '\n')+1:]
}
