#!/bin/bash
# Runs inside the node image's build container (hack/lab/images.sh): gathers what kube-proxy
# execs, iptables in both backends, nft and conntrack, with the shared libraries they load,
# into one directory that becomes the kube-proxy image. A few megabytes instead of a second
# Debian root filesystem inside every node.
set -euo pipefail
root=$1
programs=(/usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi /usr/sbin/nft /usr/sbin/conntrack)
# iptables loads its match and target extensions with dlopen; ldd cannot see those.
extensions=(/usr/lib/*/xtables/*.so)
mapfile -t libraries < <(ldd "${programs[@]}" "${extensions[@]}" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/.*ld-linux/ {print $1}' | sort -u)
rm -rf "$root"
mkdir -p "$root"
# -h: this Debian's /lib and /lib64 are symlinks into /usr; the image gets real directories.
paths=("${programs[@]}" "${extensions[@]}" "${libraries[@]}" /etc/protocols /etc/services)
tar -C / -chf - "${paths[@]#/}" | tar -C "$root" -xf -
cd "$root/usr/sbin"
for family in iptables ip6tables; do
  for tool in "" -save -restore; do
    ln -s xtables-nft-multi "$family$tool"
    ln -s xtables-nft-multi "$family-nft$tool"
    ln -s xtables-legacy-multi "$family-legacy$tool"
  done
done
mkdir -p "$root/usr/local/bin" "$root/run" "$root/tmp" "$root/var/lib/kube-proxy"
chmod 1777 "$root/tmp"
