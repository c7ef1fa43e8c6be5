#!/usr/bin/env bash
# Builds a Debian root filesystem with debootstrap and caches it as a tarball keyed by suite
# and package list: the slowest part of an image, and the part that changes least. The lab's
# node image and its Cilium agent image both start from one.
# Debian bookworm, not a newer suite: its systemd (252) still boots on cgroup v1 hosts, which
# these machines are; systemd 256 and later refuse to.
#
# Usage: hack/lab/rootfs.sh NAME PACKAGE...   prints the tarball's path
set -euo pipefail

suite=bookworm
name=${1:?usage: rootfs.sh NAME PACKAGE...}
shift
packages=("$@")
cache=${XDG_CACHE_HOME:-$HOME/.cache}/kindlab-lab
key=$(printf '%s\n' "$suite" "${packages[@]}" | sha256sum | cut -c1-12)
out=$cache/rootfs-$name-$suite-$key.tar
if [[ -s $out ]]; then
  echo "$out"
  exit 0
fi

log() { printf 'lab rootfs %s: %s\n' "$name" "$*" >&2; }
# The machine's own Debian source, so that no archive address is written here.
mirror_from_apt() {
  local uri
  uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [[ -n $uri ]] || uri=$(awk '$1 == "deb" && $3 == "'"$suite"'" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [[ -n $uri ]] || { log "no Debian source found in /etc/apt"; exit 1; }
  echo "$uri"
}

command -v debootstrap >/dev/null || {
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 debootstrap >&2
}
mkdir -p "$cache"
work=$(mktemp -d)
trap 'umount -R "$work/root/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
mirror=$(mirror_from_apt)
log "debootstrap $suite (${#packages[@]} packages) from the machine's Debian source"
include=$(IFS=,; echo "${packages[*]}")
debootstrap --variant=minbase --include="$include" "$suite" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -30 "$work/debootstrap.log" >&2
  exit 1
}

root=$work/root
# Each container makes its own machine id at boot; an id baked in would be shared by all.
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
# Docker mounts these per container.
rm -f "$root/etc/hostname" "$root/etc/resolv.conf"
tar --numeric-owner -C "$root" -cf "$out.tmp" .
mv "$out.tmp" "$out"
log "$(du -h "$out" | cut -f1) in $out"
echo "$out"
