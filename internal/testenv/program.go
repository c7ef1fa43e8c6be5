package testenv

import (
	"os/exec"
	"testing"
)

// Program returns the path of a program a test drives (tmux, curl: hack/testenv.sh installs
// them); missing, it fails in CI and skips elsewhere.
func Program(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		unavailable(t, name, err)
	}
	return path
}
