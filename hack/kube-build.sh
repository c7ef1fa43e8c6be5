#!/usr/bin/env bash
# Builds etcd and kube-apiserver for one Kubernetes version from the Go module proxy and caches
# them by version, so that a warm machine never rebuilds. k8s.io/kubernetes cannot be
# `go install`ed (its go.mod replaces the staging modules with local paths), so we build it from
# a throw-away wrapper module whose replace list is generated from that version's own go.mod.
#
# Static (no cgo), as Kubernetes releases them: the lab's images (hack/lab) have no libc to
# link, and the test servers run the same binaries, so one build serves both.
#
# Usage: hack/kube-build.sh [CMD...]  prints the directory holding the binaries; CMD names more
#        commands of k8s.io/kubernetes/cmd to build (kubectl for the benchmarks, kubelet, kubeadm
#        and the rest for the lab's node image)
# Env:   KUBE_VERSION (default below), XDG_CACHE_HOME
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.35.4}
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/kindlab-testenv
# -static: caches from before the builds were static hold dynamic binaries under the bare version.
out=$cache_root/$KUBE_VERSION-static
export CGO_ENABLED=0
want=(kube-apiserver etcd "$@")
missing=()
for bin in "${want[@]}"; do [[ -x $out/$bin ]] || missing+=("$bin"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "$out"
  exit 0
fi

log() { printf 'kube-build: %s\n' "$*" >&2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

minor=${KUBE_VERSION#v1.}
staging_version=v0.$minor

log "resolving k8s.io/kubernetes $KUBE_VERSION"
gomod=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | jq -r .GoMod)

# Staging modules appear in upstream go.mod as `k8s.io/x => ./staging/src/k8s.io/x`.
replaces=$(grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}')
etcd_version=$(grep -E '^\s*go\.etcd\.io/etcd/server/v3 ' "$gomod" | awk '{print $2}')
[[ -n $etcd_version ]] || { log "cannot find the etcd version pinned by $KUBE_VERSION"; exit 1; }
log "$(wc -l <<<"$replaces") staging replaces, etcd $etcd_version"

mkdir -p "$work/w/etcd"
cat > "$work/w/go.mod" <<MOD
module kindlab.local/testenv-build

go 1.26

require (
	k8s.io/kubernetes $KUBE_VERSION
	go.etcd.io/etcd/server/v3 $etcd_version
)

$replaces
MOD
cat > "$work/w/etcd/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
cat > "$work/w/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO

cd "$work/w"
log "go mod tidy"
GOFLAGS=-mod=mod go mod tidy >&2
major_minor=${KUBE_VERSION#v}
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*} -X k8s.io/component-base/version.gitTreeState=clean"
for bin in "${missing[@]}"; do
  log "building $bin for $major_minor"
  case $bin in
    etcd) go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp" ./etcd ;;
    *) go build -trimpath -ldflags "$ldflags" -o "$out/$bin.tmp" "k8s.io/kubernetes/cmd/$bin" ;;
  esac
  mv "$out/$bin.tmp" "$out/$bin"
done
echo "$out"
