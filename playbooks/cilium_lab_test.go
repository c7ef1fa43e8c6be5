package playbooks_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/testenv"
	"github.com/kindlab/playbook/job"
	"github.com/kindlab/playbook/report"
	"github.com/moby/moby/client"
)

const labVars = "vars/lab.yaml"

// labVarFiles are a mode's lab vars. kpr-ebpf's cluster takes the lab's images from the local
// registry (vars/lab-registry.yaml), so that every lab run goes that way too; the other modes
// go the lab's default way: the images are in the node image already.
func labVarFiles(mode string) []string {
	if mode == "kpr-ebpf" {
		return []string{labVars, "vars/lab-registry.yaml"}
	}
	return []string{labVars}
}

// labNodeImages are the lab's two node images: without Cilium's images (the registry's nodes
// pull them) and with them (the lab's default).
type labNodeImages struct{ plain, withCilium string }

func (l labNodeImages) forMode(mode string) string {
	if mode == "kpr-ebpf" {
		return l.plain
	}
	return l.withCilium
}

// seedCluster is each mode's cluster, as the seed named it.
var seedCluster = map[string]string{
	"kubeproxy": "cilium-kubeproxy",
	"kpr":       "cilium-kubeproxy-replacement",
	"kpr-ebpf":  "cilium-kubeproxy-replacement-ebpf",
}

// distinguishing is what the checks of one mode must find wrong on another mode's cluster:
// cilium-config and every agent's status always; host routing where one routes in BPF
// (kpr-ebpf) and the other does not; kube-proxy, and Cilium serving NodePorts, where one mode
// replaces kube-proxy and the other does not; the nodes' iptables always (KUBE-SVC-* chains,
// or Cilium's masquerade rule).
func distinguishing(checks, cluster string) []string {
	want := []string{"assert-config", "assert-status"}
	if (checks == "kpr-ebpf") != (cluster == "kpr-ebpf") {
		want = append(want, "assert-host-routing")
	}
	replacesKubeProxy := (checks == "kubeproxy") != (cluster == "kubeproxy")
	if replacesKubeProxy {
		want = append(want, "assert-kube-proxy")
	}
	want = append(want, "assert-iptables")
	if replacesKubeProxy {
		want = append(want, "assert-lb", "assert-path-clusterip", "assert-path-service")
	}
	if (checks == "kpr-ebpf") != (cluster == "kpr-ebpf") {
		want = append(want, "assert-path-masquerade", "assert-path-routing")
	}
	return append(want, "verdict")
}

// TestCiliumLab is the mission's main job, run for real on these machines: the three mode
// playbooks run as the cells of one job (one at a time), each building its kind cluster from
// the lab's node image, installing Cilium from the lab's images and the shared 1.20 chart, and
// passing its checks, with the job's HTML and JUnit reports; then, per mode: again on the same
// cluster; the other two modes' checks on that cluster must fail, at the checks that tell the
// modes apart; a step of each kind then fails for real, and its finally step must delete the
// cluster. PLAYBOOK_LAB_REPORTS names a directory to keep the job's reports in.
//
//	PLAYBOOK_LAB=1 bash hack/lab/test.sh    (CI always runs it)
//
// PLAYBOOK_UPDATE_TESTDATA=1 records what each cluster said into testdata/lab, for
// TestChecksOnRecordedClusters.
func TestCiliumLab(t *testing.T) {
	image := testenv.LabImage(t)
	testenv.CiliumImages(t)
	testenv.RegistryImage(t)
	images := labNodeImages{plain: image, withCilium: testenv.LabImageWithCilium(t)}
	cli := testenv.Docker(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	timings := &labTimings{}
	defer timings.log(t)

	// The job builds one cluster at a time: each mode's cluster is checked, then deleted, before
	// the next cell starts (this machine does not hold three clusters at once).
	runModesAsJob(t, images, func(mode string, fresh labRun) {
		t.Run(mode, func(t *testing.T) {
			name := seedCluster[mode]
			// Whatever happens here, this mode's cluster is gone before the next mode's checks.
			t.Cleanup(func() { testenv.DeleteKindCluster(t, name) })
			vars := []string{"nodeImage=" + images.forMode(mode)}
			if fresh.err != nil {
				t.Fatalf("%s from nothing: %v", mode, fresh.err)
			}
			timings.add(mode, "from nothing to green", fresh.took)
			if os.Getenv("PLAYBOOK_UPDATE_TESTDATA") == "1" {
				recordOutputs(t, mode, fresh)
			}
			again := runMode(t, mode, vars, engine.RunOptions{})
			if again.err != nil {
				t.Fatalf("%s again on its cluster: %v", mode, again.err)
			}
			if e, _ := again.finished("install-cilium"); e.Outputs == nil || e.Outputs.(map[string]any)["result"] != "unchanged" {
				t.Errorf("second run: install-cilium %+v, want result unchanged", e.Outputs)
			}
			timings.add(mode, "again on the same cluster", again.took)
			if mode == "kubeproxy" {
				kubeconfig := kubeconfigOf(t, fresh)
				t.Run("kubectlExec cancelled leaves no process", func(t *testing.T) { checkKubectlExecCancel(t, kubeconfig) })
				t.Run("port-forward example", func(t *testing.T) { checkPortForwardExample(t, kubeconfig) })
				t.Run("kubectlExec shell values", func(t *testing.T) { checkKubectlExecShellValues(t, kubeconfig) })
			}

			for _, checks := range modes {
				if checks == mode {
					continue
				}
				t.Run(checks+" checks", func(t *testing.T) {
					r := runMode(t, checks, append(vars, "cluster="+name), engine.RunOptions{StartAt: "cilium-config"})
					assertFailedAt(t, r, distinguishing(checks, mode), checks)
					timings.add(mode, "first failing check ("+checks+" checks)", r.firstFailure)
				})
			}
			failure := labFailures[mode]
			t.Run("fails at "+failure.kind, func(t *testing.T) {
				r := runMode(t, mode, append(vars, append(failure.vars, "cleanup=true")...), engine.RunOptions{StartAt: failure.startAt, Only: failure.only})
				checkLabFailure(t, cli, r, name, failure)
			})
		})
	})

	// The fourth kind, on a cluster of its own: the agent's image is not in the nodes (kindLoad
	// loads the other two), so the agents never start, and waiting for them fails, naming them
	// and why.
	t.Run("kpr fails at waitFor", func(t *testing.T) {
		name := "kindlab-no-agent-image"
		t.Cleanup(func() { testenv.DeleteKindCluster(t, name) })
		failure := labFailure{kind: "waitFor", step: "wait-cilium", says: []string{"cilium", "ErrImageNeverPull"}}
		r := runMode(t, "kpr", []string{"nodeImage=" + image, "cluster=" + name, "recreate=true", "cleanup=true",
			"imageSource=kindLoad", "ciliumWaitTimeout=45s", "localImages=[kindlab/cilium-operator-generic:v1.20.0, kindlab/busybox:lab]"}, engine.RunOptions{})
		checkLabFailure(t, cli, r, name, failure)
	})
}

type labFailure struct {
	kind    string
	startAt string
	only    []string
	vars    []string
	step    string   // the step that must fail
	says    []string // what its error must say: regular expressions
}

// labFailures are real failures on each mode's cluster once its checks passed: the last use
// of that cluster, whose finally step must delete it.
var labFailures = map[string]labFailure{
	"kubeproxy": {kind: "kubectlExec", startAt: "cilium-config", vars: []string{"ciliumCLI=cilium-no-such-cli"},
		step: "cilium-status", says: []string{"cilium-no-such-cli", "exited with code"}},
	"kpr": {kind: "dockerExec", startAt: "node-tools", only: []string{"node-tools"}, vars: []string{"aptPackages=[net-tools, no-such-tool]"},
		// Whichever node fails first is named: the fan-out stops the others, so on a loaded
		// machine the error may name one node only, and not always the same one.
		step: "node-tools", says: []string{`cilium-kubeproxy-replacement-(control-plane|worker|worker2): sh exited with code 100: E: Unable to locate package no-such-tool`}},
	"kpr-ebpf": {kind: "helmInstall", startAt: "install-cilium", only: []string{"install-cilium"}, vars: []string{"ciliumExtraValues={operator: {replicas: many}}"},
		step: "install-cilium", says: []string{"replicas"}},
}

func checkLabFailure(t *testing.T, cli *client.Client, r labRun, cluster string, f labFailure) {
	t.Helper()
	var se *engine.StepError
	if !errors.As(r.err, &se) || se.ID != f.step {
		t.Fatalf("err = %v, want step %s to fail", r.err, f.step)
	}
	for _, want := range f.says {
		if !regexp.MustCompile(want).MatchString(se.Error()) {
			t.Errorf("the %s failure does not say %q:\n%v", f.kind, want, se)
		}
	}
	if e, _ := r.finished("delete the cluster"); e.Status != engine.StatusSucceeded {
		t.Errorf("finally: %+v", e)
	}
	list, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true,
		Filters: client.Filters{}.Add("label", "io.x-k8s.kind.cluster="+cluster)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("the finally step left %d containers of cluster %s", len(list.Items), cluster)
	}
	t.Logf("%s failure, as a user sees it: %v", f.kind, se)
}

func assertFailedAt(t *testing.T, r labRun, want []string, checks string) {
	t.Helper()
	var failed []string
	for _, e := range r.events {
		if e.Type == engine.StepFinished && e.Status == engine.StatusFailed {
			failed = append(failed, e.ID)
			if e.ID == "verdict" {
				continue
			}
			if !strings.Contains(e.Error, checks+": ") || !strings.Contains(e.Error, "node ") {
				t.Errorf("%s: the message does not name the mode and the node: %s", e.ID, e.Error)
			}
		}
	}
	if !slices.Equal(failed, want) {
		t.Errorf("failed checks %v, want %v", failed, want)
	}
	var se *engine.StepError
	if !errors.As(r.err, &se) || se.ID != "verdict" {
		t.Errorf("err = %v, want the verdict to fail the run", r.err)
	}
}

type labRun struct {
	events       []engine.Event
	err          error
	took         time.Duration
	firstFailure time.Duration
}

func (r labRun) finished(idOrName string) (engine.Event, bool) {
	for _, e := range r.events {
		if e.Type == engine.StepFinished && (e.ID == idOrName || e.Step == idOrName) {
			return e, true
		}
	}
	return engine.Event{}, false
}

// runModesAsJob builds the three modes' clusters as one job would (playbook run
// playbooks/modes.yaml --html --junit): one cell at a time, the reports over every cell.
func runModesAsJob(t *testing.T, images labNodeImages, checkMode func(mode string, fresh labRun)) {
	t.Helper()
	dir := os.Getenv("PLAYBOOK_LAB_REPORTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	runs := map[string]*labRun{}
	logs := map[string]*strings.Builder{}
	var cells []job.Cell
	for _, mode := range modes {
		pb, err := engine.Load(mode+".yaml", engine.LoadOptions{VarsFiles: labVarFiles(mode), Vars: []string{"nodeImage=" + images.forMode(mode), "recreate=true"}})
		if err != nil {
			t.Fatal(err)
		}
		cells = append(cells, job.Cell{Name: mode, Plan: pb, StatePath: filepath.Join(t.TempDir(), "state.json")})
		runs[mode], logs[mode] = &labRun{}, &strings.Builder{}
	}
	html := report.NewHTMLReporter(filepath.Join(dir, "modes.html"), modes...)
	junit := report.NewJUnitReporter(filepath.Join(dir, "modes.xml"))
	started := map[string]time.Time{}
	capture := engine.ReporterFunc(func(e engine.Event) {
		r := runs[e.Cell]
		switch {
		case e.Type == engine.RunStarted:
			started[e.Cell] = e.Time
		case e.Type == engine.StepFinished && e.Status == engine.StatusFailed && r.firstFailure == 0:
			r.firstFailure = e.Time.Sub(started[e.Cell])
		case e.Type == engine.RunFinished:
			r.took = e.Time.Sub(started[e.Cell])
		}
		r.events = append(r.events, e)
	})
	// Each cell's checks run when it ends, on its cluster, before the next cell starts.
	after := func(c job.Cell, err error) {
		r := runs[c.Name]
		r.err = err
		t.Logf("%s (as a cell of the modes job, %s):\n%s", c.Name, r.took.Round(time.Second), logs[c.Name].String())
		checkMode(c.Name, *r)
	}
	job.Run(context.Background(), cells, job.Options{Jobs: 1, Reporters: []engine.Reporter{capture, html, junit}, AfterCell: after,
		CellReporters: func(cell string) []engine.Reporter {
			return []engine.Reporter{report.NewTextReporter(logs[cell], false)}
		}})
	for _, c := range []interface{ Close() error }{html, junit} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	checkModesReport(t, dir)
	t.Logf("the modes job's reports: %s, %s", filepath.Join(dir, "modes.html"), filepath.Join(dir, "modes.xml"))
}

// checkModesReport: the job's JUnit has a passing suite per mode, and its page a column each.
func checkModesReport(t *testing.T, dir string) {
	t.Helper()
	xml, err := os.ReadFile(filepath.Join(dir, "modes.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range modes {
		if !regexp.MustCompile(`<testsuite name="` + mode + `" tests="[0-9]+" failures="0" errors="0"`).Match(xml) {
			t.Errorf("the modes job's JUnit has no passing suite for %s", mode)
		}
	}
	page, err := os.ReadFile(filepath.Join(dir, "modes.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "<th>kubeproxy</th><th>kpr</th><th>kpr-ebpf</th>") {
		t.Error("the modes job's page has no column per mode")
	}
}

func runMode(t *testing.T, mode string, vars []string, opts engine.RunOptions) labRun {
	t.Helper()
	pb, err := engine.Load(mode+".yaml", engine.LoadOptions{VarsFiles: labVarFiles(mode), Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	var r labRun
	var log strings.Builder
	start := time.Now()
	opts.Reporters = append(opts.Reporters, report.NewTextReporter(&log, false), engine.ReporterFunc(func(e engine.Event) {
		r.events = append(r.events, e)
		if e.Type == engine.StepFinished && e.Status == engine.StatusFailed && r.firstFailure == 0 {
			r.firstFailure = time.Since(start)
		}
	}))
	_, r.err = pb.Run(context.Background(), opts)
	r.took = time.Since(start)
	t.Logf("%s %v (%s):\n%s", mode, vars, r.took.Round(time.Second), log.String())
	return r
}

type labTimings struct{ lines []string }

func (l *labTimings) add(mode, what string, d time.Duration) {
	l.lines = append(l.lines, fmt.Sprintf("%-9s %-40s %s", mode, what, d.Round(100*time.Millisecond)))
}

func (l *labTimings) log(t *testing.T) {
	t.Logf("lab timings:\n%s", strings.Join(l.lines, "\n"))
}
