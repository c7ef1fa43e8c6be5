#!/usr/bin/env bash
# Makes the lab's images from the built programs, with no registry and no Dockerfile. Each
# control-plane image is one imported layer holding its program. The node image is the Debian
# root filesystem plus the lab's files and programs, with every control-plane image pre-loaded
# into its containerd, the way kind's own node images come.
#
# Usage: hack/lab/images.sh BIN_DIR TOOLS_DIR ROOTFS_TAR NODE_IMAGE < kubeadm's image list
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bins=$1 tools=$2 rootfs=$3 node_image=$4
mapfile -t wanted
log() { printf 'lab images: %s\n' "$*" >&2; }
work=$(mktemp -d)
build=kindlab-lab-build-$$
trap 'docker rm -f "$build" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# kubeadm names each image; the lab tags its own with exactly those names.
image_named() {
  local name
  for name in "${wanted[@]}"; do
    [[ ${name%:*} == */$1 ]] && { echo "$name"; return; }
  done
  log "kubeadm lists no $1 image: ${wanted[*]}"
  exit 1
}

# import_tar NAME ENTRYPOINT [--change ...] < tar: one image layer from a tar stream.
import_tar() {
  local name=$1 entrypoint=$2
  shift 2
  docker import --change "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENTRYPOINT [\"$entrypoint\"]" "$@" - "$name" >/dev/null
  log "$name"
}

# one_program_image NAME PROGRAM PATH [--change ...]
one_program_image() {
  local name=$1 program=$2 path=$3
  shift 3
  local dir=$work/${name//[\/:]/_}
  mkdir -p "$dir$(dirname "$path")" "$dir/etc" "$dir/tmp"
  chmod 1777 "$dir/tmp"
  cp "$program" "$dir$path"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' > "$dir/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$dir/etc/group"
  tar --numeric-owner --owner=0 --group=0 -C "$dir" -c . | import_tar "$name" "$path" "$@"
}

# Names first: a failure inside "$(...)" as an argument would not stop the script.
declare -A named
for component in kube-apiserver kube-controller-manager kube-scheduler etcd coredns pause kube-proxy; do
  named[$component]=$(image_named "$component")
done

for component in kube-apiserver kube-controller-manager kube-scheduler etcd; do
  one_program_image "${named[$component]}" "$bins/$component" "/usr/local/bin/$component"
done
one_program_image "${named[coredns]}" "$tools/coredns" /coredns
one_program_image "${named[pause]}" "$tools/pause" /pause --change "USER 65535:65535"

base=kindlab/node-base:$(basename "$rootfs" .tar)
if ! docker image inspect "$base" >/dev/null 2>&1; then
  log "importing the root filesystem as $base"
  docker import "$rootfs" "$base" >/dev/null
fi
docker run -d --name "$build" --privileged --entrypoint sleep "$base" infinity >/dev/null

# kube-proxy runs iptables, so its image takes iptables and its libraries from the node's Debian.
docker exec -i "$build" bash -s /tmp/kube-proxy-root < "$here/kube-proxy-root.sh"
docker cp "$bins/kube-proxy" "$build:/tmp/kube-proxy-root/usr/local/bin/kube-proxy"
docker exec "$build" tar --numeric-owner -C /tmp/kube-proxy-root -c . |
  import_tar "${named[kube-proxy]}" /usr/local/bin/kube-proxy
docker exec "$build" rm -rf /tmp/kube-proxy-root

stage=$work/node
cp -a "$here/node" "$stage"
install -D -m 0755 -t "$stage/usr/bin" "$bins/kubelet" "$bins/kubeadm" "$bins/kubectl"
install -D -m 0755 -t "$stage/usr/local/bin" "$tools/crictl"
install -D -m 0755 "$here/../kindlab-runc.sh" "$stage/usr/local/libexec/kindlab-runc"
sed "s|@PAUSE_IMAGE@|${named[pause]}|" "$stage/etc/containerd/config.toml.in" > "$stage/etc/containerd/config.toml"
rm "$stage/etc/containerd/config.toml.in"
echo "$KUBE_VERSION" > "$stage/kind/version"
tar --numeric-owner --owner=0 --group=0 -C "$stage" -c . | docker cp - "$build:/"
docker exec "$build" bash -euc '
  mkdir -p /opt/cni/bin
  ln -sf /usr/lib/cni/* /opt/cni/bin/
  systemctl enable containerd kubelet
  # The lab is offline: a node fetches nothing from an archive. What the playbooks need in a
  # node is in the image already; asking apt for anything else fails at once.
  rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
  # Timers a throw-away node has no use for, and a console login it never shows.
  systemctl mask apt-daily.timer apt-daily-upgrade.timer fstrim.timer e2scrub_all.timer e2scrub_reap.service getty@tty1.service console-getty.service
' >/dev/null 2>&1

log "pre-loading ${#wanted[@]} images into the node's containerd"
bash "$here/preload.sh" "$build" "${wanted[@]}"
bash "$here/commit-node.sh" "$build" "$node_image"
log "$node_image: $(docker image inspect -f '{{.Size}}' "$node_image" | numfmt --to=iec)"
