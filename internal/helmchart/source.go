// Package helmchart finds a chart (local directory or archive, repository chart, OCI
// reference) and keeps downloaded charts in a disk cache, so that a run which needs no
// download makes no network request.
package helmchart

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/kindlab/playbook/internal/xdg"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/cli"
	"helm.sh/helm/v4/pkg/downloader"
	"helm.sh/helm/v4/pkg/getter"
	"helm.sh/helm/v4/pkg/registry"
	repo "helm.sh/helm/v4/pkg/repo/v1"
)

// Source says where a chart comes from.
type Source struct {
	Repo    string // repository URL; empty for a local path or an OCI reference
	Chart   string // chart name in Repo, a local directory or .tgz, or oci://host/path/name
	Version string // exact version or constraint; empty means the newest
	Dir     string // the playbook's directory, for relative local paths
	// PlainHTTP talks to an OCI registry without TLS (a local registry).
	PlainHTTP bool
	// Repository and registry credentials and TLS, as helm's --username, --ca-file, ...
	Username, Password        string
	CAFile, CertFile, KeyFile string
	InsecureSkipTLSVerify     bool
}

// getterOptions are the credentials and TLS settings as Helm's getters take them.
func (s Source) getterOptions() []getter.Option {
	opts := []getter.Option{getter.WithInsecureSkipVerifyTLS(s.InsecureSkipTLSVerify), getter.WithPlainHTTP(s.PlainHTTP),
		getter.WithTimeout(5 * time.Minute)}
	if s.Username != "" || s.Password != "" {
		opts = append(opts, getter.WithBasicAuth(s.Username, s.Password))
	}
	if s.CAFile != "" || s.CertFile != "" || s.KeyFile != "" {
		opts = append(opts, getter.WithTLSClientConfig(s.path(s.CertFile), s.path(s.KeyFile), s.path(s.CAFile)))
	}
	return opts
}

func (s Source) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(s.Dir, p)
}

// IsOCI reports whether the chart is an OCI reference.
func (s Source) IsOCI() bool { return strings.HasPrefix(s.Chart, "oci://") }

// LocalPath is the chart's path when it is local, else "".
func (s Source) LocalPath() string {
	if s.Repo != "" || s.IsOCI() {
		return ""
	}
	if filepath.IsAbs(s.Chart) {
		return s.Chart
	}
	// Next to the playbook first; then from the working directory, where a path given on the
	// command line (--var ciliumChart=...) was typed.
	beside := filepath.Join(s.Dir, s.Chart)
	if _, err := os.Stat(beside); err != nil {
		if abs, err := filepath.Abs(s.Chart); err == nil {
			if _, err := os.Stat(abs); err == nil {
				return abs
			}
		}
	}
	return beside
}

// CacheDir is where downloaded charts and indexes are kept.
func CacheDir() string { return filepath.Join(xdg.CacheHome(), "playbook", "helm") }

// exact reports whether a version names one release, so a cached archive can be trusted
// without asking the repository.
func exact(version string) bool {
	if version == "" {
		return false
	}
	_, err := semver.StrictNewVersion(strings.TrimPrefix(version, "v"))
	return err == nil
}

// Cached returns the archive already downloaded for s, or "" (no network is used).
func Cached(s Source) string {
	if !exact(s.Version) {
		return ""
	}
	path := cachedArchive(s, s.Version)
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	return path
}

func cachedArchive(s Source, version string) string {
	key := s.Repo
	if s.IsOCI() {
		key = s.Chart
	}
	sum := sha256.Sum256([]byte(key))
	name := filepath.Base(strings.TrimPrefix(s.Chart, "oci://"))
	return filepath.Join(CacheDir(), hex.EncodeToString(sum[:8]), name+"-"+version+".tgz")
}

// Locate returns a local path for the chart, downloading it into the cache when needed.
func Locate(ctx context.Context, s Source, logf func(string, ...any)) (string, error) {
	if p := s.LocalPath(); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("chart %s: %w", s.Chart, err)
		}
		return p, nil
	}
	if p := Cached(s); p != "" {
		logf("chart %s %s from the cache", s.Chart, s.Version)
		return p, nil
	}
	if s.IsOCI() {
		return pullOCI(ctx, s, logf)
	}
	return downloadFromRepo(ctx, s, logf)
}

// Load locates and loads the chart.
func Load(ctx context.Context, s Source, logf func(string, ...any)) (*chart.Chart, error) {
	path, err := Locate(ctx, s, logf)
	if err != nil {
		return nil, err
	}
	ch, err := loader.Load(path)
	if err != nil {
		return nil, fmt.Errorf("loading chart %s: %w", path, err)
	}
	return ch, nil
}

// downloadFromRepo reads the repository's index with Helm's own repository client (its
// credentials and TLS), and downloads the version it names with Helm's ChartDownloader, unless
// that version is in the cache already: a version range costs the index alone.
func downloadFromRepo(ctx context.Context, s Source, logf func(string, ...any)) (string, error) {
	getters := getter.All(cli.New())
	cacheDir := filepath.Dir(cachedArchive(s, "x"))
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	entry := &repo.Entry{Name: "index", URL: s.Repo, Username: s.Username, Password: s.Password,
		CAFile: s.path(s.CAFile), CertFile: s.path(s.CertFile), KeyFile: s.path(s.KeyFile), InsecureSkipTLSVerify: s.InsecureSkipTLSVerify}
	r, err := repo.NewChartRepository(entry, getters)
	if err != nil {
		return "", err
	}
	r.CachePath = cacheDir
	logf("fetching the index of %s", s.Repo)
	indexPath, err := r.DownloadIndexFile()
	if err != nil {
		return "", fmt.Errorf("repository %s: %w", s.Repo, err)
	}
	index, err := repo.LoadIndexFile(indexPath)
	if err != nil {
		return "", fmt.Errorf("index of %s: %w", s.Repo, err)
	}
	cv, err := index.Get(s.Chart, s.Version)
	if err != nil {
		return "", fmt.Errorf("repository %s: chart %s version %q: %w", s.Repo, s.Chart, s.Version, err)
	}
	if len(cv.URLs) == 0 {
		return "", fmt.Errorf("repository %s lists no download for %s %s", s.Repo, s.Chart, cv.Version)
	}
	dest := cachedArchive(s, cv.Version)
	if _, err := os.Stat(dest); err == nil {
		return dest, nil
	}
	url, err := repo.ResolveReferenceURL(s.Repo, cv.URLs[0])
	if err != nil {
		return "", err
	}
	logf("downloading %s %s", s.Chart, cv.Version)
	got, err := download(ctx, s, getters, url, "")
	if err != nil {
		return "", err
	}
	if cv.Digest != "" {
		if err := checkDigest(got, cv.Digest); err != nil {
			os.Remove(got)
			return "", err
		}
	}
	return dest, os.Rename(got, dest)
}

// download fetches a chart with Helm's ChartDownloader (HTTP or OCI) into the cache's
// directory, and returns the file it wrote.
func download(ctx context.Context, s Source, getters getter.Providers, ref, version string) (string, error) {
	rc, err := registryClient(s)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(CacheDir(), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(CacheDir(), ".download-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	dl := downloader.ChartDownloader{Out: io.Discard, Verify: downloader.VerifyNever, Getters: getters,
		Options: append(s.getterOptions(), getter.WithRegistryClient(rc)), RegistryClient: rc,
		RepositoryConfig: filepath.Join(tmp, "repositories.yaml"), RepositoryCache: tmp, ContentCache: filepath.Join(CacheDir(), "content")}
	done := make(chan struct{})
	var path string
	go func() {
		defer close(done)
		path, _, err = dl.DownloadTo(ref, version, tmp)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
	if err != nil {
		return "", fmt.Errorf("downloading %s: %w", ref, err)
	}
	out, err := os.CreateTemp(CacheDir(), ".chart-*.tgz")
	if err != nil {
		return "", err
	}
	out.Close()
	return out.Name(), os.Rename(path, out.Name())
}

func registryClient(s Source) (*registry.Client, error) {
	opts := []registry.ClientOption{registry.ClientOptWriter(io.Discard)}
	if s.PlainHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	if s.Username != "" || s.Password != "" {
		opts = append(opts, registry.ClientOptBasicAuth(s.Username, s.Password))
	}
	return registry.NewClient(opts...)
}

func checkDigest(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%s: digest %s, the repository says %s", filepath.Base(path), got, want)
	}
	return nil
}

func pullOCI(ctx context.Context, s Source, logf func(string, ...any)) (string, error) {
	if !exact(s.Version) {
		return "", fmt.Errorf("chart %s: an OCI chart needs an exact version", s.Chart)
	}
	logf("pulling %s:%s", strings.TrimPrefix(s.Chart, "oci://"), s.Version)
	got, err := download(ctx, s, getter.All(cli.New()), s.Chart, s.Version)
	if err != nil {
		return "", err
	}
	dest := cachedArchive(s, s.Version)
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", err
	}
	return dest, os.Rename(got, dest)
}
