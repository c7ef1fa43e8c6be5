package helmchart_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
	"github.com/kindlab/playbook/internal/helmchart"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	helmregistry "helm.sh/helm/v4/pkg/registry"
)

// startRegistry runs a real OCI registry (the distribution project's, in memory) on loopback.
func startRegistry(t *testing.T) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	config := &configuration.Configuration{}
	config.HTTP.Addr = addr
	config.HTTP.DrainTimeout = time.Second
	config.Storage = map[string]configuration.Parameters{"inmemory": map[string]any{}}
	config.Log.AccessLog.Disabled = true
	config.Log.Level = "error"
	ctx, cancel := context.WithCancel(context.Background())
	reg, err := registry.NewRegistry(ctx, config)
	if err != nil {
		t.Fatal(err)
	}
	go reg.ListenAndServe()
	for range 50 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop := func() {
		cancel()
		reg.Shutdown(context.Background())
	}
	t.Cleanup(stop)
	return addr, stop
}

func TestOCIChartIsPulledAndCached(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	addr, stop := startRegistry(t)
	ch, err := loader.Load("../../steps/testdata/charts/demo")
	if err != nil {
		t.Fatal(err)
	}
	archive, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(archive)
	client, err := helmregistry.NewClient(helmregistry.ClientOptPlainHTTP(), helmregistry.ClientOptWriter(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Push(data, fmt.Sprintf("%s/charts/demo:0.1.0", addr)); err != nil {
		t.Fatal(err)
	}
	src := helmchart.Source{Chart: "oci://" + addr + "/charts/demo", Version: "0.1.0", PlainHTTP: true}
	path, err := helmchart.Locate(context.Background(), src, func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := loader.Load(path)
	if err != nil || pulled.Metadata.Name != "demo" {
		t.Fatalf("pulled chart: %v %v", pulled, err)
	}
	stop() // the registry is gone: the second run must not need it
	again, err := helmchart.Locate(context.Background(), src, func(string, ...any) {})
	if err != nil || again != path {
		t.Errorf("cached pull: %s %v", again, err)
	}
	if _, err := helmchart.Locate(context.Background(), helmchart.Source{Chart: src.Chart, Version: "~0.1", PlainHTTP: true}, func(string, ...any) {}); err == nil {
		t.Error("an OCI version range was accepted")
	}
}
