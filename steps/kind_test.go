package steps

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/testenv"
	"github.com/moby/moby/client"
	"go.yaml.in/yaml/v3"
	kindexec "sigs.k8s.io/kind/pkg/exec"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The seed's three kind configs, as kindCreate parameters.
var seedModes = map[string]string{
	"kubeproxy": `name: cilium-kubeproxy
image: kindest/node:v1.23.4
nodes: [{role: control-plane}, {role: worker, count: 2}]
networking: {disableDefaultCNI: true}
registryMirrors: {"mirror.test:5000": "http://mirror.test:5000"}
`,
	"kpr": `name: cilium-kubeproxy-replacement
image: kindest/node:v1.23.4
nodes: [{role: control-plane}, {role: worker, count: 2}]
networking: {disableDefaultCNI: true, kubeProxyMode: none}
registryMirrors: {"mirror.test:5000": "http://mirror.test:5000"}
`,
	"kpr-ebpf": `name: cilium-kubeproxy-replacement-ebpf
image: kindest/node:v1.23.4
nodes: [{role: control-plane}, {role: worker, count: 2}]
networking: {disableDefaultCNI: true, kubeProxyMode: none}
registryMirrors: {"mirror.test:5000": "http://mirror.test:5000"}
`,
}

func decodeSpec(t *testing.T, text string) *kindClusterSpec {
	t.Helper()
	var s kindClusterSpec
	if err := yaml.Unmarshal([]byte(text), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestKindConfigGoldenForSeedModes(t *testing.T) {
	for mode, params := range seedModes {
		t.Run(mode, func(t *testing.T) {
			cfg, err := kindConfig(decodeSpec(t, params))
			if err != nil {
				t.Fatal(err)
			}
			got, err := renderKindConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "kind", mode+".yaml")
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./steps -run Golden -update)", err)
			}
			if got != string(want) {
				t.Errorf("config differs from %s:\n%s", golden, lineDiff(string(want), got))
			}
		})
	}
}

func TestKindConfigErrors(t *testing.T) {
	cases := []struct{ params, want string }{
		{"name: x\nnodes: [{role: controlplane}]\n", `nodes[0].role: must be control-plane or worker, got "controlplane"; did you mean "control-plane"?`},
		{"name: x\nnodes: [{role: worker}]\n", "nodes: a cluster needs a control-plane node"},
		{"name: x\nnetworking: {kubeProxyMode: nnoe}\n", `networking.kubeProxyMode: must be one of iptables, ipvs, nftables, none, got "nnoe"; did you mean "none"?`},
		{"name: x\nnetworking: {podSubnet: 10.0.0.0}\n", `networking.podSubnet: "10.0.0.0" is not a CIDR`},
		{"name: x\nkubeadmConfigPatches: [\"controllerManager: {extraArgs: {leader-elect: 'false'}}\"]\n", `kubeadmConfigPatches[0]: names no kind: the config it changes, one of ClusterConfiguration, InitConfiguration, JoinConfiguration, KubeletConfiguration, KubeProxyConfiguration`},
		{"name: x\nkubeadmConfigPatches: [\"kind: ClusterConfiguraton\"]\n", `kubeadmConfigPatches[0]: kind must be one of ClusterConfiguration, InitConfiguration, JoinConfiguration, KubeletConfiguration, KubeProxyConfiguration, got "ClusterConfiguraton"; did you mean "ClusterConfiguration"?`},
		{"name: x\nkubeadmConfigPatches: [\"- kind: ClusterConfiguration\"]\n", "kubeadmConfigPatches[0]: not a YAML mapping: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into map[string]interface {}"},
		{"name: x\nraw: {networking: {disableDefaultCNl: true}}\n", `raw: not a kind Cluster config: error unmarshaling JSON: while decoding JSON: json: unknown field "disableDefaultCNl"`},
	}
	for _, tc := range cases {
		_, err := kindConfig(decodeSpec(t, tc.params))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: err = %v\nwant %s", tc.params, err, tc.want)
		}
	}
}

// kind applies the patches to kubeadm's config; they reach it as written, after raw's.
func TestKindConfigKubeadmPatches(t *testing.T) {
	patch := "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\ncontrollerManager: {extraArgs: {leader-elect: \"false\"}}\n"
	spec := decodeSpec(t, "name: x\nraw: {kubeadmConfigPatches: [\"kind: InitConfiguration\"]}\n")
	spec.KubeadmConfigPatches = []string{patch}
	cfg, err := kindConfig(spec)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"kind: InitConfiguration", patch}; !slices.Equal(cfg.KubeadmConfigPatches, want) {
		t.Errorf("patches = %q, want %q", cfg.KubeadmConfigPatches, want)
	}
}

// raw is the starting document; the step's own fields apply over it.
func TestKindConfigRawIsTheBase(t *testing.T) {
	cfg, err := kindConfig(decodeSpec(t, "name: x\nimage: img\nraw: {featureGates: {Foo: true}, networking: {podSubnet: 10.9.0.0/16}}\nnetworking: {kubeProxyMode: none}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.FeatureGates["Foo"] || cfg.Networking.PodSubnet != "10.9.0.0/16" || cfg.Networking.KubeProxyMode != "none" || cfg.Nodes[0].Image != "img" {
		t.Errorf("%+v", cfg)
	}
}

func TestCheckReusable(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	os.MkdirAll(kindStateDir(), 0o755)
	if err := checkReusable("c", "a: 1\n"); err == nil || !strings.Contains(err.Error(), "playbook did not create it") {
		t.Errorf("unknown cluster: %v", err)
	}
	os.WriteFile(kindConfigRecord("c"), []byte("a: 1\nb: 2\n"), 0o644)
	if err := checkReusable("c", "a: 1\nb: 2\n"); err != nil {
		t.Errorf("same config: %v", err)
	}
	err := checkReusable("c", "a: 1\nb: 3\n")
	if err == nil || !strings.Contains(err.Error(), "- b: 2\n+ b: 3") {
		t.Errorf("changed config: %v", err)
	}
}

// No kind node image can be pulled here: kindCreate with a local non-node image must fail
// with kind's own reason, leave no containers behind, and kindDelete must then be a no-op.
func TestKindCreateOnRealDockerFailsCleanly(t *testing.T) {
	cli := testenv.Docker(t)
	image := testenv.Image(t, cli)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	name := testenv.Name(t, "k")[:20]
	dir := t.TempDir()
	path := filepath.Join(dir, "pb.yaml")
	os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: k\nsteps:\n"+
		"  - name: create\n    ignoreErrors: true\n    kindCreate: {name: "+name+", image: "+image+", networking: {disableDefaultCNI: true}}\n"+
		"  - name: delete\n    id: del\n    kindDelete: {name: "+name+"}\n"), 0o644)
	pb, err := engine.Load(path, engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var failure string
	_, err = pb.Run(context.Background(), engine.RunOptions{Reporters: []engine.Reporter{engine.ReporterFunc(func(e engine.Event) {
		if e.Type == engine.StepFinished && e.Step == "create" {
			failure = e.Error
		}
	})}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(failure, "kind create cluster "+name) {
		t.Errorf("create error %q does not say what failed", failure)
	}
	t.Logf("kind said: %s", failure)
	provider := kindProvider(nil)
	if nodes, _ := provider.ListNodes(name); len(nodes) != 0 {
		t.Errorf("containers left behind: %v", nodes)
	}
}

// `playbook plan` shows the generated kind config.
func TestKindCreatePlanShowsConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pb.yaml")
	os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: k\nvars: {mode: none}\nsteps:\n  - name: create\n    kindCreate: {name: c, nodes: [{role: control-plane}, {role: worker, count: 2}], networking: {kubeProxyMode: \"${{ vars.mode }}\"}}\n"), 0o644)
	pb, err := engine.Load(path, engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	steps, err := pb.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg := steps[0].Detail.(map[string]any)["kindConfig"].(string)
	if !strings.Contains(cfg, "kubeProxyMode: none") || strings.Count(cfg, "role: worker") != 2 {
		t.Errorf("plan shows:\n%s", cfg)
	}
}

// kindLoad into a cluster that is not there says so; loading for real is in TestKindE2E.
func TestKindLoadNeedsACluster(t *testing.T) {
	cli := testenv.Docker(t)
	image := testenv.Image(t, cli)
	dir := t.TempDir()
	path := filepath.Join(dir, "pb.yaml")
	os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: k\nsteps:\n  - name: load\n    kindLoad: {name: no-such-cluster, images: ["+image+"]}\n"), 0o644)
	pb, _ := engine.Load(path, engine.LoadOptions{})
	_, err := pb.Run(context.Background(), engine.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "kind cluster no-such-cluster has no nodes (does it exist?)") {
		t.Errorf("err = %v", err)
	}
}

// TestKindE2E creates real kind clusters. By default, and always in CI, it uses the node image
// the offline lab builds here (testenv.LabImage); PLAYBOOK_E2E=1 on a machine that can pull
// uses kind's own image instead: PLAYBOOK_E2E=1 go test ./steps -run KindE2E -v
func TestKindE2E(t *testing.T) {
	imageParam := ""
	if os.Getenv("PLAYBOOK_E2E") == "" || os.Getenv("PLAYBOOK_LAB_IMAGE") != "" {
		// The lab's image has no default CNI: kindnet is not on the Go module proxy. The one
		// with Cilium's images keeps containerd's content store and layers outside /var
		// (hack/lab/node-with-images.sh): kindLoad must still import, and unpack, into it.
		imageParam = ", image: " + testenv.LabImageWithCilium(t) + ", networking: {disableDefaultCNI: true}"
	}
	cli := testenv.Docker(t)
	image := testenv.Image(t, cli)
	dir := t.TempDir()
	path := filepath.Join(dir, "pb.yaml")
	os.WriteFile(path, []byte(`apiVersion: playbook/v1
kind: Playbook
name: kind-e2e
steps:
  - name: create
    id: kind
    kindCreate: {name: playbook-e2e, nodes: [{role: control-plane}, {role: worker}], recreate: true`+imageParam+`}
  - name: again
    id: again
    kindCreate: {name: playbook-e2e, nodes: [{role: control-plane}, {role: worker}]`+imageParam+`}
  - name: load
    kindLoad: {name: playbook-e2e, images: [`+image+`]}
  - name: images in nodes
    id: crictl
    dockerExec: {kindCluster: playbook-e2e, argv: [crictl, images]}
  - name: check
    assert:
      that:
        - len(steps.kind.outputs.nodes) == 2
        - steps.kind.outputs.controlPlane == "playbook-e2e-control-plane"
        - steps.again.outputs.reused
        - all(steps.crictl.outputs.containers, .stdout contains "busybox")
finally:
  - name: delete
    kindDelete: {name: playbook-e2e}
`), 0o644)
	pb, err := engine.Load(path, engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := testenv.Run(t, pb); err != nil {
		t.Fatal(err)
	}
}

// kind keeps a failed command's output in its error but not in the message; the step shows
// its end, where the reason is.
func TestKindCommandOutputInErrors(t *testing.T) {
	runErr := &kindexec.RunError{Command: []string{"docker", "pull", "x"}, Output: []byte("l1\nl2\nl3\nl4\nl5\nl6\nreason\n")}
	if got := commandOutput(fmt.Errorf("failed to pull image: %w", runErr)); got != ": l3\nl4\nl5\nl6\nreason" {
		t.Errorf("got %q", got)
	}
	if got := commandOutput(os.ErrNotExist); got != "" {
		t.Errorf("a plain error gave %q", got)
	}
}

// Ctrl-C during a real create: the step returns only once kind's create has stopped, so the
// finally kindDelete finds every container it made, and none remains after the run; before,
// the create went on in the background and left a cluster behind.
func TestKindCreateCancelledLeavesNoContainer(t *testing.T) {
	image := testenv.LabImage(t)
	cli := testenv.Docker(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	name := "playbook-cancel"
	path := filepath.Join(t.TempDir(), "pb.yaml")
	os.WriteFile(path, []byte(`apiVersion: playbook/v1
kind: Playbook
name: kind-cancel
steps:
  - name: create
    kindCreate: {name: `+name+`, image: `+image+`, nodes: [{role: control-plane}, {role: worker}], networking: {disableDefaultCNI: true}, recreate: true}
finally:
  - name: delete
    kindDelete: {name: `+name+`}
`), 0o644)
	pb, err := engine.Load(path, engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	labelled := func() int {
		list, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true,
			Filters: client.Filters{}.Add("label", "io.x-k8s.kind.cluster="+name)})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.Items)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Interrupt once kind has made its first node container, while it makes the rest: a
	// finally delete that runs beside a create still going finds only part of the cluster, and
	// the create goes on to make the rest.
	go func() {
		defer cancel()
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			list, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true,
				Filters: client.Filters{}.Add("label", "io.x-k8s.kind.cluster="+name)})
			if err != nil || len(list.Items) > 0 {
				return
			}
		}
	}()
	res, _ := pb.Run(ctx, engine.RunOptions{})
	if res.Steps["create"] != engine.StatusCancelled {
		t.Errorf("create: %s", res.Steps["create"])
	}
	// A create left running would go on making containers after the run ended: nothing can
	// signal that it did not, so the test watches for a while.
	time.Sleep(15 * time.Second)
	if n := labelled(); n != 0 {
		t.Errorf("%d containers of cluster %s remain after a cancelled create and its finally delete", n, name)
		testenv.DeleteKindCluster(t, name)
	}
}

// A node image that cannot be pulled for lack of a network (a registry name that resolves
// nowhere: .invalid) says what to do instead: the offline lab.
func TestKindCreateWithoutNetworkPointsToTheLab(t *testing.T) {
	testenv.Docker(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	name := testenv.Name(t, "n")[:20]
	path := filepath.Join(t.TempDir(), "pb.yaml")
	os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: k\nsteps:\n  - name: create\n    kindCreate: {name: "+name+", image: kindlab.invalid/node:v0, networking: {disableDefaultCNI: true}}\n"+
		"finally:\n  - {name: delete, kindDelete: {name: "+name+"}}\n"), 0o644)
	pb, err := engine.Load(path, engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = pb.Run(context.Background(), engine.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "could not pull an image") || !strings.Contains(err.Error(), "--vars-file playbooks/vars/lab.yaml") {
		t.Fatalf("got %v", err)
	}
}
