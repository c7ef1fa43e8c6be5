package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/fanout"
	"github.com/kindlab/playbook/internal/kube"
	"github.com/kindlab/playbook/internal/remotekill"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
)

type kubeExecParams struct {
	kube.Target `yaml:",inline"`
	Argv        []string      `yaml:"argv" doc:"the command run in the container, without a shell" pb:"oneof=command"`
	Shell       engine.Script `yaml:"shell" doc:"a script for sh -c in the container, only when you write it; each ${{ }} value reaches it through env(1), as an argument no shell parses" pb:"oneof=command"`
	Pod         string        `yaml:"pod" doc:"pod name"`
	Selector    string        `yaml:"selector" doc:"label selector; the first running pod by name (or each, with allPods)"`
	DaemonSet   string        `yaml:"daemonset" doc:"namespace/name of a DaemonSet, e.g. kube-system/cilium: its pods"`
	Namespace   string        `yaml:"namespace" doc:"namespace of pod or selector (default: the kubeconfig context's, else default)"`
	Container   string        `yaml:"container" doc:"container name (default: the pod's default container)"`
	AllPods     bool          `yaml:"allPods" doc:"run in every selected pod, in parallel"`
	Stdin       string        `yaml:"stdin" doc:"text fed to standard input"`
	OkExitCodes []int         `yaml:"okExitCodes" doc:"exit codes that count as success besides 0"`
}

func init() {
	engine.Register(engine.StepType[kubeExecParams]{
		Name:    "kubectlExec",
		Summary: "run a command in a pod (by name, selector or DaemonSet; one pod or all of them)",
		Example: `- name: agent status on every node
  id: status
  kubectlExec:
    daemonset: kube-system/cilium
    allPods: true
    argv: [cilium-dbg, status, -o, json]`,
		Outputs: []engine.OutputDoc{
			{Name: "stdout", Type: "string", Doc: "standard output of the (first) pod"},
			{Name: "stderr", Type: "string", Doc: "standard error of the (first) pod"},
			{Name: "exitCode", Type: "int", Doc: "exit code of the (first) pod"},
			{Name: "pods", Type: "list", Doc: "each pod: pod, node, stdout, stderr, exitCode"},
		},
		Validate: func(p *kubeExecParams) error {
			given := 0
			for _, s := range []string{p.Pod, p.Selector, p.DaemonSet} {
				if s != "" {
					given++
				}
			}
			if given != 1 {
				return engine.Errorf("pod", "give exactly one of pod, selector or daemonset")
			}
			if (len(p.Argv) == 0) == (p.Shell.Text == "") {
				return engine.Errorf("argv", "write argv (a list) or shell (a script), one of them")
			}
			if p.DaemonSet != "" && strings.Count(p.DaemonSet, "/") > 1 {
				return engine.Errorf("daemonset", "expected namespace/name, got %q", p.DaemonSet)
			}
			return nil
		},
		Run: runKubeExec,
	})
}

func runKubeExec(ctx context.Context, rt *engine.Runtime, p *kubeExecParams) (map[string]any, error) {
	c, err := kube.Connect(rt, p.Target)
	if err != nil {
		return nil, err
	}
	pods, err := selectPods(ctx, c.Clientset, c.Namespace(p.Namespace), p)
	if err != nil {
		return nil, err
	}
	results := make([]map[string]any, len(pods))
	err = fanout.Each(ctx, len(pods), 0, func(ctx context.Context, i int) error {
		var err error
		results[i], err = execInPod(ctx, c, rt.WithPrefix(pods[i].Name), pods[i], p)
		return err
	})
	out := map[string]any{"pods": []any{}}
	for i, r := range results {
		if r == nil {
			r = map[string]any{"pod": pods[i].Name, "node": pods[i].Spec.NodeName, "stdout": "", "stderr": "", "exitCode": -1}
		}
		out["pods"] = append(out["pods"].([]any), r)
		if i == 0 {
			out["stdout"], out["stderr"], out["exitCode"] = r["stdout"], r["stderr"], r["exitCode"]
		}
	}
	return out, err
}

// selectPods finds the pods to run in: by name, or the running pods a selector or a
// DaemonSet's own selector and ownership pick, sorted by name.
func selectPods(ctx context.Context, cs kubernetes.Interface, ns string, p *kubeExecParams) ([]corev1.Pod, error) {
	if p.Pod != "" {
		pod, err := cs.CoreV1().Pods(ns).Get(ctx, p.Pod, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return []corev1.Pod{*pod}, nil
	}
	selector, owner, what := p.Selector, "", "pods matching "+p.Selector
	if p.DaemonSet != "" {
		name := p.DaemonSet
		if before, after, ok := strings.Cut(p.DaemonSet, "/"); ok {
			ns, name = before, after
		}
		ds, err := cs.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("daemonset %s/%s: %w", ns, name, err)
		}
		sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
		if err != nil {
			return nil, err
		}
		selector, owner, what = sel.String(), string(ds.UID), "pods of DaemonSet "+ns+"/"+name
	}
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	pods := runningPods(list.Items, owner)
	if len(pods) == 0 {
		return nil, fmt.Errorf("no running %s in namespace %s (%d found, none running)", what, ns, len(list.Items))
	}
	if !p.AllPods {
		pods = pods[:1]
	}
	return pods, nil
}

func runningPods(pods []corev1.Pod, ownerUID string) []corev1.Pod {
	var out []corev1.Pod
	for _, pod := range pods {
		if pod.Status.Phase != corev1.PodRunning || pod.DeletionTimestamp != nil {
			continue
		}
		if ownerUID != "" && !ownedBy(pod, ownerUID) {
			continue
		}
		out = append(out, pod)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func ownedBy(pod corev1.Pod, uid string) bool {
	for _, ref := range pod.OwnerReferences {
		if string(ref.UID) == uid {
			return true
		}
	}
	return false
}

// execRequest is the API request behind `kubectl exec`.
func execRequest(client rest.Interface, pod corev1.Pod, container string, argv []string, stdin bool) *rest.Request {
	return client.Post().Resource("pods").Namespace(pod.Namespace).Name(pod.Name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: argv,
			Stdin: stdin, Stdout: true, Stderr: true}, scheme.ParameterCodec)
}

// execInPod runs the command under `env` with a marker (remotekill), so that a cancelled step
// can end it and all it started; in a container without env, it runs the command as it is.
func execInPod(ctx context.Context, c *kube.Client, rt *engine.Runtime, pod corev1.Pod, p *kubeExecParams) (map[string]any, error) {
	marker := remotekill.NewMarker()
	command := p.Argv
	for _, kv := range p.Shell.Env {
		if !utf8.ValidString(kv) {
			name, _, _ := strings.Cut(kv, "=")
			return nil, fmt.Errorf("shell: the value of %s is not UTF-8 text, which the Kubernetes exec API cannot carry", name)
		}
	}
	if p.Shell.Text != "" {
		// env(1) sets the values: they travel as arguments, which no shell parses.
		command = append(append([]string{}, p.Shell.Env...), "sh", "-c", p.Shell.Text)
	}
	res, err := streamInPod(ctx, c, rt, pod, p, append([]string{"env", marker}, command...))
	if err != nil && strings.Contains(err.Error(), `"env": executable file not found`) {
		if p.Shell.Text != "" {
			return res, fmt.Errorf("shell: the container has no env(1), which hands the script its values; use argv")
		}
		return streamInPod(ctx, c, rt, pod, p, p.Argv)
	}
	if ctx.Err() != nil {
		killCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = stream(killCtx, c, pod, p.Container, remotekill.Command(marker), remotecommand.StreamOptions{Stdout: io.Discard, Stderr: io.Discard})
	}
	return res, err
}

func streamInPod(ctx context.Context, c *kube.Client, rt *engine.Runtime, pod corev1.Pod, p *kubeExecParams, argv []string) (map[string]any, error) {
	stdout, stderr := rt.Capture("stdout"), rt.Capture("stderr")
	opts := remotecommand.StreamOptions{Stdout: stdout, Stderr: stderr}
	if p.Stdin != "" {
		opts.Stdin = strings.NewReader(p.Stdin)
	}
	streamErr := stream(ctx, c, pod, p.Container, argv, opts)
	stdout.Close()
	stderr.Close()
	return execResult(pod, stdout.String(), stderr.String(), streamErr, p.OkExitCodes)
}

// stream runs argv in the pod: WebSocket first, SPDY for servers that do not speak it, as
// kubectl itself does.
func stream(ctx context.Context, c *kube.Client, pod corev1.Pod, container string, argv []string, opts remotecommand.StreamOptions) error {
	req := execRequest(c.Clientset.CoreV1().RESTClient(), pod, container, argv, opts.Stdin != nil)
	ws, err := remotecommand.NewWebSocketExecutor(c.Config, "GET", req.URL().String())
	if err != nil {
		return err
	}
	spdy, err := remotecommand.NewSPDYExecutor(c.Config, "POST", req.URL())
	if err != nil {
		return err
	}
	executor, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return err
	}
	return executor.StreamWithContext(ctx, opts)
}

// execResult turns what the stream returned into outputs: a non-zero exit is an exit code,
// anything else a failure to run at all.
func execResult(pod corev1.Pod, stdout, stderr string, streamErr error, ok []int) (map[string]any, error) {
	code := 0
	var exitErr utilexec.CodeExitError
	switch {
	case errors.As(streamErr, &exitErr):
		code = exitErr.Code
	case streamErr != nil:
		return map[string]any{"pod": pod.Name, "node": pod.Spec.NodeName, "stdout": stdout, "stderr": stderr, "exitCode": -1},
			fmt.Errorf("pod %s: %w", pod.Name, streamErr)
	}
	result := map[string]any{"pod": pod.Name, "node": pod.Spec.NodeName,
		"stdout": strings.TrimRight(stdout, "\n"), "stderr": strings.TrimRight(stderr, "\n"), "exitCode": code}
	if code != 0 && !slices.Contains(ok, code) {
		return result, fmt.Errorf("pod %s: exited with code %d%s", pod.Name, code, lastLine(stderr))
	}
	return result, nil
}
