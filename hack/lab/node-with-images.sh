#!/usr/bin/env bash
# A node image with more images already in its containerd (kind's `build add-image` idea):
# every node of every cluster made from it has them, and nothing is loaded, pushed or pulled.
# Unlike kind's, its images are unpacked too, its own included, so that no node of any
# cluster spends its first seconds unpacking the same layers (preload.sh --unpack).
# The new image's tag is the node image's with a hash of the images' IDs and of these
# scripts, so a machine that has it builds nothing; VERSION-with-images names the latest one
# made, for playbooks/vars/lab.yaml. Prints the new image's name.
#
# Usage: hack/lab/node-with-images.sh NODE_IMAGE IMAGE...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
node_image=$1
shift
log() { printf 'lab node with images: %s\n' "$*" >&2; }
hash=$({
  docker image inspect -f '{{.Id}}' "$node_image" "$@"
  cat "$0" "$here/preload.sh" "$here/whiteouts.py" "$here/commit-node.sh"
} | sha256sum | cut -c1-12)
out=$node_image-with-$hash
tag=${node_image##*:}
alias=${node_image%:*}:${tag%%-*}-with-images
if docker image inspect "$out" >/dev/null 2>&1; then
  docker tag "$out" "$alias"
  echo "$out"
  exit 0
fi
started=$SECONDS
build=kindlab-lab-add-images-$$
trap 'docker rm -f -v "$build" >/dev/null 2>&1 || true' EXIT
unpacked=/kind/containerd-unpacked
docker run -d --name "$build" --privileged --volume "$unpacked" --entrypoint sleep "$node_image" infinity >/dev/null
docker exec "$build" cp -a /var/lib/containerd/. "$unpacked/"
bash "$here/preload.sh" --unpack "$unpacked" "$build" "$@"
# kind runs every node with an anonymous volume on /var, and Docker copies the image's /var
# into it when it creates the node: 2.3 GB of blobs and layers took 12.5 s for three nodes,
# against 2.4 s for kind's own 439 MB. So they go into the image's own file system, read in
# place, and /var keeps containerd's databases and a link to each. Only the layers are
# linked, each read-only lower directory of the overlay mounts that run containers; a
# container's writable layer is made new on the volume, where overlayfs can write. A lower
# directory on the node's own overlayfs stacks two deep, which the kernel allows: tested on
# Docker's overlay2 only.
# The content store moves whole: containerd renames a new blob from ingest/ into blobs/.
docker exec "$build" bash -c '
  set -euo pipefail
  unpacked=$1 store=/kind/containerd
  mkdir -p "$store/snapshots"
  mv "$unpacked/io.containerd.content.v1.content" "$store/content"
  ln -s "$store/content" "$unpacked/io.containerd.content.v1.content"
  for layer in "$unpacked"/io.containerd.snapshotter.v1.overlayfs/snapshots/*; do
    [[ -d $layer && ! -L $layer ]] || continue
    mv "$layer" "$store/snapshots/"
    ln -s "$store/snapshots/${layer##*/}" "$layer"
  done
  rm -rf /var/lib/containerd
  cp -a "$unpacked" /var/lib/containerd
  rm -rf "${unpacked:?}"/*' _ "$unpacked"
bash "$here/commit-node.sh" "$build" "$out"
docker tag "$out" "$alias"
# Each build adds about 2.3 GB of its own; the ones it replaces go, unless a node still runs
# from one (docker refuses those).
docker images --format '{{.Repository}}:{{.Tag}}' "${node_image%:*}" | grep -- '-with-[0-9a-f]*$' | grep -vxF "$out" |
  while read -r old; do
    docker rmi "$old" >/dev/null 2>&1 && log "removed $old, which this build replaces" || true
  done
log "$out: $(docker image inspect -f '{{.Size}}' "$out" | numfmt --to=iec), built in $((SECONDS - started)) s"
echo "$out"
