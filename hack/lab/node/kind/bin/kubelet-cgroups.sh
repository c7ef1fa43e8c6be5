#!/bin/bash
# Runs before each kubelet start. kind's kubelet config sets cgroupRoot /kubelet, which with the
# systemd driver is kubelet.slice; kubelet refuses to start unless that cgroup already exists.
set -euo pipefail

if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
  # cgroup v2 (written for laptops, not run on the cgroup v1 test machines): one tree, and
  # the new cgroups must pass on the controllers kubelet manages.
  controllers=$(sed -E 's/([^ ]+)/+\1/g' /sys/fs/cgroup/cgroup.subtree_control)
  for name in kubelet kubelet.slice; do
    mkdir -p "/sys/fs/cgroup/$name"
    [[ -n $controllers ]] && echo "$controllers" > "/sys/fs/cgroup/$name/cgroup.subtree_control"
  done
  exit 0
fi

for hierarchy in /sys/fs/cgroup/*/; do
  # Only mounted v1 hierarchies: systemd leaves empty, read-only directories for controllers
  # this kernel lacks, and unified is the v2 tree.
  [[ $hierarchy == */unified/ || ! -f ${hierarchy}cgroup.procs ]] && continue
  for name in kubelet kubelet.slice; do
    dir=$hierarchy$name
    [[ -d $dir ]] && continue
    mkdir -p "$dir"
    # A new cpuset cgroup starts with no CPUs and no memory nodes: nothing could run in it.
    if [[ -f ${hierarchy}cpuset.cpus ]]; then
      cat "${hierarchy}cpuset.cpus" > "$dir/cpuset.cpus"
      cat "${hierarchy}cpuset.mems" > "$dir/cpuset.mems"
    fi
  done
done
