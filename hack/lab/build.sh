#!/usr/bin/env bash
# The offline kind lab in one command: builds a kind node image on this machine from what it
# can reach (Debian's archive and the Go module proxy) and prints the image's name, ready for
# kindCreate's image:. Needs a running dockerd (hack/testenv.sh up starts one).
#
# Every stage is cached by its versions under ${XDG_CACHE_HOME:-~/.cache}: the Kubernetes
# binaries (hack/kube-build.sh), coredns, crictl and pause (tools-build.sh), the Debian root
# filesystem (rootfs.sh). The node image's tag holds the Kubernetes version and a hash of the
# lab's own files, so a machine that has it builds nothing.
#
# Usage: hack/lab/build.sh
# Env:   KUBE_VERSION (default: hack/kube-build.sh's)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
hack=$(dirname "$here")
KUBE_VERSION=${KUBE_VERSION:-$(sed -n 's/^KUBE_VERSION=\${KUBE_VERSION:-\(.*\)}$/\1/p' "$hack/kube-build.sh")}
export KUBE_VERSION
log() { printf 'lab: %s\n' "$*" >&2; }

# The hash covers what goes into the node image, not the Cilium stages, the test scripts or
# what derives images from the node's: changing those must not rebuild the node.
inputs_hash=$(cd "$hack" && find lab kindlab-runc.sh kube-build.sh -type f ! -name 'cilium-*' ! -name test.sh ! -name node-with-images.sh ! -name whiteouts.py ! -name '*_test.go' ! -path 'lab/pausetest/*' -print0 |
  sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
node_image=kindlab/node:$KUBE_VERSION-$inputs_hash
# The version alone names the latest build, for playbooks/lab.yaml's default.
if docker image inspect "$node_image" >/dev/null 2>&1; then
  docker tag "$node_image" "kindlab/node:$KUBE_VERSION"
  echo "$node_image"
  exit 0
fi

started=$SECONDS
bins=$(bash "$hack/kube-build.sh" kubelet kubeadm kubectl kube-controller-manager kube-scheduler kube-proxy)
log "Kubernetes binaries ready after $((SECONDS - started)) s"
# The image names and versions kubeadm asks for come from kubeadm itself, never from here.
images=$("$bins/kubeadm" config images list --kubernetes-version "$KUBE_VERSION" 2>/dev/null)
coredns_image=$(grep -E '/coredns:' <<<"$images")
# crictl follows the version the Kubernetes release itself pins.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
k8s_dir=$(cd "$scratch" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | jq -r .Dir)
crictl_version=v$(awk '/name: "crictl"/ {getline; print $2}' "$k8s_dir/build/dependencies.yaml")
tools=$(bash "$here/tools-build.sh" "${coredns_image##*:}" "$crictl_version")
log "coredns, crictl and pause ready after $((SECONDS - started)) s"
# What kind's nodes and kubeadm use: systemd as init, containerd and runc from Debian, the CNI
# plugins, the tools kubelet and kube-proxy exec (iptables, nft, conntrack, ethtool, socat,
# mount), and jq for the capability-dropping runc wrapper. Then the network tools the seed
# installed into every node with apt-get (playbooks' aptPackages), so that a lab node needs no
# archive to have them.
node_packages=(
  systemd systemd-sysv dbus
  containerd runc containernetworking-plugins
  iptables nftables conntrack ebtables ethtool socat iproute2 kmod procps
  ca-certificates jq libseccomp2
  net-tools tcpdump lrzsz iputils-ping
)
rootfs=$(bash "$here/rootfs.sh" node "${node_packages[@]}")
log "root filesystem ready after $((SECONDS - started)) s"
bash "$here/images.sh" "$bins" "$tools" "$rootfs" "$node_image" <<<"$images"
docker tag "$node_image" "kindlab/node:$KUBE_VERSION"
log "$node_image built in $((SECONDS - started)) s"
echo "$node_image"
