// Package lab_test checks the lab's image scripts where a mistake would not fail a build but
// would ship a node image that differs from its images.
package lab_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
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

func tarOf(t *testing.T, files map[string][]byte, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, name := range names {
		if err := w.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name]))}); err != nil {
			t.Fatal(err)
		}
		w.Write(files[name])
	}
	w.Close()
	return buf.Bytes()
}

// whiteouts.py sits in the pipe from docker save to containerd: it must pass every byte on,
// name each layer that deletes files, gzip'd or not, and count a blob it cannot read (a zstd
// layer) as one that may delete, never as clean.
func TestWhiteoutsPassesTheStreamAndNamesDeletingLayers(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tarOf(t, map[string][]byte{"etc/.wh.motd": nil}, "etc/.wh.motd"))
	zw.Close()
	blobs := map[string][]byte{
		"index.json":           []byte(`{"schemaVersion": 2}`),
		"blobs/sha256/config":  []byte(`{"architecture": "amd64"}`),
		"blobs/sha256/clean":   tarOf(t, map[string][]byte{"bin/sh": []byte("#!")}, "bin/sh"),
		"blobs/sha256/deletes": gz.Bytes(),
		"blobs/sha256/zstd":    append([]byte{0x28, 0xb5, 0x2f, 0xfd}, bytes.Repeat([]byte("x"), 600)...),
		"legacy/layer.tar":     tarOf(t, map[string][]byte{"usr/.wh..wh..opq": nil}, "usr/.wh..wh..opq"),
		"legacy/VERSION":       []byte("1.0"),
	}
	stream := tarOf(t, blobs, "index.json", "blobs/sha256/config", "blobs/sha256/clean", "blobs/sha256/deletes",
		"blobs/sha256/zstd", "legacy/VERSION", "legacy/layer.tar")
	report := filepath.Join(t.TempDir(), "report")
	cmd := exec.Command("python3", "whiteouts.py", report)
	cmd.Stdin = bytes.NewReader(stream)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("whiteouts.py: %v", err)
	}
	if !bytes.Equal(out, stream) {
		t.Errorf("the stream came out changed: %d bytes in, %d out", len(stream), len(out))
	}
	got, _ := os.ReadFile(report)
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	want := []string{"blobs/sha256/deletes: etc/.wh.motd",
		"blobs/sha256/zstd: a blob this cannot read as a layer (", // then Python's words for it
		"legacy/layer.tar: usr/.wh..wh..opq"}
	if len(lines) != len(want) {
		t.Fatalf("report:\n%s\nwant %d lines: %q", got, len(want), want)
	}
	for i, line := range lines {
		if !strings.HasPrefix(line, want[i]) {
			t.Errorf("report line %d: %q, want %q...", i+1, line, want[i])
		}
	}
}
