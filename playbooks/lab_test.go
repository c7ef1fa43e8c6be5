package playbooks_test

import (
	"errors"
	"testing"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/testenv"
)

// TestLab runs playbooks/lab.yaml against real kind clusters made from the node image that
// hack/lab/build.sh builds on this machine: three nodes each, with kube-proxy and without.
// The image takes about 25 minutes to build cold; on a laptop the test runs only when asked
// (CI always runs it):
//
//	PLAYBOOK_LAB=1 bash hack/lab/test.sh
func TestLab(t *testing.T) {
	image := testenv.LabImage(t)

	t.Run("kube-proxy", func(t *testing.T) {
		vars := []string{"nodeImage=" + image, "cluster=kindlab-kube-proxy", "kubeProxyMode=iptables"}
		// The first run keeps its cluster for the second; a failure must not leave it behind.
		t.Cleanup(func() { testenv.DeleteKindCluster(t, "kindlab-kube-proxy") })
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
