// Package lab_test checks the lab's image scripts where a mistake would not fail a build but
// would ship a node image that differs from its images.
package lab_test

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/kindlab/playbook/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// unpackRoot is where preload.sh --unpack puts the build container's containerd: a volume.
const unpackRoot = "/kind/unpack"

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// buildContainer runs what node-with-images.sh builds in: the lab's node image, its
// containerd copied onto a volume.
func buildContainer(t *testing.T) string {
	t.Helper()
	node := testenv.LabImage(t)
	name := testenv.Name(t, "preload")
	docker(t, "run", "-d", "--name", name, "--privileged", "--volume", unpackRoot, "--entrypoint", "sleep", node, "infinity")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", "-v", name).Run() })
	docker(t, "exec", name, "cp", "-a", "/var/lib/containerd/.", unpackRoot+"/")
	return name
}

func preload(t *testing.T, container string, images ...string) (stderr string) {
	t.Helper()
	var errOut bytes.Buffer
	cmd := exec.Command("bash", append([]string{"preload.sh", "--unpack", unpackRoot, container}, images...)...)
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("preload.sh: %v\n%s", err, errOut.String())
	}
	return errOut.String()
}

// unpackedFile lists the unpacked layers' copies of a file, by its path in the image.
func unpackedFile(t *testing.T, container, path string) string {
	t.Helper()
	return docker(t, "exec", container, "find", unpackRoot+"/io.containerd.snapshotter.v1.overlayfs/snapshots",
		"-path", "*/fs/"+path)
}

func TestPreloadUnpacksEveryImage(t *testing.T) {
	cli := testenv.Docker(t)
	image := testenv.Image(t, cli)
	container := buildContainer(t)
	if stderr := preload(t, container, image); stderr != "" {
		t.Errorf("preload.sh said: %s", stderr)
	}
	if unpackedFile(t, container, "bin/busybox") == "" {
		t.Errorf("%s was imported but not unpacked", image)
	}
	// kind's own images, already in the node image, are unpacked too.
	if unpackedFile(t, container, "usr/local/bin/kube-apiserver") == "" {
		t.Errorf("the node image's kube-apiserver image was not unpacked")
	}
}

// A layer that deletes a file holds a whiteout once unpacked, which docker commit would turn
// into a deletion in the node image, and the deleted file would come back in every node.
func TestPreloadLeavesPackedALayerThatDeletes(t *testing.T) {
	cli := testenv.Docker(t)
	base := testenv.Image(t, cli)
	deleting := testenv.Name(t, "kindlab/deletes") + ":test"
	build := exec.Command("docker", "build", "-q", "-t", deleting, "-")
	build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	build.Stdin = strings.NewReader("FROM " + base + "\nRUN rm /bin/ls\n")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", deleting).Run() })
	container := buildContainer(t)

	stderr := preload(t, container, deleting)
	if !strings.Contains(stderr, "left packed, a layer deletes files") || !strings.Contains(stderr, "bin/.wh.ls") {
		t.Errorf("preload.sh said %q, want it to name the deleted bin/ls", stderr)
	}
	if found := unpackedFile(t, container, "bin/busybox"); found != "" {
		t.Errorf("unpacked although a layer deletes files:\n%s", found)
	}
	images := docker(t, "exec", container, "bash", "-c",
		"containerd --root "+unpackRoot+" & until ctr version >/dev/null 2>&1; do sleep 0.2; done; ctr -n k8s.io images ls -q")
	if !strings.Contains(images, deleting) {
		t.Errorf("the image is not in containerd at all:\n%s", images)
	}
}
