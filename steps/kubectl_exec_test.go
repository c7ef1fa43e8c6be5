package steps

import (
	"context"
	"os"
	"path/filepath"

	"errors"
	"github.com/kindlab/playbook/engine"
	"net/url"
	"strings"
	"testing"

	"github.com/kindlab/playbook/internal/testenv"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	utilexec "k8s.io/client-go/util/exec"
)

// The request is what `kubectl exec` sends; its real path (a kubelet) runs in the e2e test.
func TestExecRequestIsKubectlExec(t *testing.T) {
	cs := kubernetes.NewForConfigOrDie(&rest.Config{Host: "https://127.0.0.1:6443"})
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "cilium-abc", Namespace: "kube-system"}}
	req := execRequest(cs.CoreV1().RESTClient(), pod, "cilium-agent", []string{"cilium", "status", "-o", "json"}, false)
	u := req.URL()
	if u.Path != "/api/v1/namespaces/kube-system/pods/cilium-abc/exec" {
		t.Errorf("path %s", u.Path)
	}
	want := url.Values{"command": {"cilium", "status", "-o", "json"}, "container": {"cilium-agent"}, "stdout": {"true"}, "stderr": {"true"}}
	if got := u.Query(); got.Encode() != want.Encode() {
		t.Errorf("query %s, want %s", got.Encode(), want.Encode())
	}
}

func TestExecResult(t *testing.T) {
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{NodeName: "n1"}}
	cases := []struct {
		name     string
		err      error
		ok       []int
		code     int
		failWith string
	}{
		{"success", nil, nil, 0, ""},
		{"non-zero exit", utilexec.CodeExitError{Err: errors.New("command terminated with exit code 3"), Code: 3}, nil, 3, "pod p: exited with code 3: boom"},
		{"allowed exit", utilexec.CodeExitError{Err: errors.New("exit 3"), Code: 3}, []int{3}, 3, ""},
		{"stream failure", errors.New("error dialing backend"), nil, -1, "pod p: error dialing backend"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := execResult(pod, "hello\n", "boom\n", tc.err, tc.ok)
			if out["exitCode"] != tc.code || out["node"] != "n1" || out["pod"] != "p" {
				t.Errorf("outputs %v", out)
			}
			if tc.failWith == "" && err != nil || tc.failWith != "" && (err == nil || err.Error() != tc.failWith) {
				t.Errorf("err = %v, want %q", err, tc.failWith)
			}
			if tc.code >= 0 && out["stdout"] != "hello" {
				t.Errorf("stdout %q", out["stdout"])
			}
		})
	}
}

// Pod selection on the real API server: a DaemonSet's running pods that it owns, by name.
func TestSelectPodsOfDaemonSet(t *testing.T) {
	cfg := testenv.Kube(t)
	ns := testenv.Namespace(t, cfg)
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	labels := map[string]string{"k8s-app": "cilium"}
	ds, err := cs.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "cilium"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "x"}}}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owner := []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "cilium", UID: ds.UID}}
	for _, p := range []struct {
		name    string
		owned   bool
		running bool
	}{{"cilium-b", true, true}, {"cilium-a", true, true}, {"cilium-pending", true, false}, {"impostor", false, true}} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.name, Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "x"}}}}
		if p.owned {
			pod.OwnerReferences = owner
		}
		created, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.running {
			created.Status.Phase = corev1.PodRunning
			if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	all, err := selectPods(ctx, cs, "default", &kubeExecParams{DaemonSet: ns + "/cilium", AllPods: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Name != "cilium-a" || all[1].Name != "cilium-b" {
		t.Errorf("allPods picked %v", podNames(all))
	}
	one, _ := selectPods(ctx, cs, "default", &kubeExecParams{DaemonSet: ns + "/cilium"})
	if len(one) != 1 || one[0].Name != "cilium-a" {
		t.Errorf("one pod: %v", podNames(one))
	}
	_, err = selectPods(ctx, cs, ns, &kubeExecParams{Selector: "k8s-app=none", Namespace: ns})
	if err == nil || !strings.Contains(err.Error(), "no running pods matching k8s-app=none") {
		t.Errorf("err = %v", err)
	}
	// Through the step, the exec request reaches the API server, which has no kubelet to
	// hand it to: the failure must name the pod and the server's reason.
	dir := t.TempDir()
	path := filepath.Join(dir, "pb.yaml")
	os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: x\nsteps:\n  - name: status\n    kubectlExec: {kubeconfig: "+testenv.Kubeconfig(t)+", daemonset: "+ns+"/cilium, argv: [cilium, status]}\n"), 0o644)
	pb, err := engine.Load(path, engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = pb.Run(ctx, engine.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "pod cilium-a: ") {
		t.Errorf("err = %v", err)
	}
	t.Log(err)
}

func podNames(pods []corev1.Pod) []string {
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	return names
}
