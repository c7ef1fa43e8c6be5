package steps

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type tarEntry struct {
	name, link, body string
	typ              byte
}

func tarOf(t *testing.T, entries ...tarEntry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ == tar.TypeDir {
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	return &buf
}

// A container's archive cannot write outside dest: not by an absolute name, not by "..", not
// through a symlink it just made.
func TestExtractTarStaysInDest(t *testing.T) {
	cases := map[string][]tarEntry{
		"symlink then a file through it": {
			{name: "top", typ: tar.TypeDir},
			{name: "top/link", typ: tar.TypeSymlink, link: "VICTIM"},
			{name: "top/link/file", typ: tar.TypeReg, body: "owned"},
		},
		"relative symlink out": {
			{name: "top", typ: tar.TypeDir},
			{name: "top/up", typ: tar.TypeSymlink, link: "../../victim"},
			{name: "top/up/file", typ: tar.TypeReg, body: "owned"},
		},
		"dot-dot": {
			{name: "top", typ: tar.TypeDir},
			{name: "top/../../victim/file", typ: tar.TypeReg, body: "owned"},
		},
		"absolute": {
			{name: "top", typ: tar.TypeDir},
			{name: "/VICTIM/file", typ: tar.TypeReg, body: "owned"},
		},
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			base := t.TempDir()
			victim := filepath.Join(base, "victim")
			os.MkdirAll(victim, 0o755)
			for i := range entries {
				entries[i].link = strings.ReplaceAll(entries[i].link, "VICTIM", victim)
				entries[i].name = strings.ReplaceAll(entries[i].name, "/VICTIM", victim)
			}
			dest := filepath.Join(base, "out", "copy")
			err := extractTar(tarOf(t, entries...), dest)
			if err == nil {
				t.Error("extracting an escaping archive succeeded")
			}
			if _, statErr := os.Stat(filepath.Join(victim, "file")); statErr == nil {
				t.Fatalf("the archive wrote outside dest (err %v)", err)
			}
		})
	}
}
