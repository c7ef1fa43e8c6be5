// Package helmchart finds a chart (local directory or archive, repository chart, OCI
// reference) and keeps downloaded charts in a disk cache, so that a run which needs no
// download makes no network request.
package helmchart

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/kindlab/playbook/internal/atomicfile"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
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
func CacheDir() string {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "playbook", "helm")
}

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
		return pullOCI(s, logf)
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

func downloadFromRepo(ctx context.Context, s Source, logf func(string, ...any)) (string, error) {
	indexPath := filepath.Join(filepath.Dir(cachedArchive(s, "x")), "index.yaml")
	logf("fetching the index of %s", s.Repo)
	if err := fetch(ctx, strings.TrimSuffix(s.Repo, "/")+"/index.yaml", indexPath); err != nil {
		return "", err
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
	url, err := repo.ResolveReferenceURL(s.Repo, cv.URLs[0])
	if err != nil {
		return "", err
	}
	dest := cachedArchive(s, cv.Version)
	if _, err := os.Stat(dest); err == nil {
		return dest, nil
	}
	logf("downloading %s %s", s.Chart, cv.Version)
	if err := fetch(ctx, url, dest); err != nil {
		return "", err
	}
	if cv.Digest != "" {
		if err := checkDigest(dest, cv.Digest); err != nil {
			os.Remove(dest)
			return "", err
		}
	}
	return dest, nil
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

// fetch downloads url to dest atomically: a cancelled download leaves no half file behind.
func fetch(ctx context.Context, url, dest string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return atomicfile.Write(dest, resp.Body, 0o755)
}

func pullOCI(s Source, logf func(string, ...any)) (string, error) {
	if !exact(s.Version) {
		return "", fmt.Errorf("chart %s: an OCI chart needs an exact version", s.Chart)
	}
	opts := []registry.ClientOption{registry.ClientOptWriter(io.Discard)}
	if s.PlainHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	client, err := registry.NewClient(opts...)
	if err != nil {
		return "", err
	}
	ref := strings.TrimPrefix(s.Chart, "oci://") + ":" + s.Version
	logf("pulling %s", ref)
	res, err := client.Pull(ref, registry.PullOptWithChart(true))
	if err != nil {
		return "", fmt.Errorf("pulling %s: %w", ref, err)
	}
	dest := cachedArchive(s, s.Version)
	return dest, atomicfile.Write(dest, bytes.NewReader(res.Chart.Data), 0o755)
}
