#!/usr/bin/env bash
# Commits a node image's build container as a kind node image.
#
# Usage: hack/lab/commit-node.sh CONTAINER IMAGE
set -euo pipefail
container=$1 image=$2
docker commit "$container" "$image" >/dev/null
# commit cannot set a stop signal, so a one-line build does the image settings. systemd halts
# on SIGRTMIN+3; SIGTERM would make it re-execute itself.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
printf '%s\n' "FROM $image" 'ENV container=docker' 'STOPSIGNAL SIGRTMIN+3' \
  'ENTRYPOINT ["/usr/local/bin/entrypoint"]' 'CMD []' |
  DOCKER_BUILDKIT=0 docker build -q -t "$image" - >/dev/null 2>"$log" || {
  cat "$log" >&2
  exit 1
}
