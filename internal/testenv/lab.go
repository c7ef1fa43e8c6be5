package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kind/pkg/cluster"
)

// LabImage returns the offline kind lab's node image (hack/lab/build.sh): PLAYBOOK_LAB_IMAGE
// when set, otherwise what the script builds (nothing, when Docker has it).
func LabImage(t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(labBuild(t, "PLAYBOOK_LAB_IMAGE", "build.sh", "the lab's node image"))
}

// CiliumImages returns the lab's Cilium images (hack/lab/cilium-build.sh: the agent, the
// operator and the demo): PLAYBOOK_CILIUM_IMAGES when set (hack/test.sh builds them first),
// otherwise what the script builds.
func CiliumImages(t testing.TB) []string {
	t.Helper()
	return strings.Fields(labBuild(t, "PLAYBOOK_CILIUM_IMAGES", "cilium-build.sh", "the lab's Cilium images"))
}

// RegistryImage returns the lab's registry image (hack/lab/registry-build.sh: the
// distribution registry): PLAYBOOK_REGISTRY_IMAGE when set, otherwise what the script builds.
func RegistryImage(t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(labBuild(t, "PLAYBOOK_REGISTRY_IMAGE", "registry-build.sh", "the lab's registry image"))
}

// LabImageWithCilium returns the lab's node image with the lab's Cilium images already in its
// containerd (hack/lab/node-with-images.sh): PLAYBOOK_LAB_IMAGE_WITH_CILIUM when set,
// otherwise what the script builds from LabImage and CiliumImages.
func LabImageWithCilium(t testing.TB) string {
	t.Helper()
	if name := os.Getenv("PLAYBOOK_LAB_IMAGE_WITH_CILIUM"); name != "" {
		return name
	}
	args := append([]string{LabImage(t)}, CiliumImages(t)...)
	return strings.TrimSpace(labBuild(t, "PLAYBOOK_LAB_IMAGE_WITH_CILIUM", "node-with-images.sh", "the lab's node image with Cilium's images", args...))
}

// labBuild gives the names a hack/lab script prints, or env's value when it is set. A cold
// build takes tens of minutes, so on a laptop the test skips unless PLAYBOOK_LAB=1; in CI it
// always runs, and fails when the script fails.
func labBuild(t testing.TB, env, script, what string, args ...string) string {
	t.Helper()
	if names := os.Getenv(env); names != "" {
		return names
	}
	if os.Getenv("PLAYBOOK_LAB") != "1" && os.Getenv("CI") == "" {
		t.Skipf("set PLAYBOOK_LAB=1 (hack/lab/test.sh) to build %s and run kind clusters from it", what)
	}
	Docker(t)
	cmd := exec.Command("bash", append([]string{filepath.Join(repoRoot(t), "hack", "lab", script)}, args...)...)
	cmd.Env = buildEnv()
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/lab/%s: %v", script, err)
	}
	return string(out)
}

// Root is for tests that need root (namespaces, mounts): they skip without it on a laptop and
// fail in CI, whose machines run tests as root.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "root", os.ErrPermission)
	}
}

// DeleteKindCluster removes a kind cluster a test made, if it is there. The kubeconfig it
// names is a throwaway: kind must not edit the user's or the test servers' kubeconfig.
func DeleteKindCluster(t testing.TB, name string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "kubeconfig")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := cluster.NewProvider().Delete(name, filepath.Join(dir, "kubeconfig")); err != nil {
		t.Errorf("deleting kind cluster %s: %v", name, err)
	}
}
