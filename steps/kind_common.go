package steps

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kindlab/playbook/engine"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/log"
)

// kindStateDir holds what kind steps remember between runs: the config each cluster was
// created from (to decide whether an existing cluster can be reused) and its kubeconfig.
func kindStateDir() string {
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "playbook", "kind")
}

func kindConfigRecord(name string) string { return filepath.Join(kindStateDir(), name+".config.yaml") }

func defaultKindKubeconfig(name string) string {
	return filepath.Join(kindStateDir(), name+".kubeconfig")
}

func kindProvider(rt *engine.Runtime) *cluster.Provider {
	return cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(kindLogger{rt}))
}

// kindLogger sends kind's progress ("Ensuring node image", "Starting control-plane") to the
// step's output.
type kindLogger struct{ rt *engine.Runtime }

func (l kindLogger) Warn(m string)                    { l.rt.Logf("warning: %s", m) }
func (l kindLogger) Warnf(f string, a ...any)         { l.rt.Logf("warning: "+f, a...) }
func (l kindLogger) Error(m string)                   { l.rt.Logf("error: %s", m) }
func (l kindLogger) Errorf(f string, a ...any)        { l.rt.Logf("error: "+f, a...) }
func (l kindLogger) V(level log.Level) log.InfoLogger { return kindInfo{l.rt, level <= 0} }

type kindInfo struct {
	rt      *engine.Runtime
	enabled bool
}

func (i kindInfo) Info(m string) {
	if i.enabled && strings.TrimSpace(m) != "" {
		i.rt.Logf("%s", strings.TrimSpace(m))
	}
}
func (i kindInfo) Infof(f string, a ...any) { i.Info(fmt.Sprintf(f, a...)) }
func (i kindInfo) Enabled() bool            { return i.enabled }
