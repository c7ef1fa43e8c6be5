#!/usr/bin/env bash
# How the lab's images reach a three-node cluster, side by side in one run, on this machine:
#   bash bench/images.sh
# kpr-ebpf from nothing, each way: the seed's script (the reference: kind load, then curl until
# the NodePort answers); kindLoad with the agent image as Debian installs it (CILIUM_AGENT_FULL)
# and with the lab's smaller one; a local registry cold (the push, then each node's pulls) and
# warm (a second cluster); a node image with the images already in it. The cluster is deleted
# after each. Writes its section of bench/RESULTS.md from the runs' JSON events. Not CI: about
# 15 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
servers=$(bash hack/testenv.sh up)
eval "$servers"
PATH=$(bash bench/seed/tools.sh):$PATH
node=$(bash hack/lab/build.sh)
mapfile -t images < <(bash hack/lab/cilium-build.sh)
agent=${images[0]}
full=$(CILIUM_AGENT_FULL=1 bash hack/lab/cilium-build.sh | head -1)
bash hack/lab/registry-build.sh >/dev/null
work=$(mktemp -d)
trap 'docker tag "$agent-slim-kept" "$agent" 2>/dev/null || true; rm -rf "$work"' EXIT
docker tag "$agent" "$agent-slim-kept"
go build -o "$work/playbook" ./cmd/playbook
export XDG_STATE_HOME=$work/state KUBECONFIG=$work/kubeconfig CI=true
docker rm -f kind-registry >/dev/null 2>&1 || true
size() { docker image inspect -f '{{.Size}}' "$1" | numfmt --to=si --suffix=B; }
sizes="the agent image: $(size "$full") as Debian installs it, $(size "$agent") without what it never uses"

# The node image with the images in it, built from scratch here (any earlier one removed),
# and timed.
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(date +%s.%N)"; }
docker images -q --filter "reference=$node-with-*" | sort -u | xargs -r docker rmi -f >/dev/null
started=$(date +%s.%N)
prebaked=$(bash hack/lab/node-with-images.sh "$node" "${images[@]}")
prebake_took=$(since "$started")

# What Docker's copy of an image's /var into each node's volume costs, three nodes at once,
# as kind creates them.
copy_var() {
  local started names=()
  started=$(date +%s.%N)
  for i in 1 2 3; do
    names+=("kindlab-bench-var-$i")
    docker create --name "kindlab-bench-var-$i" --volume /var --entrypoint true "$1" >/dev/null &
  done
  wait
  since "$started"
  docker rm -v "${names[@]}" >/dev/null
}
copy_plain=$(copy_var "$node")
copy_prebaked=$(copy_var "$prebaked")

run() { # label, then extra playbook arguments
  local label=$1
  shift
  "$work/playbook" run playbooks/kpr-ebpf.yaml --vars-file playbooks/vars/lab.yaml --var "nodeImage=$node" \
    --var recreate=true --var cleanup=true -o json "$@" > "$work/run.jsonl" || {
    echo "bench: $label failed" >&2
    tail -5 "$work/run.jsonl" >&2
    exit 1
  }
  python3 bench/images_row.py "$work/run.jsonl" "$label"
}

{
  echo "| how the images reach the nodes | create-cluster (s) | image steps (s) | wait-cilium (s) | wait-demo (s) | to the NodePort (s) | to green: every proof (s) |"
  echo "|---|---|---|---|---|---|---|"
  seed=$(bash bench/seed/time.sh "$node" "${images[*]}" "$work/seed.log")
  kind delete cluster --name cilium-kubeproxy-replacement-ebpf >/dev/null 2>&1
  echo "| the seed's script (kind load), the reference | | | | | $seed | |"
  docker tag "$full" "$agent"
  run "kindLoad, the agent as Debian installs it" --var imageSource=kindLoad
  docker tag "$agent-slim-kept" "$agent"
  run "kindLoad" --var imageSource=kindLoad
  run "registry, cold (push, then pulls)" --vars-file playbooks/vars/lab-registry.yaml
  run "registry, warm (a second cluster)" --vars-file playbooks/vars/lab-registry.yaml --var cluster=cilium-kpr-ebpf-second
  run "node image with the images in it" --var "nodeImage=$prebaked" --var imageSource=nodeImage
  run "node image, a second cluster" --var "nodeImage=$prebaked" --var imageSource=nodeImage --var cluster=cilium-kpr-ebpf-second
} > "$work/table"
cat "$work/table"
python3 - "$work/table" "$(date -u '+%Y-%m-%d %H:%M')" "$sizes" "$prebake_took" "$copy_plain" "$copy_prebaked" <<'PY' | python3 bench/write_section.py bench/RESULTS.md images
import sys
table, when, sizes, prebake, copy_plain, copy_prebaked = open(sys.argv[1]).read(), *sys.argv[2:]
section = f"""<!-- images: bench/images.sh writes this section -->
## 9. How the lab's images reach the nodes

`bash bench/images.sh` ({when} UTC): `playbooks/kpr-ebpf.yaml` from nothing with the lab's
vars, three nodes, the cluster deleted after each run; {sizes}. kindLoad streams every image
into every node (`load-images`); the registry path pushes them once to a local registry next to
the nodes (`registry`, `push-images`), and each node pulls what it lacks while the agents
start, inside `wait-cilium`; the node image with the images in it
(`hack/lab/node-with-images.sh`, built once in {prebake} s) moves nothing at all, and no node
unpacks anything: its images are unpacked in the image, outside /var, so that Docker's copy
of the image's /var into each node's volume stays small (three nodes at once: {copy_plain} s
for kind's node image, {copy_prebaked} s for this one). Each cluster made from it pays the
same, the first as the second. "To the NodePort" is where the seed's script stops (its demo
answers, nothing checked); a playbook's `assert-nodeport` comes after every read and probe,
so there it is within a second of "to green", the verdict with every proof run.

{table}
<!-- /images -->
"""
print(section, end="")
PY
echo "bench: wrote its section of bench/RESULTS.md" >&2
