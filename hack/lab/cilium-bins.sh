#!/usr/bin/env bash
# Builds the Cilium programs the lab's images hold, from the module zip on the Go module proxy,
# and caches them by version and by this script: only what the chart runs and the playbooks
# read, not Cilium's whole tree.
#   agent image: cilium-agent, cilium-dbg (the chart's `config` init container, the playbooks'
#                `status -o json` and `service list`), cilium-health-responder (the agent
#                starts it in the health endpoint), cilium-mount and cilium-sysctlfix (init
#                containers), cilium-cni (installed into every node)
#   operator:    cilium-operator-generic (the chart appends -generic to its repository)
# hubble, bugtool, envoy and the clustermesh programs are left out: the lab turns them off.
#
# Usage: hack/lab/cilium-bins.sh VERSION   prints the directory holding the programs
set -euo pipefail
version=v${1#v}
here=$(cd "$(dirname "$0")" && pwd)
recipe=$(sha256sum "$here/cilium-bins.sh" | cut -c1-12)
out=${XDG_CACHE_HOME:-$HOME/.cache}/kindlab-lab/cilium/bin-$version-$recipe
programs=(cilium-agent cilium-dbg cilium-health-responder cilium-mount cilium-sysctlfix cilium-cni cilium-operator-generic)
log() { printf 'lab cilium: %s\n' "$*" >&2; }

missing=0
for p in "${programs[@]}"; do [[ -x $out/$p ]] || missing=1; done
if [[ $missing == 0 ]]; then
  echo "$out"
  exit 0
fi

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
log "downloading github.com/cilium/cilium@$version"
module=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "github.com/cilium/cilium@$version")
src=$(jq -r .Dir <<<"$module")
# The agent parses its version as "VERSION REVISION DATE" (pkg/version.FromString); the
# proxy's record of the tag gives the other two.
revision=$(jq -r '.Info' <<<"$module" | xargs cat | jq -r '.Origin.Hash // "unknown"' | cut -c1-10)
released=$(jq -r '.Info' <<<"$module" | xargs cat | jq -r '.Time')
# The module cache is read-only, and go.mod needs the replaces below.
cp -r "$src" "$work/cilium"
chmod -R u+w "$work/cilium"
cd "$work/cilium"

# The module zip has no vendor/ while Cilium's Makefiles force -mod=vendor: build with
# -mod=mod. Two requirements of 1.20 are refused by the Go module proxy (403), so they are
# replaced here, and only when the version asks for exactly them:
# - gobgp at an untagged pseudo-version: v4.8.0 is the next release and compiles with every
#   package that imports gobgp.
if grep -q 'github.com/osrg/gobgp/v4 v4.6.1-0.20260630022313-d6dee8360046' go.mod; then
  go mod edit -replace=github.com/osrg/gobgp/v4=github.com/osrg/gobgp/v4@v4.8.0
fi
# - mcs-api's controllers module: Cilium uses one constant of it, so a local module holding
#   that constant, with the value mcs-api v0.5.2 gives it, stands in.
if grep -q 'sigs.k8s.io/mcs-api/controllers v0.5.2' go.mod; then
  mkdir -p "$work/mcs-api-controllers"
  printf 'module sigs.k8s.io/mcs-api/controllers\n\ngo 1.24\n' > "$work/mcs-api-controllers/go.mod"
  cat > "$work/mcs-api-controllers/controllers.go" <<'GO'
// Package controllers stands in for sigs.k8s.io/mcs-api/controllers v0.5.2, which the Go
// module proxy refuses: Cilium reads only this constant from it.
package controllers

// DerivedServiceAnnotation annotates a ServiceImport with the name of its derived Service.
const DerivedServiceAnnotation = "multicluster.kubernetes.io/derived-service"
GO
  go mod edit -replace=sigs.k8s.io/mcs-api/controllers=../mcs-api-controllers
fi

export CGO_ENABLED=0 GOFLAGS="-mod=mod -trimpath"
# As Makefile.defs builds them: static, stripped, the version stamped in.
ldflags="-s -w -X 'github.com/cilium/cilium/pkg/version.ciliumVersion=$(cat VERSION) $revision $released'"
mkdir -p "$work/bin" "$out"
started=$SECONDS
log "building the agent's programs (about 10 minutes cold on 2 cores)"
# One go build for all of them, so that shared packages compile once and in parallel.
go build -tags osusergo -ldflags "$ldflags" -o "$work/bin/" \
  ./daemon ./cilium-dbg ./cilium-health/responder ./tools/mount ./tools/sysctlfix ./plugins/cilium-cni >&2
log "building the operator (ipam_provider_operator: the chart's cilium-operator-generic)"
go build -tags osusergo,ipam_provider_operator -ldflags "$ldflags" -o "$work/bin/cilium-operator-generic" ./operator >&2
mv "$work/bin/daemon" "$out/cilium-agent"
mv "$work/bin/cilium-dbg" "$out/cilium-dbg"
mv "$work/bin/responder" "$out/cilium-health-responder"
mv "$work/bin/mount" "$out/cilium-mount"
mv "$work/bin/sysctlfix" "$out/cilium-sysctlfix"
mv "$work/bin/cilium-cni" "$out/cilium-cni"
mv "$work/bin/cilium-operator-generic" "$out/cilium-operator-generic"
# The agent's BPF sources, compiled by the agent at run time, as `make install-bpf` copies them.
rm -rf "$out/bpf"
mkdir -p "$out/bpf"
tar -C bpf --exclude=./tests --exclude=./complexity-tests --exclude=./custom --exclude=./Makefile \
  --exclude=./Makefile.bpf --exclude=./.gitignore --exclude='*.i' --exclude='*.s' -cf - . | tar -C "$out/bpf" -xf -
cp images/cilium/init-container.sh plugins/cilium-cni/install-plugin.sh plugins/cilium-cni/cni-uninstall.sh "$out/"
chmod -R u+w,go+rX "$out"
log "built in $((SECONDS - started)) s: $(du -sh "$out" | cut -f1)"
echo "$out"
