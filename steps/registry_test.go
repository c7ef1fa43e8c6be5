package steps_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/testenv"
	"github.com/kindlab/playbook/steps"
	"github.com/moby/moby/client"
)

// registryNet makes a Docker network for the test's registries (kind's, in a lab) and frees
// a port on 127.0.0.1; the registries and the network go when the test ends.
func registryNet(t *testing.T) (netName string, port int) {
	t.Helper()
	cli := testenv.Docker(t)
	netName = testenv.Name(t, "net")
	if _, err := cli.NetworkCreate(context.Background(), netName, client.NetworkCreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.NetworkRemove(context.Background(), netName, client.NetworkRemoveOptions{}) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return netName, port
}

func removeContainer(t *testing.T, name string) {
	t.Cleanup(func() {
		testenv.Docker(t).ContainerRemove(context.Background(), name, client.ContainerRemoveOptions{Force: true})
	})
}

func finishedOutputs(r runResult, step string) map[string]any {
	for _, e := range r.events {
		if e.Type == engine.StepFinished && e.Step == step {
			if m, ok := e.Outputs.(map[string]any); ok {
				return m
			}
		}
	}
	return nil
}

// A registry next to the nodes: made once and reused, on the nodes' network; a push sends
// only the layers it lacks; a second registry as the first one's pull-through cache serves
// an image it never had pushed to it.
func TestRegistryPushAndPullThroughCache(t *testing.T) {
	image := testenv.RegistryImage(t)
	cli := testenv.Docker(t)
	test := testenv.Image(t, cli)
	netName, port := registryNet(t)
	_, cachePort := registryNet(t)
	name, cache := testenv.Name(t, "reg"), testenv.Name(t, "cache")
	removeContainer(t, name)
	removeContainer(t, cache)
	body := "steps:\n" +
		"  - {name: registry, id: registry, registry: {name: " + name + ", image: " + image + ", port: " + strconv.Itoa(port) + ", network: " + netName + "}}\n" +
		"  - {name: push, registryPush: {address: '${{ steps.registry.outputs.address }}', images: [" + test + "]}}\n" +
		"  - {name: again, registryPush: {address: '${{ steps.registry.outputs.address }}', images: [" + test + "]}}\n" +
		"  - {name: cache, registry: {name: " + cache + ", image: " + image + ", port: " + strconv.Itoa(cachePort) + ", network: " + netName + ", proxy: 'http://" + name + ":5000'}}\n"
	r := runPlaybook(t, body)
	if r.err != nil {
		t.Fatal(r.err)
	}
	reg := finishedOutputs(r, "registry")
	if reg["created"] != true || reg["endpoint"] != "http://"+name+":5000" {
		t.Errorf("registry outputs: %v", reg)
	}
	first := finishedOutputs(r, "push")["images"].([]any)[0].(map[string]any)
	again := finishedOutputs(r, "again")["images"].([]any)[0].(map[string]any)
	if first["pushed"].(int) == 0 || again["pushed"].(int) != 0 || again["existing"].(int) != first["pushed"].(int)+first["existing"].(int) {
		t.Errorf("first push %v, second %v: the second must send nothing", first, again)
	}
	repo := strings.SplitN(strings.TrimPrefix(first["ref"].(string), reg["address"].(string)+"/"), ":", 2)
	// The cache has never been pushed to: it fetches the manifest from the registry it proxies.
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(cachePort) + "/v2/" + repo[0] + "/tags/list")
	if err != nil {
		t.Fatal(err)
	}
	var tags struct{ Tags []string }
	json.NewDecoder(resp.Body).Decode(&tags)
	resp.Body.Close()
	if len(tags.Tags) != 1 || tags.Tags[0] != repo[1] {
		t.Errorf("the cache lists %v for %s, want [%s]", tags.Tags, repo[0], repo[1])
	}
	// Again: both are there, and kept.
	r = runPlaybook(t, body)
	if r.err != nil || finishedOutputs(r, "registry")["created"] != false {
		t.Errorf("a second run: %v, %v", r.err, finishedOutputs(r, "registry"))
	}
}

// Each mistake is named, and nothing half-made is left: a network that is not there, a port
// in use, a container of another kind under the registry's name, an image not in the engine,
// and a registry that is there as something else.
func TestRegistryErrors(t *testing.T) {
	image := testenv.RegistryImage(t)
	cli := testenv.Docker(t)
	netName, port := registryNet(t)
	_, sleepers := startContainers(t, 1, nil)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	name := testenv.Name(t, "reg")
	removeContainer(t, name)
	cases := []struct{ name, step, want string }{
		{"no network", "registry: {name: " + name + ", image: " + image + ", port: " + strconv.Itoa(port) + ", network: no-such-net}",
			`the Docker network "no-such-net" does not exist yet`},
		{"port in use", "registry: {name: " + name + ", image: " + image + ", port: " + strconv.Itoa(busyPort) + ", network: " + netName + "}",
			"port " + strconv.Itoa(busyPort) + " on 127.0.0.1 is in use"},
		{"another container", "registry: {name: " + sleepers[0] + ", image: " + image + ", port: " + strconv.Itoa(port) + ", network: " + netName + "}",
			`a container named "` + sleepers[0] + `" is there and is not a registry this step made`},
		{"no such image", "registryPush: {address: '127.0.0.1:" + strconv.Itoa(port) + "', images: [kindlab/no-such-image:v0]}",
			"image kindlab/no-such-image:v0 is not in the Docker engine"},
		{"a cache whose remote is not there", "registry: {name: " + name + ", image: " + image + ", port: " + strconv.Itoa(port) + ", network: " + netName + ", proxy: 'http://nowhere:5000'}",
			`(removed again): it exited: panic: Get "http://nowhere:5000/v2/"`},
		{"no registry image", "registry: {name: " + name + ", image: kindlab/no-such-registry:v0, port: " + strconv.Itoa(port) + ", network: " + netName + "}",
			"the registry image kindlab/no-such-registry:v0 is not in the Docker engine"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runPlaybook(t, "steps:\n  - {name: step, "+tc.step+"}\n")
			if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", r.err, tc.want)
			}
			if _, err := cli.ContainerInspect(context.Background(), name, client.ContainerInspectOptions{}); err == nil {
				t.Errorf("a registry container %s was left behind", name)
			}
		})
	}
	if c, err := cli.ContainerInspect(context.Background(), sleepers[0], client.ContainerInspectOptions{}); err != nil || !c.Container.State.Running {
		t.Errorf("the container of another kind was touched: %v", err)
	}
	// A registry made as a cache is not taken for a plain one.
	base := testenv.Name(t, "base")
	removeContainer(t, base)
	_, basePort := registryNet(t)
	r := runPlaybook(t, "steps:\n  - {name: base, registry: {name: "+base+", image: "+image+", port: "+strconv.Itoa(basePort)+", network: "+netName+"}}\n"+
		"  - {name: cache, registry: {name: "+name+", image: "+image+", port: "+strconv.Itoa(port)+", network: "+netName+", proxy: 'http://"+base+":5000'}}\n"+
		"  - {name: plain, registry: {name: "+name+", image: "+image+", port: "+strconv.Itoa(port)+", network: "+netName+"}}\n")
	if r.err == nil || !strings.Contains(r.err.Error(), "is there as cache of http://"+base+":5000, not as registry") {
		t.Errorf("err = %v", r.err)
	}
}

// A long push says how far it got: lines of megabytes sent, never going back, up to about the
// image's size. The image is 24 MB of random bytes, so that compression cannot hide it.
func TestRegistryPushSaysHowFarItGot(t *testing.T) {
	image := testenv.RegistryImage(t)
	netName, port := registryNet(t)
	name := testenv.Name(t, "reg")
	removeContainer(t, name)
	big := randomImage(t, 24<<20)
	defer steps.SetPushProgressEvery(time.Millisecond)()
	r := runPlaybook(t, "steps:\n"+
		"  - {name: registry, id: registry, registry: {name: "+name+", image: "+image+", port: "+strconv.Itoa(port)+", network: "+netName+"}}\n"+
		"  - {name: push, registryPush: {address: '${{ steps.registry.outputs.address }}', images: ["+big+"]}}\n")
	if r.err != nil {
		t.Fatal(r.err)
	}
	var sent []int
	for _, e := range r.events {
		if e.Type != engine.StepOutput || e.Step != "push" {
			continue
		}
		var mb int
		if _, err := fmt.Sscanf(e.Line[strings.LastIndex(e.Line, ": ")+2:], "%d MB sent so far", &mb); err == nil {
			sent = append(sent, mb)
		}
	}
	if len(sent) < 2 || !slices.IsSorted(sent) || sent[len(sent)-1] < 16 || sent[len(sent)-1] > 26 {
		t.Errorf("progress lines say %v MB, want at least two, rising, up to about 24", sent)
	}
}

// randomImage imports a one-layer image holding size random bytes into the engine, removed
// when the test ends.
func randomImage(t *testing.T, size int) string {
	t.Helper()
	cli := testenv.Docker(t)
	ref := "kindlab/random:" + strings.ToLower(testenv.Name(t, "r"))
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	tw.WriteHeader(&tar.Header{Name: "random", Mode: 0o644, Size: int64(size)})
	if _, err := io.CopyN(tw, rand.Reader, int64(size)); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	res, err := cli.ImageImport(context.Background(), client.ImageImportSource{Source: &layer, SourceName: "-"}, ref, client.ImageImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res)
	res.Close()
	inspect, err := cli.ImageInspect(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	// By ID with force: the tags registryPush adds go too.
	t.Cleanup(func() {
		cli.ImageRemove(context.Background(), inspect.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
	return ref
}

// A proxy that is no registry URL is bad input: refused at load, with its place, before a
// container is made.
func TestRegistryProxyMustBeAURL(t *testing.T) {
	for _, proxy := range []string{"nowhere:5000", "ftp://host", "https://"} {
		dir := t.TempDir()
		path := filepath.Join(dir, "pb.yaml")
		os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: t\nsteps:\n  - {name: cache, registry: {image: r, proxy: '"+proxy+"'}}\n"), 0o644)
		_, err := engine.Load(path, engine.LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), "pb.yaml:5:") || !strings.Contains(err.Error(), "is not a registry URL") {
			t.Errorf("proxy %q: err = %v", proxy, err)
		}
	}
}
