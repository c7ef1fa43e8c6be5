package steps_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/internal/testenv"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const crdManifest = `
      - apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: "gadgets.${{ vars.group }}"}
        spec:
          group: "${{ vars.group }}"
          scope: Cluster
          names: {plural: gadgets, singular: gadget, kind: Gadget}
          versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
`

func TestWaitForEstablishedAndCondition(t *testing.T) {
	body := "steps:\n  - name: crd\n    kubectlApply:\n      kubeconfig: \"${{ vars.kubeconfig }}\"\n      manifests:" + crdManifest +
		"  - name: established\n    id: est\n    waitFor: {kubeconfig: \"${{ vars.kubeconfig }}\", for: established, name: \"gadgets.${{ vars.group }}\", timeout: 30s}\n" +
		"  - name: namespace active\n    id: ns\n    waitFor:\n      kubeconfig: \"${{ vars.kubeconfig }}\"\n      kind: Namespace\n      name: \"${{ vars.ns }}\"\n      condition: object.status.phase == \"Active\"\n" +
		"  - name: check\n    assert: {that: [\"len(steps.est.outputs.objects) == 1\", \"steps.ns.outputs.objects[0].metadata.name == vars.ns\"]}\n"
	if err := kubePlaybook(t, body, nil); err != nil {
		t.Fatal(err)
	}
}

// No controller runs on the test server, so a Deployment never rolls out: the timeout must
// say which object is pending and why.
func TestWaitForTimeoutNamesThePendingObject(t *testing.T) {
	body := "steps:\n  - name: app\n    kubectlApply:\n      kubeconfig: \"${{ vars.kubeconfig }}\"\n      namespace: \"${{ vars.ns }}\"\n      manifests:\n        - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: x}]}}}}\n" +
		"  - name: rollout\n    waitFor: {kubeconfig: \"${{ vars.kubeconfig }}\", for: rollout, kind: deployment, name: web, namespace: \"${{ vars.ns }}\", timeout: 1s}\n"
	err := kubePlaybook(t, body, nil)
	if err == nil {
		t.Fatal("rollout of a Deployment completed on a server without controllers")
	}
	for _, want := range []string{"timed out after 1s", "still waiting for Deployment", "/web: Replicas: 0/1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// The step's own timeout cuts the wait too, and the message still names what was pending.
func TestWaitForUnderStepTimeout(t *testing.T) {
	body := "steps:\n  - name: nodes\n    timeout: 1s\n    waitFor: {kubeconfig: \"${{ vars.kubeconfig }}\", for: nodesReady, selector: kindlab.test/none=x}\n"
	err := kubePlaybook(t, body, nil)
	if err == nil || !strings.Contains(err.Error(), "timed out after 1s: still waiting for Node matching kindlab.test/none=x: 0 found, want at least 1") {
		t.Fatalf("err = %v", err)
	}
}

// nodesReady follows a watch, not a poll: the node turns Ready only once the step holds a
// watch on nodes (the API server's own gauge of open watches says so), and the step then
// succeeds. A poller never opens one, and fails here.
func TestWaitForNodesReadyFollowsTheWatch(t *testing.T) {
	cs := kubernetes.NewForConfigOrDie(testenv.Kube(t))
	ctx := context.Background()
	label := testenv.Name(t, "g")
	name := testenv.Name(t, "node")
	node, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kindlab.test/group": label}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	before := nodeWatches(t, cs)
	body := "steps:\n  - name: nodes\n    id: n\n    waitFor: {kubeconfig: \"${{ vars.kubeconfig }}\", for: nodesReady, selector: kindlab.test/group=" + label + ", timeout: 60s}\n" +
		"  - name: check\n    assert: {that: [\"len(steps.n.outputs.objects) == 1\"]}\n"
	done := make(chan error, 1)
	go func() { done <- kubePlaybook(t, body, nil) }()
	for deadline := time.Now().Add(30 * time.Second); nodeWatches(t, cs) <= before; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the step opened no watch on nodes")
		}
	}
	node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(context.Background(), node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// nodeWatches is how many watches on nodes the API server holds open now.
func nodeWatches(t *testing.T, cs kubernetes.Interface) int {
	t.Helper()
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "apiserver_longrunning_requests{") && strings.Contains(line, `resource="nodes"`) && strings.Contains(line, `verb="WATCH"`) {
			var n int
			fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &n)
			total += n
		}
	}
	return total
}

// rollout follows kstatus, not rules of its own. With no controller on the test server, each
// case is a status written by hand: old replicas still terminating, replicas not available,
// a progress deadline exceeded (a failure, said at once), and a DaemonSet that wants no pods
// (done).
func TestWaitForRolloutCases(t *testing.T) {
	cs := kubernetes.NewForConfigOrDie(testenv.Kube(t))
	ns := testenv.Namespace(t, testenv.Kube(t))
	ctx := context.Background()
	labels := map[string]string{"app": "w"}
	template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
	deployment := func(name string, st appsv1.DeploymentStatus) {
		d, err := cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st.ObservedGeneration = d.Generation
		d.Status = st
		if _, err := cs.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	progressing := appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"}
	available := appsv1.DeploymentCondition{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}
	deployment("terminating", appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, Conditions: []appsv1.DeploymentCondition{progressing, available}})
	deployment("unavailable", appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 0, Conditions: []appsv1.DeploymentCondition{progressing}})
	deployment("deadline", appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 0, Conditions: []appsv1.DeploymentCondition{
		{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "deadline-1" has timed out progressing.`}}})
	deployment("done", appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, Conditions: []appsv1.DeploymentCondition{progressing, available}})
	ds, err := cs.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "nowhere"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds.Status = appsv1.DaemonSetStatus{ObservedGeneration: ds.Generation, DesiredNumberScheduled: 0}
	if _, err := cs.AppsV1().DaemonSets(ns).UpdateStatus(ctx, ds, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The cases that must wait give up after 3 s; the deadline case has a minute, and must not
	// use it: half of it is the bound.
	for _, tc := range []struct {
		kind, name, want string
		timeout          time.Duration
	}{
		{"Deployment", "terminating", "Pending termination: 1", 3 * time.Second},
		{"Deployment", "unavailable", "Available: 0/1", 3 * time.Second},
		{"Deployment", "deadline", `Progress deadline exceeded (ReplicaSet "deadline-1" has timed out progressing.)`, time.Minute},
		{"Deployment", "done", "", 3 * time.Second},
		{"DaemonSet", "nowhere", "", 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := kubePlaybook(t, "steps:\n  - name: rollout\n    waitFor: {kubeconfig: \"${{ vars.kubeconfig }}\", for: rollout, kind: "+tc.kind+", name: "+tc.name+", namespace: "+ns+", timeout: "+tc.timeout.String()+"}\n", nil)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("a finished rollout: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if tc.name == "deadline" && time.Since(start) > tc.timeout/2 {
				t.Errorf("a rollout past its deadline was waited for (%s): it can no longer finish", time.Since(start))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
