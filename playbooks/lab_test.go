package playbooks_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/testenv"
)

// TestLab runs playbooks/lab.yaml against real kind clusters made from the node image that
// hack/lab/build.sh builds on this machine: three nodes each, with kube-proxy and without.
// The image takes about half an hour to build cold, so the test runs only when asked:
//
//	PLAYBOOK_LAB=1 bash hack/lab/test.sh
//
// PLAYBOOK_LAB_IMAGE names an image already built; otherwise the test runs build.sh, which
// builds nothing when the image is there.
func TestLab(t *testing.T) {
	if os.Getenv("PLAYBOOK_LAB") == "" {
		t.Skip("set PLAYBOOK_LAB=1 (hack/lab/test.sh) to build the lab's node image and run kind clusters from it")
	}
	testenv.Docker(t)
	image := labImage(t)

	t.Run("kube-proxy", func(t *testing.T) {
		vars := []string{"nodeImage=" + image, "cluster=kindlab-kube-proxy", "kubeProxyMode=iptables"}
		runLab(t, append(vars, "cleanup=false"))

		// The same cluster, told to expect no kube-proxy: the checks must see it and fail.
		err := tryLab(t, append(vars, "recreate=false", "cleanup=true", "expectKubeProxy=false"))
		var stepErr *engine.StepError
		if !errors.As(err, &stepErr) || stepErr.ID != "assert-kube-proxy" {
			t.Fatalf("expecting no kube-proxy on a cluster that runs it: got %v, want a failure at assert-kube-proxy", err)
		}
	})
	t.Run("none", func(t *testing.T) {
		runLab(t, []string{"nodeImage=" + image, "cluster=kindlab-no-kube-proxy", "kubeProxyMode=none", "cleanup=true"})
	})
}

func labImage(t *testing.T) string {
	if image := os.Getenv("PLAYBOOK_LAB_IMAGE"); image != "" {
		return image
	}
	cmd := exec.Command("bash", "../hack/lab/build.sh")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/lab/build.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func runLab(t *testing.T, vars []string) {
	t.Helper()
	if err := tryLab(t, vars); err != nil {
		t.Fatal(err)
	}
}

func tryLab(t *testing.T, vars []string) error {
	t.Helper()
	pb, err := engine.Load("lab.yaml", engine.LoadOptions{Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	return testenv.Run(t, pb)
}
