package playbooks_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/testenv"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The proofs after wait-demo need a ready demo pod, with its IP, on every node. A DaemonSet
// whose nodes still carry a NoSchedule taint (node.kubernetes.io/not-ready just after the
// CNI starts, or Cilium's agent-not-ready) wants no pods, and its rollout is complete: a
// live kpr-ebpf run went on at once and found pods without IPs. So wait-demo must not pass
// while the DaemonSet wants no pods.
func TestDemoWaitNeedsAPodOnEveryNode(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	kubeconfig := testenv.Kubeconfig(t)
	cs := kubernetes.NewForConfigOrDie(testenv.Kube(t))
	ctx := context.Background()
	name := testenv.Name(t, "demo")
	labels := map[string]string{"app": name}
	ds, err := cs.AppsV1().DaemonSets("default").Create(ctx, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "kindlab/busybox:lab"}}}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.AppsV1().DaemonSets("default").Delete(context.Background(), name, metav1.DeleteOptions{}) })
	// What the DaemonSet controller writes while every node is tainted (the test server runs
	// no controllers, so the test writes it).
	ds.Status = appsv1.DaemonSetStatus{ObservedGeneration: ds.Generation, DesiredNumberScheduled: 0}
	if _, err := cs.AppsV1().DaemonSets("default").UpdateStatus(ctx, ds, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, mode := range modes {
		res, err := load(t, mode, "kubeconfig="+kubeconfig, "demoName="+name).Run(ctx, engine.RunOptions{Only: []string{"wait-demo"}, Timeout: 3 * time.Second})
		if err == nil || res.Steps["wait for the demo pods"] != engine.StatusFailed {
			t.Errorf("%s: wait-demo %s (%v) while the demo DaemonSet wants no pods", mode, res.Steps["wait for the demo pods"], err)
		}
		// It failed because it was still waiting, not because it could not ask.
		if err != nil && !strings.Contains(err.Error(), "the playbook timeout of 3s was reached") {
			t.Errorf("%s: wait-demo failed for another reason: %v", mode, err)
		}
	}
}
