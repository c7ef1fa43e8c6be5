// Package pause_test checks the lab's pause program (../pause/pause.c) as the kubelet uses it: PID 1 of
// a pod that outlives every other process, reaps the orphans the kernel hands it, and exits
// on SIGINT or SIGTERM.
package pause_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kindlab/playbook/internal/testenv"
)

func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pause")
	out, err := exec.Command("gcc", "-static", "-Os", "-s", "-Wall", "-Wextra", "-Werror", "-o", bin, "../pause/pause.c").CombinedOutput()
	if err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return bin
}

// asPID1 starts pause as PID 1 of a new PID namespace, as a pod sandbox runs it. It needs
// root (unshare).
func asPID1(t *testing.T, bin string) *exec.Cmd {
	t.Helper()
	testenv.Root(t)
	cmd := exec.Command("unshare", "--pid", "--fork", "--kill-child", bin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// pausePID finds the host PID of pause, unshare's only child, once pause handles SIGTERM. A
// namespace's PID 1 ignores signals it has no handler for, so one sent earlier would be lost.
func pausePID(t *testing.T, unshare int) int {
	t.Helper()
	for range 250 {
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(unshare) + "/task/" + strconv.Itoa(unshare) + "/children")
		if err == nil && len(bytes.TrimSpace(raw)) > 0 {
			pid, _ := strconv.Atoi(strings.Fields(string(raw))[0])
			if catches(pid, syscall.SIGTERM) {
				return pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("pause did not start, or does not handle SIGTERM")
	return 0
}

func catches(pid int, sig syscall.Signal) bool {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(status)) {
		if mask, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			bits, err := strconv.ParseUint(strings.TrimSpace(mask), 16, 64)
			return err == nil && bits&(1<<(sig-1)) != 0
		}
	}
	return false
}

func TestPauseExitsOnTermAndInt(t *testing.T) {
	bin := build(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := asPID1(t, bin)
		pid := pausePID(t, cmd.Process.Pid)
		if err := syscall.Kill(pid, sig); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%v: pause exited with %v, want 0", sig, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%v: pause still running after 5 s", sig)
		}
	}
}

func TestPauseReapsOrphans(t *testing.T) {
	bin := build(t)
	cmd := asPID1(t, bin)
	pid := pausePID(t, cmd.Process.Pid)
	// A shell that enters the namespace, starts a child and exits: the child's parent is gone,
	// so the kernel makes pause its parent, and pause must collect it when it exits.
	enter := exec.Command("nsenter", "--target", strconv.Itoa(pid), "--pid", "--", "sh", "-c", "sleep 0.2 & exit 0")
	if out, err := enter.CombinedOutput(); err != nil {
		t.Fatalf("nsenter: %v\n%s", err, out)
	}
	// The child sleeps 0.2 s; once it exits, pause must collect it within moments.
	var children []string
	for range 100 {
		if children = childrenOf(t, pid); len(children) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, child := range children {
		stat, err := os.ReadFile("/proc/" + child + "/stat")
		// The state follows the command name in parentheses: "pid (comm) Z ...".
		if err == nil && strings.HasPrefix(string(stat[bytes.LastIndexByte(stat, ')')+2:]), "Z") {
			t.Errorf("pause left the zombie %s", child)
		} else {
			t.Errorf("pause's child %s still runs after 5 s", child)
		}
	}
}

func childrenOf(t *testing.T, parent int) []string {
	t.Helper()
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(parent) + "/task/" + strconv.Itoa(parent) + "/children")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(raw))
}
