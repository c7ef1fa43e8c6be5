#!/usr/bin/env bash
# Pre-loads Docker images into the containerd of a node image's build container, the way
# kind's node images come with their images, and leaves the container ready to commit.
#
# By default they stay packed, as kind leaves them: each node unpacks an image the first
# time it runs it, on its own /var volume. With --unpack ROOT, every image in the
# container's containerd (the new ones and those already there) is unpacked into overlayfs
# snapshots under ROOT, which must be a volume: overlayfs cannot stack its upper directory on
# the container's own overlay. The caller copies ROOT into the image. Unpacking needs layers
# that delete nothing (whiteouts.py); when one does, all stay packed, and it says so.
#
# Usage: hack/lab/preload.sh [--unpack ROOT] CONTAINER IMAGE...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=/var/lib/containerd unpack=false
if [[ ${1:-} == --unpack ]]; then
  root=$2 unpack=true
  shift 2
fi
container=$1
shift
docker exec -d "$container" containerd --root "$root"
for _ in $(seq 100); do docker exec "$container" ctr version >/dev/null 2>&1 && break; sleep 0.2; done
deletions=$(mktemp)
trap 'rm -f "$deletions"' EXIT
# With --unpack, whiteouts.py reads the stream as it passes, for the layers that delete files.
check=(cat)
$unpack && check=(python3 "$here/whiteouts.py" "$deletions")
docker save "$@" | "${check[@]}" |
  docker exec -i "$container" ctr --namespace=k8s.io images import --no-unpack --all-platforms - >/dev/null
if $unpack && [[ -s $deletions ]]; then
  printf 'lab preload: left packed, a layer deletes files (%s)\n' "$(head -1 "$deletions")" >&2
elif $unpack; then
  # `ctr images mount` unpacks what is not unpacked yet; unmount --rm drops only the mount's
  # own snapshot and keeps the image's layers.
  docker exec "$container" bash -c '
    set -euo pipefail
    mkdir -p /tmp/unpack
    for ref in $(ctr -n k8s.io images ls -q | grep -v "^sha256:"); do
      ctr -n k8s.io images mount "$ref" /tmp/unpack >/dev/null
      ctr -n k8s.io images unmount --rm /tmp/unpack >/dev/null
    done'
fi
docker exec "$container" bash -c 'pkill -x containerd; while pgrep -x containerd >/dev/null; do sleep 0.1; done; rm -rf /run/containerd /tmp/* /var/log/*'
if $unpack; then
  # A whiteout that got past whiteouts.py would be lost at the commit: stop here instead.
  docker exec "$container" bash -c '
    set -euo pipefail
    devices=$(find "$1/io.containerd.snapshotter.v1.overlayfs/snapshots" -type c -exec stat -c "%t:%T %n" {} +)
    if grep "^0:0 " <<<"$devices"; then
      echo "lab preload: these unpacked files are overlay whiteouts" >&2
      exit 1
    fi' _ "$root"
fi
