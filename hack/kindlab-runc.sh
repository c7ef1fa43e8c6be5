#!/bin/sh
# A runc in front of runc, for machines that cannot grant CAP_SYS_RESOURCE (it is missing
# from the bounding set): it drops the capability from a container's capabilities, so that
# privileged containers start, and raises an oom_score_adj below this process's own to it,
# since lowering one needs that capability (kubelet asks for -998 for every pod sandbox).
# Installed by hack/testenv.sh on the test machines' dockerd, and into the lab's node image
# (hack/lab/) for the containers that containerd starts inside a node.
# Creating a container reads the bundle's config.json and exec reads a process.json; state,
# kill and the rest pass straight on.
bnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
if [ $((0x$bnd >> 24 & 1)) -eq 1 ]; then
  exec runc "$@"
fi
drop='with_entries(.value |= map(select(. != "CAP_SYS_RESOURCE")))'
bundle=.
process=
prev=
command=
for arg in "$@"; do
  case $prev in
    --bundle | -b) bundle=$arg ;;
    --process | -p) process=$arg ;;
  esac
  case $arg in create | run | exec) [ -z "$command" ] && command=$arg ;; esac
  prev=$arg
done
rewrite() { jq "$1" "$2" > "$2.tmp" && mv "$2.tmp" "$2"; }
case $command in
  create | run)
    own=$(cat /proc/self/oom_score_adj)
    [ -f "$bundle/config.json" ] && rewrite "(.process.capabilities // {}) |= $drop
      | if (.process.oomScoreAdj // $own) < $own then .process.oomScoreAdj = $own else . end" "$bundle/config.json"
    ;;
  exec) [ -n "$process" ] && [ -f "$process" ] && rewrite "(.capabilities // {}) |= $drop" "$process" ;;
esac
exec runc "$@"
