// Package testenv hands tests the real servers that hack/testenv.sh starts: a Docker client,
// a kubeconfig for etcd + kube-apiserver, and unique names with cleanup. A missing server
// skips the test on a laptop and fails it in CI (CI set), where a skip would hide a broken
// setup behind a green run.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

const startHint = `start the servers with: eval "$(bash hack/testenv.sh up)"`

// unavailable fails in CI and skips elsewhere.
func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required in CI and is not available: %v (%s)", what, err, startHint)
	}
	t.Skipf("%s not available (%v); %s. Under CI this fails instead of skipping", what, err, startHint)
}

// Docker returns a client for the real Docker engine (DOCKER_HOST or the default socket).
func Docker(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		unavailable(t, "the Docker engine", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		cli.Close()
		unavailable(t, "the Docker engine", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Image is the local test image (busybox imported by hack/testenv.sh; no registry needed).
func Image(t testing.TB, cli *client.Client) string {
	t.Helper()
	image := os.Getenv("PLAYBOOK_TEST_IMAGE")
	if image == "" {
		image = "kindlab/busybox:test"
	}
	if _, err := cli.ImageInspect(context.Background(), image); err != nil {
		unavailable(t, "the test image "+image, err)
	}
	return image
}

// Kubeconfig returns the path of the test API server's kubeconfig, after checking that the
// server answers.
func Kubeconfig(t testing.TB) string {
	t.Helper()
	path := os.Getenv("KUBECONFIG")
	if path == "" {
		unavailable(t, "the Kubernetes API server", errNoKubeconfig)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		unavailable(t, "the Kubernetes API server", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		unavailable(t, "the Kubernetes API server", err)
	}
	if _, err := cs.Discovery().ServerVersion(); err != nil {
		unavailable(t, "the Kubernetes API server", err)
	}
	return path
}

// Kube returns a REST config for the test API server.
func Kube(t testing.TB) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", Kubeconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Namespace creates a namespace of the test's own and deletes it when the test ends.
func Namespace(t testing.TB, cfg *rest.Config) string {
	t.Helper()
	cs := kubernetes.NewForConfigOrDie(cfg)
	name := Name(t, "ns")
	_, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		// The test server runs no controllers, so a deleted namespace keeps its objects:
		// delete Services by hand to free the node ports and cluster IPs they hold.
		ctx := context.Background()
		if svcs, err := cs.CoreV1().Services(name).List(ctx, metav1.ListOptions{}); err == nil {
			for _, svc := range svcs.Items {
				_ = cs.CoreV1().Services(name).Delete(ctx, svc.Name, metav1.DeleteOptions{})
			}
		}
		_ = cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
	})
	return name
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// Name returns a unique, DNS-safe name for objects and containers the test creates, so that
// tests sharing one server never collide and leftovers show which test made them.
func Name(t testing.TB, prefix string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	base := strings.Trim(notDNS.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(base) > 30 {
		base = base[:30]
	}
	return strings.Trim("pbt-"+prefix+"-"+base, "-") + "-" + hex.EncodeToString(b[:])
}

type testenvError string

func (e testenvError) Error() string { return string(e) }

const errNoKubeconfig = testenvError("KUBECONFIG is not set")
