package helmchart_test

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kindlab/playbook/internal/helmchart"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/provenance"
	repo "helm.sh/helm/v4/pkg/repo/v1"
)

// serveRepo serves a real Helm chart repository (index.yaml and the packaged demo chart)
// and counts the requests made to it.
func serveRepo(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	var requests atomic.Int32
	srv := serveChartRepo(t, httptest.NewServer, func(files http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			files.ServeHTTP(w, r)
		})
	})
	return srv.URL, &requests
}

// serveChartRepo packages the demo chart and serves it with its index.yaml, through wrap,
// on a server that start makes (plain or TLS).
func serveChartRepo(t *testing.T, start func(http.Handler) *httptest.Server, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	ch, err := loader.Load("../../steps/testdata/charts/demo")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	archive, err := chartutil.Save(ch, dir)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := provenance.DigestFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	srv := start(wrap(http.FileServer(http.Dir(dir))))
	t.Cleanup(srv.Close)
	index := repo.NewIndexFile()
	if err := index.MustAdd(ch.Metadata, filepath.Base(archive), srv.URL, digest); err != nil {
		t.Fatal(err)
	}
	if err := index.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestRepoChartIsCachedAndReusedWithoutNetwork(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	url, requests := serveRepo(t)
	ctx := context.Background()
	nolog := func(string, ...any) {}
	src := helmchart.Source{Repo: url, Chart: "demo", Version: "0.1.0"}
	if helmchart.Cached(src) != "" {
		t.Fatal("cached before any download")
	}
	path, err := helmchart.Locate(ctx, src, nolog)
	if err != nil {
		t.Fatal(err)
	}
	if got := requests.Load(); got != 2 {
		t.Errorf("first download made %d requests, want 2 (index and chart)", got)
	}
	if _, err := loader.Load(path); err != nil {
		t.Fatal(err)
	}
	again, err := helmchart.Locate(ctx, src, nolog)
	if err != nil || again != path {
		t.Fatalf("second locate: %s %v", again, err)
	}
	if got := requests.Load(); got != 2 {
		t.Errorf("an exact cached version made %d more requests, want none", got-2)
	}
	// A range needs the index, but not the chart again.
	if _, err := helmchart.Locate(ctx, helmchart.Source{Repo: url, Chart: "demo", Version: "~0.1"}, nolog); err != nil {
		t.Fatal(err)
	}
	if got := requests.Load(); got != 3 {
		t.Errorf("a version range made %d requests in all, want 3", got)
	}
}

func TestRepoChartErrors(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	url, _ := serveRepo(t)
	_, err := helmchart.Locate(context.Background(), helmchart.Source{Repo: url, Chart: "demo", Version: "9.9.9"}, func(string, ...any) {})
	if err == nil || !strings.Contains(err.Error(), `chart demo version "9.9.9"`) {
		t.Errorf("missing version: %v", err)
	}
	_, err = helmchart.Locate(context.Background(), helmchart.Source{Chart: "no/such/dir"}, func(string, ...any) {})
	if err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing local chart: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// A repository that wants a password and serves TLS with its own CA: the credentials and the
// CA file reach Helm's getters, and without them the download fails.
func TestRepoWithBasicAuthAndTLS(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	srv := serveChartRepo(t, httptest.NewTLSServer, func(files http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if user, pass, ok := r.BasicAuth(); !ok || user != "lab" || pass != "s3cret-pass" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			files.ServeHTTP(w, r)
		})
	})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)

	nolog := func(string, ...any) {}
	good := helmchart.Source{Repo: srv.URL, Chart: "demo", Version: "0.1.0", Username: "lab", Password: "s3cret-pass", CAFile: ca}
	path, err := helmchart.Locate(context.Background(), good, nolog)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loader.Load(path); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	noPassword := good
	noPassword.Password = ""
	if _, err := helmchart.Locate(context.Background(), noPassword, nolog); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("without the password: %v", err)
	}
	noCA := good
	noCA.CAFile = ""
	if _, err := helmchart.Locate(context.Background(), noCA, nolog); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA: %v", err)
	}
}
