// Package atomicfile writes files so that readers see the old content or the new, never half,
// and so that the new content survives a crash once the write returns: the run state.
package atomicfile

import (
	"bufio"
	"io"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// Write stores what write writes at path, readable by its owner only, through renameio (a
// temporary file in the same directory, fsynced, then renamed over path), and then fsyncs the
// directory so that the rename itself is on disk. The directory is created with dirPerm when
// missing. The content streams to the file: a state holding megabytes of step output is
// never copied whole in memory on its way there.
func Write(path string, dirPerm os.FileMode, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return err
	}
	f, err := renameio.NewPendingFile(path, renameio.WithPermissions(0o600))
	if err != nil {
		return err
	}
	defer f.Cleanup()
	w := bufio.NewWriterSize(f, 64<<10)
	if err := write(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.CloseAtomicallyReplace(); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
