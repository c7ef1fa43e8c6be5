package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// stateLock keeps two runs from sharing a state file: with the Cilium playbooks they would
// fight over one cluster. It is an flock on STATE.lock, which the kernel drops when its
// process dies, so a killed run's lock is taken over, never a reason to refuse forever.
type stateLock struct{ f *os.File }

func lockState(statePath string) (*stateLock, error) {
	path := statePath + ".lock"
	// Nothing has run yet: a state that cannot be kept is said now, as a usage problem.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, usagef("the run state cannot be kept at %s: %v (choose another place with --state)", statePath, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, usagef("the run state cannot be kept at %s: %v (choose another place with --state)", statePath, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := strings.TrimSpace(string(holder))
			if who == "" {
				who = "another run"
			}
			return nil, usagef("the run state %s is in use by %s: wait for that run, or run beside it with --state OTHER-FILE (and another cluster name)", statePath, who)
		}
		return nil, fmt.Errorf("locking the run state: %w", err)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "the run with pid %d, since %s\n", os.Getpid(), time.Now().Format(time.DateTime))
	return &stateLock{f: f}, nil
}

func (l *stateLock) release() {
	if l == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}
