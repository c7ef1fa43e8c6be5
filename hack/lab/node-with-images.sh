#!/usr/bin/env bash
# A node image with more images already in its containerd (kind's `build add-image` idea):
# every node of every cluster made from it has them, and nothing is loaded, pushed or pulled.
# The new image's tag is the node image's with a hash of the images' IDs, so a machine that
# has it builds nothing; VERSION-with-images names the latest one made, for
# playbooks/vars/lab.yaml. Prints the new image's name.
#
# Usage: hack/lab/node-with-images.sh NODE_IMAGE IMAGE...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
node_image=$1
shift
log() { printf 'lab node with images: %s\n' "$*" >&2; }
hash=$(docker image inspect -f '{{.Id}}' "$node_image" "$@" | sha256sum | cut -c1-12)
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
trap 'docker rm -f "$build" >/dev/null 2>&1 || true' EXIT
docker run -d --name "$build" --privileged --entrypoint sleep "$node_image" infinity >/dev/null
bash "$here/preload.sh" "$build" "$@"
bash "$here/commit-node.sh" "$build" "$out"
docker tag "$out" "$alias"
log "$out: $(docker image inspect -f '{{.Size}}' "$out" | numfmt --to=iec), built in $((SECONDS - started)) s"
echo "$out"
