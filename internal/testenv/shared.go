package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// repoRoot is the directory of go.mod above the test's working directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// SharedChart returns the path of a chart archive in ../shared/charts beside the repository
// (CI checks the project out there).
func SharedChart(t testing.TB, file string) string {
	t.Helper()
	path := filepath.Join(filepath.Dir(repoRoot(t)), "shared", "charts", file)
	if _, err := os.Stat(path); err != nil {
		unavailable(t, "the shared chart "+file, err)
	}
	return path
}
