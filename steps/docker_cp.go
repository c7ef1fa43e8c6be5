package steps

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/docker"
	"github.com/moby/moby/client"
)

type dockerCpParams struct {
	docker.Selection `yaml:",inline"`
	Src              string `yaml:"src" doc:"what to copy: a host path (direction in) or a container path (direction out)" pb:"required"`
	Dest             string `yaml:"dest" doc:"where it lands, as a full path (the copy gets this name); out of several containers, a directory holding one copy per container" pb:"required"`
	Direction        string `yaml:"direction" doc:"in (host to containers, the default) or out (containers to host)"`
}

func init() {
	engine.Register(engine.StepType[dockerCpParams]{
		Name:    "dockerCp",
		Summary: "copy a file or directory from the host into containers, or out of them",
		Example: `- name: copy the CNI config out of every node
  dockerCp:
    kindCluster: lab
    direction: out
    src: /etc/cni/net.d
    dest: /tmp/lab-cni`,
		Outputs: []engine.OutputDoc{{Name: "copied", Type: "list", Doc: "each copy: container, src, dest"}},
		Validate: func(p *dockerCpParams) error {
			if field, msg := p.Selection.Check(); msg != "" {
				return engine.Errorf(field, "%s", msg)
			}
			switch {
			case p.Direction != "" && p.Direction != "in" && p.Direction != "out":
				return engine.Errorf("direction", "must be in or out, got %q", p.Direction)
			case p.Direction == "out" && !path.IsAbs(p.Src):
				return engine.Errorf("src", "a container path must be absolute, got %q", p.Src)
			case p.Direction != "out" && !path.IsAbs(p.Dest):
				return engine.Errorf("dest", "a container path must be absolute, got %q", p.Dest)
			}
			return nil
		},
		Files: func(p *dockerCpParams) []string {
			if p.Direction == "out" {
				return nil
			}
			return []string{p.Src}
		},
		Run: runDockerCp,
	})
}

func runDockerCp(ctx context.Context, rt *engine.Runtime, p *dockerCpParams) (map[string]any, error) {
	cli, containers, err := p.Selection.Resolve(ctx, rt)
	if err != nil {
		return nil, err
	}
	copied := []any{}
	for _, c := range containers {
		var src, dest string
		if p.Direction == "out" {
			src, dest = c.Name+":"+p.Src, hostPath(rt.Dir(), p.Dest)
			if len(containers) > 1 {
				dest = filepath.Join(dest, c.Name)
			}
			err = copyOut(ctx, cli, c, p.Src, dest)
		} else {
			src, dest = hostPath(rt.Dir(), p.Src), c.Name+":"+p.Dest
			err = copyIn(ctx, cli, c, src, p.Dest)
		}
		if err != nil {
			return map[string]any{"copied": copied}, fmt.Errorf("%s -> %s: %w", src, dest, err)
		}
		rt.Logf("copied %s -> %s", src, dest)
		copied = append(copied, map[string]any{"container": c.Name, "src": src, "dest": dest})
	}
	return map[string]any{"copied": copied}, nil
}

func hostPath(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// copyIn sends src as a tar whose entries carry dest's full path and extracts it at "/":
// the daemon then creates missing parent directories (docker cp would refuse) and leaves the
// modes of existing ones alone, since the archive has no entries for them.
func copyIn(ctx context.Context, cli *client.Client, c docker.Container, src, dest string) error {
	if _, err := os.Stat(src); err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(pw, src, strings.TrimPrefix(path.Clean(dest), "/"))) }()
	_, err := cli.CopyToContainer(ctx, c.ID, client.CopyToContainerOptions{DestinationPath: "/", Content: pr})
	pr.CloseWithError(err)
	return err
}

func writeTar(w io.Writer, src, name string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		hdr.Name = path.Join(name, filepath.ToSlash(rel))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// copyOut extracts the container's tar of src so that its top entry lands at dest.
func copyOut(ctx context.Context, cli *client.Client, c docker.Container, src, dest string) error {
	res, err := cli.CopyFromContainer(ctx, c.ID, client.CopyFromContainerOptions{SourcePath: src})
	if err != nil {
		return err
	}
	defer res.Content.Close()
	return extractTar(res.Content, dest)
}

// extractTar writes a container's archive so that its top entry lands at dest, through an
// os.Root at dest's directory: no entry can write outside it, whether by an absolute name, by
// "..", or through a symlink the archive (or an earlier copy) put there, such as
// link -> /etc followed by link/passwd. A symlink itself is kept as it is, as docker cp does.
func extractTar(r io.Reader, dest string) error {
	parent, base := filepath.Dir(dest), filepath.Base(dest)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(parent)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	top := ""
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(hdr.Name)
		if top == "" {
			top = strings.SplitN(name, "/", 2)[0]
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(name, top), "/")
		target := filepath.Join(base, filepath.FromSlash(rel))
		if path.IsAbs(hdr.Name) || (rel != "" && !filepath.IsLocal(filepath.FromSlash(rel))) || !filepath.IsLocal(target) {
			return fmt.Errorf("unsafe path %q in the container's archive", hdr.Name)
		}
		if err := extractEntry(root, tr, hdr, target); err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
	}
}

func extractEntry(root *os.Root, r io.Reader, hdr *tar.Header, target string) error {
	if dir := filepath.Dir(target); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	mode := fs.FileMode(hdr.Mode).Perm()
	switch hdr.Typeflag {
	case tar.TypeDir:
		return root.MkdirAll(target, mode|0o700)
	case tar.TypeSymlink:
		_ = root.Remove(target)
		return root.Symlink(hdr.Linkname, target)
	case tar.TypeReg:
		f, err := root.OpenFile(target, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return nil // devices, fifos: not wanted on the host
}
