package steps

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/xdg"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/log"
)

// kindStateDir holds what kind steps remember between runs: the config each cluster was
// created from (to decide whether an existing cluster can be reused) and its kubeconfig.
func kindStateDir() string { return filepath.Join(xdg.StateHome(), "playbook", "kind") }

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

// kindOps runs kind's operations one at a time: kind's Go API takes no context, so a cancelled
// create is stopped by stopping the docker commands it runs, which must then be its alone; and
// a delete waits for a create of the same process to have stopped.
var kindOps sync.Mutex

// stopKindCommands sends SIGTERM to the `docker exec` commands kind runs for this process
// (kubeadm init and join, writing the node's files): its direct children in its own process
// group (exec steps run theirs in groups of their own). kind's create then fails at once, and
// deletes its nodes itself. `docker run` and `docker rm` are left to finish: a container the
// daemon is still making when its command dies would appear after any delete. Without /proc
// (not Linux) there is nothing to do but wait.
func stopKindCommands() {
	self, group := os.Getpid(), syscall.Getpgrp()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join("/proc", e.Name())
		stat, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces, so read after the last ')'.
		closing := strings.LastIndexByte(string(stat), ')')
		fields := strings.Fields(string(stat[closing+1:]))
		if closing < 0 || len(fields) < 3 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		pgrp, _ := strconv.Atoi(fields[2])
		if ppid != self || pgrp != group {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 1 && filepath.Base(args[0]) == "docker" && args[1] == "exec" {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	}
}
