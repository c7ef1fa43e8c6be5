#!/usr/bin/env bash
# Pre-loads Docker images into the containerd of a node image's build container, the way
# kind's node images come with their images, and leaves the container ready to commit.
# Unpacked later, at first use, on the node's /var volume: overlayfs cannot unpack here.
#
# Usage: hack/lab/preload.sh CONTAINER IMAGE...
set -euo pipefail
container=$1
shift
docker exec -d "$container" containerd
for _ in $(seq 100); do docker exec "$container" ctr version >/dev/null 2>&1 && break; sleep 0.2; done
docker save "$@" | docker exec -i "$container" ctr --namespace=k8s.io images import --no-unpack --all-platforms - >/dev/null
docker exec "$container" bash -c 'pkill -x containerd; while pgrep -x containerd >/dev/null; do sleep 0.1; done; rm -rf /run/containerd /tmp/* /var/log/*'
