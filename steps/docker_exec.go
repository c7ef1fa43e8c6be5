package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/docker"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

type dockerExecParams struct {
	docker.Selection `yaml:",inline"`
	Argv             []string          `yaml:"argv" doc:"the command and its arguments, run directly in each container"`
	Shell            string            `yaml:"shell" doc:"a script for sh -c in each container, only when you write it; ${{ }} values in it are shell-quoted" pb:"shell"`
	User             string            `yaml:"user" doc:"user (name or uid[:gid]) to run as"`
	Env              map[string]string `yaml:"env" doc:"environment variables"`
	Workdir          string            `yaml:"workdir" doc:"working directory in the container"`
	OkExitCodes      []int             `yaml:"okExitCodes" doc:"exit codes that count as success besides 0"`
}

func init() {
	engine.Register(engine.StepType[dockerExecParams]{
		Name:    "dockerExec",
		Summary: "run a command in containers (by name, label or kind cluster), all at once, without a TTY",
		Outputs: []engine.OutputDoc{
			{Name: "containers", Type: "list", Doc: "each container: container, stdout, stderr, exitCode"},
			{Name: "byContainer", Type: "map", Doc: "the same, keyed by container name"},
		},
		Validate: func(p *dockerExecParams) error {
			if field, msg := p.Selection.Check(); msg != "" {
				return engine.Errorf(field, "%s", msg)
			}
			if (len(p.Argv) == 0) == (p.Shell == "") {
				return engine.Errorf("argv", "write argv (a list) or shell (a script), one of them")
			}
			return nil
		},
		Run: runDockerExec,
	})
}

func runDockerExec(ctx context.Context, rt *engine.Runtime, p *dockerExecParams) (map[string]any, error) {
	cli, containers, err := p.Selection.Resolve(ctx)
	if err != nil {
		return nil, err
	}
	argv := p.Argv
	if p.Shell != "" {
		argv = []string{"sh", "-c", p.Shell}
	}
	var env []string
	for k, v := range p.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	results := make([]map[string]any, len(containers))
	errs := make([]error, len(containers))
	var wg sync.WaitGroup
	for i, c := range containers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			opts := client.ExecCreateOptions{Cmd: argv, User: p.User, Env: env, WorkingDir: p.Workdir, AttachStdout: true, AttachStderr: true}
			results[i], errs[i] = dockerExecOne(ctx, cli, rt.WithPrefix(c.Name), c, opts, p.OkExitCodes)
		}()
	}
	wg.Wait()
	list := make([]any, len(results))
	byName := map[string]any{}
	for i, r := range results {
		list[i] = r
		byName[containers[i].Name] = r
	}
	return map[string]any{"containers": list, "byContainer": byName}, errors.Join(errs...)
}

func dockerExecOne(ctx context.Context, cli *client.Client, rt *engine.Runtime, c docker.Container, opts client.ExecCreateOptions, ok []int) (map[string]any, error) {
	result := map[string]any{"container": c.Name, "stdout": "", "stderr": "", "exitCode": -1}
	created, err := cli.ExecCreate(ctx, c.ID, opts)
	if err != nil {
		return result, fmt.Errorf("%s: %w", c.Name, err)
	}
	att, err := cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return result, fmt.Errorf("%s: %w", c.Name, err)
	}
	// Closing the connection is how a cancelled step stops waiting: the Docker API has no
	// way to signal an exec'd process.
	stop := context.AfterFunc(ctx, func() { att.Close() })
	defer stop()
	defer att.Close()
	stdout, stderr := rt.Capture("stdout"), rt.Capture("stderr")
	_, copyErr := stdcopy.StdCopy(stdout, stderr, att.Reader)
	stdout.Close()
	stderr.Close()
	result["stdout"], result["stderr"] = stdout.String(), stderr.String()
	if ctx.Err() != nil {
		return result, context.Cause(ctx)
	}
	if copyErr != nil {
		return result, fmt.Errorf("%s: reading output: %w", c.Name, copyErr)
	}
	inspect, err := cli.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
	if err != nil {
		return result, fmt.Errorf("%s: %w", c.Name, err)
	}
	result["exitCode"] = inspect.ExitCode
	if inspect.ExitCode != 0 && !slices.Contains(ok, inspect.ExitCode) {
		return result, fmt.Errorf("%s: %s exited with code %d%s", c.Name, opts.Cmd[0], inspect.ExitCode, lastLine(stderr.String()))
	}
	return result, nil
}
