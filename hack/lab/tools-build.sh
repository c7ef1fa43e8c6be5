#!/usr/bin/env bash
# Builds the lab's programs that are not Kubernetes commands: coredns and crictl from the Go
# module proxy, and the pause program from hack/lab/pause. Static, and cached by version.
#
# Usage: hack/lab/tools-build.sh COREDNS_VERSION CRICTL_VERSION   prints the directory
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
coredns_version=$1
crictl_version=$2
cache=${XDG_CACHE_HOME:-$HOME/.cache}/kindlab-lab
pause_key=$(sha256sum "$here/pause/pause.c" | cut -c1-12)
out=$cache/tools/coredns-$coredns_version-crictl-$crictl_version-pause-$pause_key
log() { printf 'lab tools: %s\n' "$*" >&2; }

mkdir -p "$out"
export CGO_ENABLED=0 GOFLAGS=-trimpath
if [[ ! -x $out/coredns ]]; then
  log "building coredns $coredns_version"
  GOBIN=$out go install -ldflags "-s -w" "github.com/coredns/coredns@$coredns_version" >&2
fi
if [[ ! -x $out/crictl ]]; then
  log "building crictl $crictl_version"
  GOBIN=$out go install -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$crictl_version" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$crictl_version" >&2
fi
if [[ ! -x $out/pause ]]; then
  log "building pause"
  gcc -static -Os -s -Wall -Wextra -Werror -o "$out/pause.tmp" "$here/pause/pause.c" >&2
  mv "$out/pause.tmp" "$out/pause"
fi
echo "$out"
