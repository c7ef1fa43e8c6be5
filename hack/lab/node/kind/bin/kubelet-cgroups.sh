#!/bin/bash
# Runs before each kubelet start. kind's kubelet config sets cgroupRoot /kubelet, which with the
# systemd driver is kubelet.slice; kubelet refuses to start unless that cgroup already exists in
# every cgroup v1 hierarchy. On cgroup v2 systemd creates the slice itself.
set -euo pipefail
[[ -f /sys/fs/cgroup/cgroup.controllers ]] && exit 0
for hierarchy in /sys/fs/cgroup/*/; do
  # Only mounted v1 hierarchies: systemd leaves empty, read-only directories for controllers
  # this kernel lacks, and unified is the v2 tree.
  [[ $hierarchy == */unified/ || ! -f ${hierarchy}cgroup.procs ]] && continue
  for name in kubelet kubelet.slice; do
    dir=$hierarchy$name
    [[ -d $dir ]] && continue
    mkdir -p "$dir"
    # A new cpuset cgroup starts with no CPUs and no memory nodes: nothing could run in it.
    if [[ -f $hierarchy/cpuset.cpus ]]; then
      cat "$hierarchy/cpuset.cpus" > "$dir/cpuset.cpus"
      cat "$hierarchy/cpuset.mems" > "$dir/cpuset.mems"
    fi
  done
done
