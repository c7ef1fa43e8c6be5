#!/usr/bin/env bash
# The lab's registry image, built on this machine: the distribution registry (the CNCF
# registry that kind's local-registry guide and ctlptl run) from the Go module proxy, static,
# on an empty image with a config that keeps blobs in /var/lib/registry and serves :5000.
# REGISTRY_PROXY_REMOTEURL in its environment makes it a pull-through cache (the registry
# step's proxy:). Tagged with a hash of this file: a machine that has the tag builds nothing.
#
# Usage: hack/lab/registry-build.sh   prints the image name
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DISTRIBUTION_VERSION=${DISTRIBUTION_VERSION:-v3.1.1}
image=kindlab/registry:lab
inputs_hash=$(cat "$here/registry-build.sh" | sha256sum | cut -c1-12)
log() { printf 'lab registry: %s\n' "$*" >&2; }

if docker image inspect "$image-$inputs_hash" >/dev/null 2>&1; then
  docker tag "$image-$inputs_hash" "$image"
  echo "$image"
  exit 0
fi
started=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ctx/tree/usr/bin" "$work/ctx/tree/etc/distribution" "$work/ctx/tree/var/lib/registry" "$work/ctx/tree/tmp"
chmod 1777 "$work/ctx/tree/tmp"
# Outside the repository's module: the registry's own go.mod decides its dependencies.
(cd "$work" && CGO_ENABLED=0 GOBIN="$work/ctx/tree/usr/bin" GOFLAGS=-trimpath \
  go install -ldflags='-s -w' "github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION")
cat > "$work/ctx/tree/etc/distribution/config.yml" <<'CONFIG'
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
CONFIG
printf '%s\n' 'FROM scratch' 'COPY tree/ /' 'EXPOSE 5000' 'VOLUME /var/lib/registry' \
  'ENTRYPOINT ["/usr/bin/registry"]' 'CMD ["serve", "/etc/distribution/config.yml"]' > "$work/ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t "$image-$inputs_hash" "$work/ctx" >/dev/null
docker tag "$image-$inputs_hash" "$image"
log "$image: $(docker image inspect -f '{{.Size}}' "$image" | numfmt --to=iec), built in $((SECONDS - started)) s"
echo "$image"
