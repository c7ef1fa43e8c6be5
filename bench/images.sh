#!/usr/bin/env bash
# How the lab's images reach a three-node cluster, side by side in one run, on this machine:
#   bash bench/images.sh
# 1. kindLoad (stream every image into every node), 2. a local registry, cold (the push, then
# each node's pulls), 3. the registry again for a second cluster (warm: nothing to push).
# Each is kpr.yaml from nothing with the lab's vars, and the cluster is deleted after. Writes
# its section of bench/RESULTS.md: the image steps' and the whole run's seconds (from the JSON
# events). Not CI: about 6 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
servers=$(bash hack/testenv.sh up)
eval "$servers"
node=$(bash hack/lab/build.sh)
bash hack/lab/cilium-build.sh >/dev/null
bash hack/lab/registry-build.sh >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/playbook" ./cmd/playbook
export XDG_STATE_HOME=$work/state CI=true
docker rm -f kind-registry >/dev/null 2>&1 || true

run() { # label, then extra playbook arguments
  local label=$1
  shift
  "$work/playbook" run playbooks/kpr.yaml --vars-file playbooks/vars/lab.yaml --var "nodeImage=$node" \
    --var recreate=true --var cleanup=true -o json "$@" > "$work/$label.jsonl" || {
    echo "bench: $label failed" >&2
    tail -5 "$work/$label.jsonl" >&2
    exit 1
  }
  python3 - "$work/$label.jsonl" "$label" <<'PY'
import json, sys
steps, total = {}, 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["type"] == "step-finished" and e.get("status") == "succeeded":
        steps[e.get("id") or e["step"]] = e.get("seconds", 0)
    if e["type"] == "run-finished":
        total = e.get("seconds", 0)
images = sum(steps.get(k, 0) for k in ("load-images", "registry", "push-images"))
print(f"| {sys.argv[2]} | {images:.1f} | {steps.get('wait-cilium', 0):.1f} | {steps.get('wait-demo', 0):.1f} | {total:.1f} |")
PY
}

{
  echo "| how the images reach the nodes | image steps (s) | wait-cilium (s) | wait-demo (s) | from nothing to green, and deleted (s) |"
  echo "|---|---|---|---|---|"
  run "kindLoad"
  run "registry, cold (push, then pulls)" --vars-file playbooks/vars/lab-registry.yaml
  run "registry, warm (a second cluster)" --vars-file playbooks/vars/lab-registry.yaml --var cluster=cilium-kpr-second
} > "$work/table"
cat "$work/table"
python3 - bench/RESULTS.md "$work/table" "$(date -u '+%Y-%m-%d %H:%M')" <<'PY' | python3 bench/write_section.py bench/RESULTS.md images
import re, sys
path, table, when = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3]
section = f"""<!-- images: bench/images.sh writes this section -->
## 9. How the lab's images reach the nodes

`bash bench/images.sh` ({when} UTC): `playbooks/kpr.yaml` from nothing with the lab's vars,
three nodes, the cluster deleted after; the lab's images are 972 MB (the agent's 800 MB).
kindLoad streams every image into every node (`load-images`); the registry path pushes them
once to a local registry next to the nodes (`registry`, `push-images`), and each node pulls
what it lacks while the agents start, inside `wait-cilium`.

{table}
<!-- /images -->
"""
print(section, end="")
PY
echo "bench: wrote its section of bench/RESULTS.md" >&2
