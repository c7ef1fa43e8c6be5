package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// LabImage returns the offline kind lab's node image (hack/lab): PLAYBOOK_LAB_IMAGE when set,
// otherwise the one hack/lab/build.sh builds (nothing, when Docker has it). Building takes
// about 25 minutes cold, so on a laptop the test skips unless PLAYBOOK_LAB=1; in CI it always
// runs, and fails when the image cannot be built.
func LabImage(t testing.TB) string {
	t.Helper()
	if image := os.Getenv("PLAYBOOK_LAB_IMAGE"); image != "" {
		return image
	}
	if os.Getenv("PLAYBOOK_LAB") != "1" && os.Getenv("CI") == "" {
		t.Skip("set PLAYBOOK_LAB=1 (hack/lab/test.sh) to build the lab's node image and run kind clusters from it")
	}
	Docker(t)
	cmd := exec.Command("bash", filepath.Join(repoRoot(t), "hack", "lab", "build.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/lab/build.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// Root is for tests that need root (namespaces, mounts): they skip without it on a laptop and
// fail in CI, whose machines run tests as root.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "root", os.ErrPermission)
	}
}
