#!/bin/sh
# A runc in front of runc: drops CAP_SYS_RESOURCE from a container's capabilities when this
# machine cannot grant it (it is missing from the bounding set), so that privileged containers
# start. Installed by hack/testenv.sh on the test machines' dockerd, and into the lab's node
# image (hack/lab/) for the containers that containerd starts inside a node.
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
  create | run) [ -f "$bundle/config.json" ] && rewrite "(.process.capabilities // {}) |= $drop" "$bundle/config.json" ;;
  exec) [ -n "$process" ] && [ -f "$process" ] && rewrite "(.capabilities // {}) |= $drop" "$process" ;;
esac
exec runc "$@"
