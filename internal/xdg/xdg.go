// Package xdg is where playbook keeps files between runs, by the XDG base directory spec:
// the run state and kind's records under the state home, downloaded charts under the cache.
// The environment is read on every call (not once at start-up, as github.com/adrg/xdg does),
// so a test or a caller that sets XDG_STATE_HOME is always obeyed.
package xdg

import (
	"os"
	"path/filepath"
)

// StateHome is $XDG_STATE_HOME, else ~/.local/state.
func StateHome() string {
	if dir := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(dir) {
		return dir
	}
	return filepath.Join(home(), ".local", "state")
}

// CacheHome is $XDG_CACHE_HOME, else ~/.cache (os.UserCacheDir on Linux).
func CacheHome() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return dir
	}
	return filepath.Join(home(), ".cache")
}

func home() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return os.TempDir()
}
