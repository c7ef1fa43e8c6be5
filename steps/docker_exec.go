package steps

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/docker"
	"github.com/kindlab/playbook/internal/fanout"
	"github.com/kindlab/playbook/internal/remotekill"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

type dockerExecParams struct {
	docker.Selection `yaml:",inline"`
	Argv             []string          `yaml:"argv" doc:"the command and its arguments, run directly in each container"`
	Shell            engine.Script     `yaml:"shell" doc:"a script for sh -c in each container, only when you write it; each ${{ }} value reaches it through the exec's environment, never as code"`
	User             string            `yaml:"user" doc:"user (name or uid[:gid]) to run as"`
	Env              map[string]string `yaml:"env" doc:"environment variables"`
	Workdir          string            `yaml:"workdir" doc:"working directory in the container"`
	OkExitCodes      []int             `yaml:"okExitCodes" doc:"exit codes that count as success besides 0"`
}

func init() {
	engine.Register(engine.StepType[dockerExecParams]{
		Name:    "dockerExec",
		Summary: "run a command in containers (by name, label or kind cluster), all at once, without a TTY",
		Example: `- name: NAT rules of every node
  id: nat
  dockerExec:
    kindCluster: lab
    argv: [iptables-save, -t, nat]`,
		Outputs: []engine.OutputDoc{
			{Name: "containers", Type: "list", Doc: "each container: container, stdout, stderr, exitCode, values"},
			{Name: "byContainer", Type: "map", Doc: "the same, keyed by container name"},
			{Name: "values", Type: "map", Doc: "the first container's values (by name): " + valuesOutputDoc},
		},
		OutputKeys: func(p *dockerExecParams) map[string][]string { return valuesKeys(p.Shell.Text) },
		Validate: func(p *dockerExecParams) error {
			if field, msg := p.Selection.Check(); msg != "" {
				return engine.Errorf(field, "%s", msg)
			}
			if (len(p.Argv) == 0) == (p.Shell.Text == "") {
				return engine.Errorf("argv", "write argv (a list) or shell (a script), one of them")
			}
			return nil
		},
		Run: runDockerExec,
	})
}

func runDockerExec(ctx context.Context, rt *engine.Runtime, p *dockerExecParams) (map[string]any, error) {
	cli, containers, err := p.Selection.Resolve(ctx, rt)
	if err != nil {
		return nil, err
	}
	argv := p.Argv
	if p.Shell.Text != "" {
		argv = []string{"sh", "-c", p.Shell.Text}
	}
	var env []string
	for k, v := range p.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	env = append(env, p.Shell.Env...)
	results := make([]map[string]any, len(containers))
	for i, c := range containers {
		results[i] = map[string]any{"container": c.Name, "stdout": "", "stderr": "", "exitCode": -1, "values": map[string]any{}}
	}
	err = fanout.Each(ctx, len(containers), 0, func(ctx context.Context, i int) error {
		c := containers[i]
		// The marker finds the command and all it started if the step is cancelled.
		marker := remotekill.NewMarker()
		outputFile := "/tmp/playbook-output-" + remotekill.MarkerID(marker)
		opts := client.ExecCreateOptions{Cmd: argv, User: p.User, Env: append([]string{marker, outputFileEnv + "=" + outputFile}, env...),
			WorkingDir: p.Workdir, AttachStdout: true, AttachStderr: true}
		var err error
		results[i], err = dockerExecOne(ctx, cli, rt.WithPrefix(c.Name), c, opts, p.OkExitCodes)
		return err
	})
	list := make([]any, len(results))
	byName := map[string]any{}
	for i, r := range results {
		list[i] = r
		byName[containers[i].Name] = r
	}
	values := map[string]any{}
	if len(results) > 0 {
		values = results[0]["values"].(map[string]any)
	}
	return map[string]any{"containers": list, "byContainer": byName, "values": values}, err
}

func dockerExecOne(ctx context.Context, cli *client.Client, rt *engine.Runtime, c docker.Container, opts client.ExecCreateOptions, ok []int) (map[string]any, error) {
	result := map[string]any{"container": c.Name, "stdout": "", "stderr": "", "exitCode": -1, "values": map[string]any{}}
	createOutputFile(ctx, cli, c, opts.Env[1])
	// As root: it made the file, and the command's user may not remove it from /tmp.
	defer execQuietly(cli, c, []string{"rm", "-f", strings.TrimPrefix(opts.Env[1], outputFileEnv+"=")}, "0")
	created, err := cli.ExecCreate(ctx, c.ID, opts)
	if err != nil {
		return result, fmt.Errorf("%s: %w", c.Name, err)
	}
	att, err := cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return result, fmt.Errorf("%s: %w", c.Name, err)
	}
	// Closing the connection is how a cancelled step stops waiting; the Docker API cannot
	// signal what it started, so a second exec ends it (remotekill).
	stop := context.AfterFunc(ctx, func() { att.Close() })
	defer stop()
	defer att.Close()
	defer func() {
		if ctx.Err() != nil {
			killInContainer(cli, c, opts.Env[0], opts.User)
		}
	}()
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
	if result["values"], err = containerOutputFile(ctx, cli, c, opts.Env[1]); err != nil {
		return result, fmt.Errorf("%s: %w", c.Name, err)
	}
	return result, nil
}

// createOutputFile makes the output file before the command runs, writable by any user: the
// command may run as one that cannot create files in /tmp. A container without a writable /tmp
// gets no file, and a command that writes one there gets the error.
func createOutputFile(ctx context.Context, cli *client.Client, c docker.Container, env string) {
	path := strings.TrimPrefix(env, outputFileEnv+"=")
	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	_ = tw.WriteHeader(&tar.Header{Name: filepath.Base(path), Mode: 0o666, Typeflag: tar.TypeReg})
	_ = tw.Close()
	_, _ = cli.CopyToContainer(ctx, c.ID, client.CopyToContainerOptions{DestinationPath: filepath.Dir(path), Content: &archive})
}

// containerOutputFile reads the output file the command wrote in the container, if any.
func containerOutputFile(ctx context.Context, cli *client.Client, c docker.Container, env string) (map[string]any, error) {
	path := strings.TrimPrefix(env, outputFileEnv+"=")
	res, err := cli.CopyFromContainer(ctx, c.ID, client.CopyFromContainerOptions{SourcePath: path})
	if cerrdefs.IsNotFound(err) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading $%s: %w", outputFileEnv, err)
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	if _, err := tr.Next(); err != nil {
		return nil, fmt.Errorf("reading $%s: %w", outputFileEnv, err)
	}
	return readOutputFile(tr)
}

// killInContainer ends a cancelled command.
func killInContainer(cli *client.Client, c docker.Container, marker, user string) {
	execQuietly(cli, c, remotekill.Command(marker), user)
}

// execQuietly runs a housekeeping command in the container and waits for it, with a context
// of its own: the step's may be done.
func execQuietly(cli *client.Client, c docker.Container, argv []string, user string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	created, err := cli.ExecCreate(ctx, c.ID, client.ExecCreateOptions{Cmd: argv, User: user, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return
	}
	att, err := cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return
	}
	defer att.Close()
	_, _ = io.Copy(io.Discard, att.Reader)
}
