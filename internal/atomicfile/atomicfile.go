// Package atomicfile writes files so that readers see the old content or the new, never half:
// the run state, downloaded charts.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// Write stores r at path through a temporary file in the same directory and a rename. The
// directory is created with dirPerm when missing; the file is readable by its owner only.
func Write(path string, r io.Reader, dirPerm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), dirPerm); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
