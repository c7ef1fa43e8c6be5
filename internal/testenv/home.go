package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildCacheEnv keeps the real cache directory for the lab's build scripts once the tests'
// own is a temporary one: a node image costs minutes to build, and is a build cache like
// Go's, not state a test leaves behind.
const buildCacheEnv = "PLAYBOOK_TEST_BUILD_CACHE"

// Main runs a package's tests with the home isolated (IsolateHome). Call it from TestMain.
func Main(m *testing.M) {
	restore := IsolateHome()
	code := m.Run()
	restore()
	os.Exit(code)
}

// IsolateHome points what the program keeps between runs (run state, kind's records, Helm's
// chart cache, client-go's discovery cache) at a temporary directory, so that tests never
// write into the real home. The Go build and module caches, and the lab's build cache, stay
// where they are: a test must not start them cold. It returns the cleanup.
func IsolateHome() func() {
	for _, v := range []string{"GOCACHE", "GOMODCACHE"} {
		if os.Getenv(v) == "" {
			if out, err := exec.Command("go", "env", v).Output(); err == nil {
				os.Setenv(v, strings.TrimSpace(string(out)))
			}
		}
	}
	if os.Getenv(buildCacheEnv) == "" {
		if cache, err := os.UserCacheDir(); err == nil {
			os.Setenv(buildCacheEnv, cache)
		}
	}
	dir, err := os.MkdirTemp("", "playbook-home")
	if err != nil {
		panic(err)
	}
	for env, sub := range map[string]string{"XDG_STATE_HOME": "state", "XDG_CACHE_HOME": "cache", "XDG_CONFIG_HOME": "config", "KUBECACHEDIR": "kube-cache"} {
		os.Setenv(env, filepath.Join(dir, sub))
	}
	return func() { os.RemoveAll(dir) }
}

// buildEnv is the environment for the lab's build scripts: the real build cache.
func buildEnv() []string {
	env := os.Environ()
	if cache := os.Getenv(buildCacheEnv); cache != "" {
		env = append(env, "XDG_CACHE_HOME="+cache)
	}
	return env
}
