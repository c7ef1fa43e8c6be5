package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/helmchart"
	"github.com/kindlab/playbook/internal/kube"
	"github.com/kindlab/playbook/internal/xdg"
	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	helmkube "helm.sh/helm/v4/pkg/kube"
	releasei "helm.sh/helm/v4/pkg/release"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

type helmInstallParams struct {
	kube.Target     `yaml:",inline"`
	helmValues      `yaml:",inline"`
	Release         string `yaml:"release" doc:"release name" pb:"required"`
	Namespace       string `yaml:"namespace" doc:"release namespace (default: the kubeconfig context's, else default)"`
	CreateNamespace bool   `yaml:"createNamespace" doc:"create the namespace when missing"`
	Repo            string `yaml:"repo" doc:"chart repository URL (with chart: its name in the repository)"`
	Chart           string `yaml:"chart" doc:"chart name in repo, a local directory or .tgz (relative to the playbook), or oci://host/path/name" pb:"required"`
	Version         string `yaml:"version" doc:"chart version or constraint (default: the newest)"`
	PlainHTTP       bool   `yaml:"plainHTTP" doc:"reach an OCI registry without TLS"`
	chartAccess     `yaml:",inline"`
	Wait            bool            `yaml:"wait" doc:"wait until the release's resources are ready"`
	Timeout         engine.Duration `yaml:"timeout" doc:"for install, upgrade and wait (default 5m)"`
	Atomic          bool            `yaml:"atomic" doc:"roll back (or uninstall a new release) when it fails"`
	StrictValues    *bool           `yaml:"strictValues" doc:"fail on values the chart does not read (default true); false: warn"`
	KubeVersion     string          `yaml:"kubeVersion" doc:"Kubernetes version for plan --render when the cluster cannot be asked"`
}

func init() {
	engine.Register(engine.StepType[helmInstallParams]{
		Name:    "helmInstall",
		Summary: "install or upgrade a Helm chart with the Helm 4 SDK; unknown values are an error",
		Example: `- name: install Cilium
  id: cilium
  helmInstall:
    release: cilium
    namespace: kube-system
    repo: https://charts.example.com/cilium
    chart: cilium
    version: 1.20.0
    values:
      kubeProxyReplacement: true
    wait: true`,
		Outputs: []engine.OutputDoc{
			{Name: "release", Type: "string", Doc: "the release's name"},
			{Name: "namespace", Type: "string", Doc: "the namespace it is installed in"},
			{Name: "revision", Type: "int", Doc: "the release's revision (unchanged: the one already deployed)"},
			{Name: "status", Type: "string", Doc: "deployed, failed, ..."},
			{Name: "result", Type: "string", Doc: "installed, upgraded or unchanged"},
			{Name: "chartVersion", Type: "string", Doc: "version of the chart installed"},
			{Name: "values", Type: "map", Doc: "the merged user values (files, values, set)"},
		},
		Validate: func(p *helmInstallParams) error {
			if p.Repo != "" && (filepath.IsAbs(p.Chart) || filepath.Ext(p.Chart) == ".tgz") {
				return engine.Errorf("chart", "with repo, chart is the chart's name in the repository, not a path")
			}
			return nil
		},
		Check: checkHelmValuesOffline,
		Plan:  planHelmInstall,
		Files: func(p *helmInstallParams) []string {
			files := append([]string{}, p.ValuesFiles...)
			if p.Repo == "" && !strings.Contains(p.Chart, "://") {
				files = append(files, p.Chart) // a local chart; a name in a repository is pinned by version
			}
			return files
		},
		Run: runHelmInstall,
	})
}

// chartAccess is how to reach a chart repository or registry that asks who you are, as
// helm's --username, --password, --ca-file, --cert-file, --key-file and
// --insecure-skip-tls-verify.
type chartAccess struct {
	Username              string `yaml:"username" doc:"repository or registry user"`
	Password              string `yaml:"password" doc:"its password: a secret (secrets: in the playbook), never written in clear"`
	CAFile                string `yaml:"caFile" doc:"CA bundle to verify the repository's TLS certificate (relative to the playbook)"`
	CertFile              string `yaml:"certFile" doc:"client certificate for TLS"`
	KeyFile               string `yaml:"keyFile" doc:"client key for TLS"`
	InsecureSkipTLSVerify bool   `yaml:"insecureSkipTLSVerify" doc:"do not verify the repository's TLS certificate"`
}

func (p *helmInstallParams) source(dir string) helmchart.Source {
	return helmchart.Source{Repo: p.Repo, Chart: p.Chart, Version: p.Version, Dir: dir, PlainHTTP: p.PlainHTTP,
		Username: p.Username, Password: p.Password, CAFile: p.CAFile, CertFile: p.CertFile, KeyFile: p.KeyFile,
		InsecureSkipTLSVerify: p.InsecureSkipTLSVerify}
}

func (p *helmInstallParams) strict() bool { return p.StrictValues == nil || *p.StrictValues }

// namespace is where the release lives: the one named, else the kubeconfig context's, else
// default, as helm itself chooses.
func (p *helmInstallParams) namespace(dir string) string {
	return kube.NamespaceOf(p.Target, dir, p.Namespace)
}

// checkHelmValuesOffline checks values against the chart at load time when the chart is at
// hand without the network (local, or downloaded before); otherwise the step checks them.
func checkHelmValuesOffline(p *helmInstallParams, dir string) error {
	if p.Chart == "" {
		return nil // it comes from an earlier step: checked when the step runs
	}
	path := offlineChart(p, dir)
	if path == "" || !p.strict() {
		return nil
	}
	ch, err := helmchart.Load(context.Background(), helmchart.Source{Chart: path}, func(string, ...any) {})
	if err != nil {
		return engine.Errorf("chart", "%v", err)
	}
	known, err := knownValues(path, ch)
	if err != nil {
		return engine.Errorf("chart", "%v", err)
	}
	return p.check(known, dir)
}

// offlineChart is the chart's path if it can be had without the network, else "".
func offlineChart(p *helmInstallParams, dir string) string {
	s := p.source(dir)
	if local := s.LocalPath(); local != "" {
		return local
	}
	return helmchart.Cached(s)
}

func runHelmInstall(ctx context.Context, rt *engine.Runtime, p *helmInstallParams) (map[string]any, error) {
	ch, path, err := loadChart(ctx, rt, p)
	if err != nil {
		return nil, err
	}
	vals, err := p.merged(rt.Dir())
	if err != nil {
		return nil, err
	}
	known, err := knownValues(path, ch)
	if err != nil {
		return nil, err
	}
	if err := p.check(known, rt.Dir()); err != nil {
		if p.strict() {
			return nil, err
		}
		rt.Logf("warning: %v", err)
	}
	ns := p.namespace(rt.Dir())
	cfg, err := newHelmConfig(p.Target, ns, rt.Dir())
	if err != nil {
		return nil, err
	}
	timeout := p.Timeout.Duration
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	current, err := lastRelease(cfg, p.Release)
	if err != nil {
		return nil, err
	}
	var rel *release.Release
	result := "installed"
	if current == nil || current.Info.Status == rcommon.StatusUninstalled {
		install := action.NewInstall(cfg)
		install.ReleaseName, install.Namespace, install.CreateNamespace = p.Release, ns, p.CreateNamespace
		install.Timeout, install.WaitStrategy, install.RollbackOnFailure = timeout, waitStrategy(p.Wait), p.Atomic
		install.Replace = current != nil
		rt.Logf("installing %s (chart %s %s) into %s", p.Release, ch.Metadata.Name, ch.Metadata.Version, ns)
		r, err := install.RunWithContext(ctx, ch, vals)
		if rel, err = asRelease(r, err); err != nil {
			return nil, fmt.Errorf("install %s: %w", p.Release, err)
		}
	} else {
		if unchanged, err := upgradeIsNoOp(ctx, cfg, p, ns, ch, vals, current); err != nil {
			return nil, err
		} else if unchanged {
			rt.Logf("%s is up to date (revision %d): nothing to do", p.Release, current.Version)
			return releaseOutputs(current, "unchanged", vals), nil
		}
		upgrade := newUpgrade(cfg, p, ns, timeout)
		rt.Logf("upgrading %s (chart %s %s)", p.Release, ch.Metadata.Name, ch.Metadata.Version)
		r, err := upgrade.RunWithContext(ctx, p.Release, ch, vals)
		if rel, err = asRelease(r, err); err != nil {
			return nil, fmt.Errorf("upgrade %s: %w", p.Release, err)
		}
		result = "upgraded"
	}
	rt.Logf("%s: revision %d %s", p.Release, rel.Version, rel.Info.Status)
	return releaseOutputs(rel, result, vals), nil
}

func loadChart(ctx context.Context, rt *engine.Runtime, p *helmInstallParams) (*chart.Chart, string, error) {
	path, err := helmchart.Locate(ctx, p.source(rt.Dir()), rt.Logf)
	if err != nil {
		return nil, "", err
	}
	ch, err := helmchart.Load(ctx, helmchart.Source{Chart: path}, rt.Logf)
	return ch, path, err
}

func newUpgrade(cfg *action.Configuration, p *helmInstallParams, ns string, timeout time.Duration) *action.Upgrade {
	upgrade := action.NewUpgrade(cfg)
	upgrade.Namespace, upgrade.Timeout, upgrade.WaitStrategy = ns, timeout, waitStrategy(p.Wait)
	upgrade.RollbackOnFailure, upgrade.CleanupOnFail = p.Atomic, p.Atomic
	return upgrade
}

// upgradeIsNoOp renders the upgrade without applying it and compares it with the deployed
// release: same chart, same values, same manifest means there is nothing to do (and no new
// revision to make).
func upgradeIsNoOp(ctx context.Context, cfg *action.Configuration, p *helmInstallParams, ns string, ch *chart.Chart, vals map[string]any, current *release.Release) (bool, error) {
	if current.Info.Status != rcommon.StatusDeployed || current.Chart == nil || current.Chart.Metadata.Version != ch.Metadata.Version {
		return false, nil
	}
	dry := newUpgrade(cfg, p, ns, time.Minute)
	dry.DryRunStrategy = action.DryRunClient
	r, err := dry.RunWithContext(ctx, p.Release, ch, vals)
	planned, err := asRelease(r, err)
	if err != nil {
		return false, fmt.Errorf("upgrade %s (dry run): %w", p.Release, err)
	}
	return planned.Manifest == current.Manifest && sameValues(planned.Config, current.Config), nil
}

// sameValues compares values as JSON would: numbers from YAML and from storage differ in Go
// type but not in meaning.
func sameValues(a, b map[string]any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var na, nb any
	json.Unmarshal(ja, &na)
	json.Unmarshal(jb, &nb)
	return reflect.DeepEqual(na, nb)
}

func waitStrategy(wait bool) helmkube.WaitStrategy {
	if wait {
		return helmkube.StatusWatcherStrategy
	}
	return helmkube.HookOnlyStrategy
}

func newHelmConfig(t kube.Target, namespace, dir string) (*action.Configuration, error) {
	flags := genericclioptions.NewConfigFlags(false)
	kubeconfig := t.Kubeconfig
	if kubeconfig != "" && !filepath.IsAbs(kubeconfig) {
		kubeconfig = filepath.Join(dir, kubeconfig)
	}
	// client-go's discovery cache goes with playbook's other caches, not into ~/.kube.
	cacheDir := filepath.Join(xdg.CacheHome(), "playbook", "kube")
	flags.KubeConfig, flags.Context, flags.Namespace, flags.CacheDir = &kubeconfig, &t.Context, &namespace, &cacheDir
	cfg := action.NewConfiguration()
	cfg.SetLogger(slog.New(slog.NewTextHandler(io.Discard, nil)).Handler())
	if err := cfg.Init(flags, namespace, "secret"); err != nil {
		return nil, err
	}
	return cfg, nil
}

func lastRelease(cfg *action.Configuration, name string) (*release.Release, error) {
	history := action.NewHistory(cfg)
	history.Max = 1
	rels, err := history.Run(name)
	if errors.Is(err, driver.ErrReleaseNotFound) || err == nil && len(rels) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var latest *release.Release
	for _, r := range rels {
		if rel, ok := r.(*release.Release); ok && (latest == nil || rel.Version > latest.Version) {
			latest = rel
		}
	}
	return latest, nil
}

func asRelease(r releasei.Releaser, err error) (*release.Release, error) {
	if err != nil {
		return nil, err
	}
	rel, ok := r.(*release.Release)
	if !ok {
		return nil, fmt.Errorf("unexpected release type %T", r)
	}
	return rel, nil
}

func releaseOutputs(rel *release.Release, result string, vals map[string]any) map[string]any {
	version := ""
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		version = rel.Chart.Metadata.Version
	}
	return map[string]any{"release": rel.Name, "namespace": rel.Namespace, "revision": rel.Version,
		"status": string(rel.Info.Status), "result": result, "chartVersion": version, "values": vals}
}

// planHelmInstall shows the merged values and, with --render, the manifests rendered on this
// machine for the target's Kubernetes version. It never downloads.
func planHelmInstall(ctx context.Context, p *helmInstallParams) (any, error) {
	dir := engine.PlaybookDir(ctx)
	if p.Chart == "" {
		return map[string]any{"chart": "known only when the step runs"}, nil
	}
	vals, err := p.merged(dir)
	if err != nil {
		return nil, err
	}
	detail := map[string]any{"values": vals}
	path := offlineChart(p, dir)
	if path == "" {
		detail["chart"] = fmt.Sprintf("%s %s from %s (not downloaded yet; plan does not fetch)", p.Chart, p.Version, p.Repo)
		if engine.RenderRequested(ctx) {
			return nil, engine.Errorf("chart", "cannot render: the chart is not in the cache; use a local chart (e.g. --var ciliumChart=path) or run once")
		}
		return detail, nil
	}
	ch, err := helmchart.Load(ctx, helmchart.Source{Chart: path}, func(string, ...any) {})
	if err != nil {
		return nil, err
	}
	detail["chart"] = ch.Metadata.Name + " " + ch.Metadata.Version
	if !engine.RenderRequested(ctx) {
		return detail, nil
	}
	kubeVersion, err := targetKubeVersion(p, dir)
	if err != nil {
		return nil, err
	}
	manifest, err := renderClientSide(ctx, p, ch, vals, kubeVersion, dir)
	if err != nil {
		return nil, err
	}
	objects := splitManifest(manifest)
	detail["kubeVersion"], detail["manifests"] = kubeVersion, fmt.Sprintf("%d objects, after the plan", len(objects))
	return engine.PlanDetail{Detail: detail, Rendered: objects}, nil
}

// targetKubeVersion is the version to render for: the kubeVersion parameter, else the target
// cluster's own. Helm's built-in default would make charts with a kubeVersion constraint
// refuse to render, or render for the wrong API versions.
func targetKubeVersion(p *helmInstallParams, dir string) (string, error) {
	if p.KubeVersion != "" {
		return p.KubeVersion, nil
	}
	if p.Kubeconfig != "" {
		// A cluster that is not there must not hold plan up: its own client, with a short
		// timeout, which the shared ones never get.
		if v, err := kube.ServerVersion(p.Target, dir, 3*time.Second); err == nil {
			return v, nil
		}
	}
	return "", engine.Errorf("kubeVersion", "plan --render needs the cluster's Kubernetes version: set kubeVersion (the cluster cannot be asked)")
}

func renderClientSide(ctx context.Context, p *helmInstallParams, ch *chart.Chart, vals map[string]any, kubeVersion, dir string) (string, error) {
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		return "", engine.Errorf("kubeVersion", "%v", err)
	}
	install := action.NewInstall(action.NewConfiguration())
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName, install.Namespace, install.KubeVersion = p.Release, p.namespace(dir), kv
	install.Replace = true
	r, err := install.RunWithContext(ctx, ch, vals)
	rel, err := asRelease(r, err)
	if err != nil {
		return "", fmt.Errorf("rendering %s: %w", ch.Metadata.Name, err)
	}
	return rel.Manifest, nil
}

var documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// splitManifest turns a release's manifest, which Helm writes one object per document in the
// order it installs them ("# Source: chart/templates/x.yaml" heading each), into objects.
func splitManifest(manifest string) []engine.RenderedObject {
	var objects []engine.RenderedObject
	for _, doc := range documentSeparator.Split(manifest, -1) {
		doc = strings.Trim(doc, "\n")
		if strings.TrimSpace(doc) == "" {
			continue
		}
		o := engine.RenderedObject{YAML: doc + "\n"}
		if first, rest, ok := strings.Cut(doc, "\n"); ok && strings.HasPrefix(first, "# Source: ") {
			o.Source, o.YAML = strings.TrimPrefix(first, "# Source: "), rest+"\n"
		}
		var head struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Name      string `yaml:"name"`
				Namespace string `yaml:"namespace"`
			} `yaml:"metadata"`
		}
		_ = yaml.Unmarshal([]byte(o.YAML), &head)
		o.Kind, o.Name, o.Namespace = head.Kind, head.Metadata.Name, head.Metadata.Namespace
		objects = append(objects, o)
	}
	return objects
}
