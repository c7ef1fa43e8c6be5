package steps_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/testenv"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// kubePlaybook runs a playbook against the test API server with vars kubeconfig, ns and
// group (a CRD group of the test's own) set.
func kubePlaybook(t *testing.T, body string, extra map[string]string) error {
	t.Helper()
	kubeconfig := testenv.Kubeconfig(t)
	ns := testenv.Namespace(t, testenv.Kube(t))
	dir := t.TempDir()
	for name, content := range extra {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	}
	path := filepath.Join(dir, "pb.yaml")
	group := strings.ReplaceAll(ns, "-", "") + ".kindlab.test"
	t.Cleanup(func() { deleteCRDsOf(t, group) })
	os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: kube\nvars: {kubeconfig: '', ns: '', group: '', nodePort: 0}\n"+body), 0o644)
	// A node port of the test's own: tests share one API server.
	nodePort := fmt.Sprint(30000 + rand.IntN(2700))
	pb, err := engine.Load(path, engine.LoadOptions{Vars: []string{"kubeconfig=" + kubeconfig, "ns=" + ns, "group=" + group, "nodePort=" + nodePort}})
	if err != nil {
		t.Fatal(err)
	}
	return testenv.Run(t, pb)
}

const appManifests = `
        - |
          apiVersion: apiextensions.k8s.io/v1
          kind: CustomResourceDefinition
          metadata: {name: "widgets.${{ vars.group }}"}
          spec:
            group: "${{ vars.group }}"
            scope: Namespaced
            names: {plural: widgets, singular: widget, kind: Widget}
            versions:
              - name: v1
                served: true
                storage: true
                schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
          ---
          apiVersion: "${{ vars.group }}/v1"
          kind: Widget
          metadata: {name: w1}
          spec: {size: 3}
        - apiVersion: apps/v1
          kind: Deployment
          metadata: {name: web, labels: {app: web}}
          spec:
            replicas: REPLICAS
            selector: {matchLabels: {app: web}}
            template:
              metadata: {labels: {app: web}}
              spec: {containers: [{name: web, image: nettool:latest}]}
        - apiVersion: v1
          kind: Service
          metadata: {name: web}
          spec:
            type: NodePort
            selector: {app: web}
            ports: [{name: web, port: 8080, targetPort: 80, nodePort: "${{ vars.nodePort }}"}]
`

func TestKubectlApplyCreatesReappliesAndConfigures(t *testing.T) {
	body := "steps:\n" +
		"  - name: first\n    id: first\n    kubectlApply:\n      kubeconfig: \"${{ vars.kubeconfig }}\"\n      namespace: \"${{ vars.ns }}\"\n      manifests:" + strings.ReplaceAll(appManifests, "REPLICAS", "1") +
		"  - name: again\n    id: again\n    kubectlApply:\n      kubeconfig: \"${{ vars.kubeconfig }}\"\n      namespace: \"${{ vars.ns }}\"\n      manifests:" + strings.ReplaceAll(appManifests, "REPLICAS", "1") +
		"  - name: changed\n    id: changed\n    kubectlApply:\n      kubeconfig: \"${{ vars.kubeconfig }}\"\n      namespace: \"${{ vars.ns }}\"\n      manifests:" + strings.ReplaceAll(appManifests, "REPLICAS", "2") +
		"  - name: read service\n    id: svc\n    kubectlGet: {kubeconfig: \"${{ vars.kubeconfig }}\", namespace: \"${{ vars.ns }}\", kind: svc, name: web}\n" +
		"  - name: read widget\n    id: widget\n    kubectlGet: {kubeconfig: \"${{ vars.kubeconfig }}\", namespace: \"${{ vars.ns }}\", kind: \"widgets.${{ vars.group }}\", name: w1}\n" +
		"  - name: read absent\n    id: absent\n    kubectlGet: {kubeconfig: \"${{ vars.kubeconfig }}\", namespace: kube-system, kind: DaemonSet, name: kube-proxy}\n" +
		"  - name: check\n    assert:\n      that:\n" +
		"        - steps.first.outputs.created == 4\n" +
		"        - steps.first.outputs.objects[0].kind == 'CustomResourceDefinition'\n" +
		"        - steps.first.outputs.objects[2].namespace == vars.ns\n" +
		"        - steps.first.outputs.objects[2].uid != ''\n" +
		"        - steps.again.outputs.unchanged == 4\n" +
		"        - steps.changed.outputs.configured == 1 && steps.changed.outputs.unchanged == 3\n" +
		"        - steps.changed.outputs.objects[2].result == 'configured'\n" +
		"        - steps.svc.outputs.object.spec.ports[0].nodePort == vars.nodePort\n" +
		"        - steps.widget.outputs.object.spec.size == 3\n" +
		"        - steps.absent.outputs.found == false\n"
	if err := kubePlaybook(t, body, nil); err != nil {
		t.Fatal(err)
	}
}

func TestKubectlApplyFilesGlobsAndDirectories(t *testing.T) {
	files := map[string]string{
		"manifests/a.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
		"manifests/c.json":   `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}`,
		"manifests/skip.txt": "not a manifest",
		"more/d.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n",
	}
	body := "steps:\n  - name: apply\n    id: apply\n    kubectlApply:\n      kubeconfig: \"${{ vars.kubeconfig }}\"\n      namespace: \"${{ vars.ns }}\"\n      files: [manifests, \"more/*.yaml\"]\n" +
		"  - name: check\n    assert: {that: [\"steps.apply.outputs.created == 4\", \"map(steps.apply.outputs.objects, .name) == ['a', 'b', 'c', 'd']\"]}\n"
	if err := kubePlaybook(t, body, files); err != nil {
		t.Fatal(err)
	}
}

func TestKubectlApplyReportsBadObjects(t *testing.T) {
	body := "steps:\n  - name: apply\n    kubectlApply:\n      kubeconfig: \"${{ vars.kubeconfig }}\"\n      namespace: \"${{ vars.ns }}\"\n      manifests: [{apiVersion: v1, kind: Nope, metadata: {name: x}}]\n"
	err := kubePlaybook(t, body, nil)
	if err == nil || !strings.Contains(err.Error(), "Nope") || !strings.Contains(err.Error(), "the server has no") {
		t.Fatalf("err = %v", err)
	}
}

// Nodes carry the control-plane taint under either key depending on the Kubernetes version;
// removing both must work, and a key that is absent is fine.
func TestUntaintRemovesBothControlPlaneKeys(t *testing.T) {
	cs := kubernetes.NewForConfigOrDie(testenv.Kube(t))
	ctx := context.Background()
	label := testenv.Name(t, "role")
	var names []string
	for i, taints := range [][]corev1.Taint{
		{{Key: "node-role.kubernetes.io/master", Effect: corev1.TaintEffectNoSchedule}, {Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}},
		{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}, {Key: "keep-me", Effect: corev1.TaintEffectNoExecute}},
		{},
	} {
		name := testenv.Name(t, "node") + string(rune('a'+i))
		names = append(names, name)
		_, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kindlab.test/group": label}},
			Spec: corev1.NodeSpec{Taints: taints}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	}
	body := "steps:\n  - name: untaint\n    id: u\n    untaint:\n      kubeconfig: \"${{ vars.kubeconfig }}\"\n      selector: kindlab.test/group=" + label + "\n      keys: [node-role.kubernetes.io/control-plane, node-role.kubernetes.io/master]\n" +
		"  - name: again\n    id: again\n    untaint:\n      kubeconfig: \"${{ vars.kubeconfig }}\"\n      selector: kindlab.test/group=" + label + "\n      keys: [node-role.kubernetes.io/control-plane, node-role.kubernetes.io/master]\n" +
		"  - name: check\n    assert: {that: [\"steps.u.outputs.removed == 3\", \"len(steps.u.outputs.changed) == 2\", \"steps.again.outputs.removed == 0\"]}\n"
	if err := kubePlaybook(t, body, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		node, _ := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		for _, taint := range node.Spec.Taints {
			if strings.HasPrefix(taint.Key, "node-role.kubernetes.io/") {
				t.Errorf("%s still has %s", name, taint.Key)
			}
		}
		if name == names[1] && !hasTaint(node, "keep-me") {
			t.Error("untaint removed a taint it was not asked to")
		}
	}
}

func hasTaint(n *corev1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}

// Kubernetes clients belong to the run and are keyed by the kubeconfig's content: when the
// file changes between steps (kind gives a recreated cluster a new port and CA in the same
// file), later steps talk to what it says now, not to the old endpoint.
func TestKubeClientFollowsTheKubeconfig(t *testing.T) {
	original, err := os.ReadFile(testenv.Kubeconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(copyPath, original, 0o600)
	moved := regexp.MustCompile(`server: https://[^\s]+`).ReplaceAllString(string(original), "server: https://127.0.0.1:1")
	movedPath := filepath.Join(t.TempDir(), "moved")
	os.WriteFile(movedPath, []byte(moved), 0o600)
	err = kubePlaybook(t, "steps:\n"+
		"  - {name: before, kubectlGet: {kubeconfig: "+copyPath+", kind: Namespace, name: default, mustExist: true}}\n"+
		"  - {name: the cluster moves, exec: {argv: [cp, "+movedPath+", "+copyPath+"]}}\n"+
		"  - {name: after, kubectlGet: {kubeconfig: "+copyPath+", kind: Namespace, name: default, mustExist: true}}\n", nil)
	if err == nil || !strings.Contains(err.Error(), `step "after" failed`) || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("err = %v: the step after the kubeconfig changed used the old client", err)
	}
}

// deleteCRDsOf removes the CRDs a test made in its own API group: CRDs are cluster-wide, and
// the tests share one API server.
func deleteCRDsOf(t *testing.T, group string) {
	dyn := dynamic.NewForConfigOrDie(testenv.Kube(t))
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	list, err := crds.List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, crd := range list.Items {
		if g, _, _ := unstructured.NestedString(crd.Object, "spec", "group"); strings.HasSuffix(g, group) {
			_ = crds.Delete(context.Background(), crd.GetName(), metav1.DeleteOptions{})
		}
	}
}

// A kind name that two CRDs serve in different groups is refused, naming both groups, rather
// than read from whichever group discovery lists first; with its group it is read.
func TestKindServedByTwoGroupsIsAskedFor(t *testing.T) {
	crd := func(group string) string {
		return "        - apiVersion: apiextensions.k8s.io/v1\n          kind: CustomResourceDefinition\n" +
			"          metadata: {name: \"gadgets." + group + "\"}\n" +
			"          spec:\n            group: \"" + group + "\"\n            scope: Namespaced\n" +
			"            names: {plural: gadgets, singular: gadget, kind: Gadget}\n" +
			"            versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]\n"
	}
	body := "steps:\n  - name: two groups\n    kubectlApply:\n      kubeconfig: \"${{ vars.kubeconfig }}\"\n      manifests:\n" +
		crd("a${{ vars.group }}") + crd("b${{ vars.group }}") +
		"  - name: with its group\n    kubectlGet: {kubeconfig: \"${{ vars.kubeconfig }}\", namespace: \"${{ vars.ns }}\", kind: \"gadgets.a${{ vars.group }}\"}\n" +
		"  - name: by name alone\n    kubectlGet: {kubeconfig: \"${{ vars.kubeconfig }}\", namespace: \"${{ vars.ns }}\", kind: gadgets}\n"
	err := kubePlaybook(t, body, nil)
	var se *engine.StepError
	if !errors.As(err, &se) || se.Step != "by name alone" || !strings.Contains(err.Error(), `kind "gadgets" is served by `) {
		t.Fatalf("err = %v", err)
	}
	for _, group := range []string{"apbtns", "bpbtns"} {
		if !strings.Contains(err.Error(), group) {
			t.Errorf("the error does not name group %s...: %v", group, err)
		}
	}
}
