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


def deletion(layer):
    try:
        with tarfile.open(fileobj=layer, mode="r|*") as entries:
            for entry in entries:
                if entry.name.rsplit("/", 1)[-1].startswith(".wh."):
                    return entry.name
    except tarfile.ReadError:
        pass  # a manifest, a config: JSON, not a layer
    return None


def main(report_path):
    stream_in = Tee(sys.stdin.buffer, sys.stdout.buffer)
    with open(report_path, "w") as report:
        with tarfile.open(fileobj=stream_in, mode="r|") as stream:
            for member in stream:
                if not member.isfile() or member.name.endswith(".json"):
                    continue
                found = deletion(stream.extractfile(member))
                if found:
                    print(f"{member.name}: {found}", file=report)
    shutil.copyfileobj(sys.stdin.buffer, sys.stdout.buffer)  # the end-of-archive blocks


main(sys.argv[1])
