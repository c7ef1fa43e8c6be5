"""Passes a `docker save` stream from stdin to stdout, and names in the file given as its
argument every layer in it that deletes files.

Such a layer, unpacked by containerd's overlayfs snapshotter, holds overlay whiteouts
(0:0 character devices, opaque-directory xattrs). Docker reads those in a container's
changes as deletions, so a committed node image would lose them, and the files they hide
would come back. preload.sh --unpack unpacks only when the file stays empty.

Reads both the legacy layout (ID/layer.tar) and the OCI one (blobs/sha256/DIGEST).
Writes one line per layer that deletes something: its path in the stream, then an entry.
"""
import shutil
import sys
import tarfile


class Tee:
    """What the tar reader reads, also written to stdout, in order."""

    def __init__(self, src, dst):
        self.src, self.dst = src, dst

    def read(self, size=-1):
        data = self.src.read(size)
        self.dst.write(data)
        return data


class Prefixed:
    """A stream whose first bytes were read already, to see what it is."""

    def __init__(self, head, rest):
        self.head, self.rest = head, rest

    def read(self, size=-1):
        if not self.head:
            return self.rest.read(size)
        if size < 0:
            data, self.head = self.head + self.rest.read(), b""
            return data
        data, self.head = self.head[:size], self.head[size:]
        return data


def deletion(blob):
    """The first whiteout entry of a layer, or None; a blob that is neither JSON nor a layer
    this can read (zstd, say) counts as one that deletes: it cannot be shown not to."""
    head = blob.read(512)
    if head.lstrip().startswith(b"{"):
        return None  # a manifest, a config, an index
    try:
        with tarfile.open(fileobj=Prefixed(head, blob), mode="r|*") as entries:
            for entry in entries:
                if entry.name.rsplit("/", 1)[-1].startswith(".wh."):
                    return entry.name
    except tarfile.ReadError as err:
        return f"a blob this cannot read as a layer ({err})"
    return None


def main(report_path):
    stream_in = Tee(sys.stdin.buffer, sys.stdout.buffer)
    with open(report_path, "w") as report:
        with tarfile.open(fileobj=stream_in, mode="r|") as stream:
            for member in stream:
                layer_or_blob = member.name.endswith("/layer.tar") or member.name.startswith("blobs/")
                if not member.isfile() or not layer_or_blob:
                    continue
                found = deletion(stream.extractfile(member))
                if found:
                    print(f"{member.name}: {found}", file=report)
    shutil.copyfileobj(sys.stdin.buffer, sys.stdout.buffer)  # the end-of-archive blocks


main(sys.argv[1])
