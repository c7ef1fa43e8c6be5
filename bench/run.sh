#!/usr/bin/env bash
# Re-runs every comparison behind bench/RESULTS.md on this machine, in one go:
#   bash bench/run.sh
# It starts the test servers (hack/testenv.sh), installs what it compares against (Debian's
# ansible and hyperfine, go-task from the Go module proxy, kubectl built like kube-apiserver)
# and rewrites bench/RESULTS.md. About 10 minutes on the 2-core CI machine.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"; docker rm -f $(docker ps -aq --filter label=kindlab.bench=fanout) >/dev/null 2>&1 || true' EXIT
log() { printf 'bench: %s\n' "$*" >&2; }

servers=$(bash hack/testenv.sh up)
eval "$servers"
for pkg in ansible hyperfine time; do
  dpkg -s "$pkg" >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends ansible hyperfine time >&2
done
bin=${XDG_CACHE_HOME:-$HOME/.cache}/kindlab-bench/bin
[[ -x $bin/task ]] || GOBIN=$bin go install github.com/go-task/task/v3/cmd/task@v3.54.0
kubectl=$(bash hack/kube-build.sh kubectl)/kubectl
go build -o "$work/playbook" ./cmd/playbook
pb=$work/playbook
export CI=true # plain progress lines, as a CI job sees them

# 1. Engine overhead: N no-op steps, minus one step, per step.
log "generating the no-op playbooks"
python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
for n in (1, 1000):
    with open(f"{w}/noop-{n}.yaml", "w") as f:
        f.write("apiVersion: playbook/v1\nkind: Playbook\nname: noop\nsteps:\n")
        for i in range(n):
            f.write(f"  - {{name: step {i}, log: {{message: hello {i}}}}}\n")
    with open(f"{w}/noop-{n}.yml", "w") as f:
        f.write("- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n")
        for i in range(n):
            f.write(f"    - {{name: step {i}, debug: {{msg: hello {i}}}}}\n")
    with open(f"{w}/Taskfile-{n}.yml", "w") as f:
        f.write("version: '3'\ntasks:\n  default:\n    cmds:\n")
        for i in range(n):
            f.write(f"      - echo hello {i}\n")
PY
hf() { hyperfine --style none --export-json "$work/$1.json" "${@:2}" >&2; }
log "engine overhead (ansible-playbook takes a while)"
hf playbook --warmup 1 --runs 10 -n playbook-1 "$pb run $work/noop-1.yaml --state $work/s1.json" -n playbook-1000 "$pb run $work/noop-1000.yaml --state $work/s2.json"
hf task --warmup 1 --runs 10 -n task-1 "$bin/task -t $work/Taskfile-1.yml" -n task-1000 "$bin/task -t $work/Taskfile-1000.yml"
hf ansible --warmup 1 --runs 3 -n ansible-1 "ansible-playbook -i localhost, $work/noop-1.yml" -n ansible-1000 "ansible-playbook -i localhost, $work/noop-1000.yml"

# 2. Start-up.
log "start-up"
hf startup --warmup 2 --runs 20 -n validate "$pb validate playbooks/kpr-ebpf.yaml"
for _ in 1 2 3 4 5; do /usr/bin/time -f %M "$pb" validate playbooks/kpr-ebpf.yaml 2>&1 >/dev/null | tail -1; done > "$work/rss.txt"

# 3. Apply 300 objects, fresh (a new namespace each time) and re-applied.
log "apply 300 objects"
mkdir -p "$work/objects"
python3 - "$work/objects" <<'PY'
import sys
d = sys.argv[1]
open(f"{d}/configmaps.yaml", "w").write("---\n".join(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}}}\ndata: {{key: value-{i}}}\n" for i in range(100)))
open(f"{d}/services.yaml", "w").write("---\n".join(f"apiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}}}\nspec: {{clusterIP: None, selector: {{app: app-{i}}}, ports: [{{port: 80}}]}}\n" for i in range(100)))
open(f"{d}/deployments.yaml", "w").write("---\n".join(f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{i}}}\nspec:\n  selector: {{matchLabels: {{app: app-{i}}}}}\n  template:\n    metadata: {{labels: {{app: app-{i}}}}}\n    spec: {{containers: [{{name: c, image: busybox:1.36}}]}}\n" for i in range(100)))
PY
cat > "$work/apply.yaml" <<YAML
apiVersion: playbook/v1
kind: Playbook
name: apply
vars: {ns: default}
steps:
  - name: apply
    kubectlApply: {namespace: "\${{ vars.ns }}", files: [$work/objects]}
YAML
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
: > "$work/apply.txt"
for i in 1 2 3 4 5; do
  for tool in playbook kubectl; do
    ns=bench-$tool-$i-$RANDOM
    "$kubectl" create namespace "$ns" >/dev/null
    if [[ $tool == playbook ]]; then
      run=("$pb" run "$work/apply.yaml" --var "ns=$ns" --state "$work/sa.json")
    else
      run=("$kubectl" apply --server-side -f "$work/objects" -n "$ns")
    fi
    echo "$tool fresh $(ms "${run[@]}")" >> "$work/apply.txt"
    echo "$tool reapply $(ms "${run[@]}")" >> "$work/apply.txt"
  done
done

# 4. Fan-out: a 1-second command in 6 containers, against one container and the seed's loop.
log "fan-out"
image=${PLAYBOOK_TEST_IMAGE:-kindlab/busybox:test}
for i in 1 2 3 4 5 6; do docker run -d --label kindlab.bench=fanout --name "bench-fanout-$i-$$" "$image" sleep 3600 >/dev/null; done
for n in 1 6; do
  cat > "$work/fanout-$n.yaml" <<YAML
apiVersion: playbook/v1
kind: Playbook
name: fanout
steps:
  - name: fan out
    dockerExec: {containers: [$(seq -s, 1 $n | sed "s/\([0-9]\)/bench-fanout-\1-$$/g")], argv: [sleep, "1"]}
YAML
done
cat > "$work/seed-loop.sh" <<SH
for c in \$(docker ps --format '{{.Names}}' --filter label=kindlab.bench=fanout); do docker exec \$c sleep 1; done
SH
cat > "$work/cli-parallel.sh" <<SH
for c in \$(docker ps --format '{{.Names}}' --filter label=kindlab.bench=fanout); do docker exec \$c sleep 1 & done; wait
SH
hf fanout --warmup 1 --runs 5 -n playbook-1 "$pb run $work/fanout-1.yaml --state $work/sf1.json" \
  -n playbook-6 "$pb run $work/fanout-6.yaml --state $work/sf6.json" \
  -n seed-loop-6 "bash $work/seed-loop.sh" -n docker-cli-parallel-6 "bash $work/cli-parallel.sh"

# 5. Expressions, and the in-process engine overhead.
log "Go benchmarks"
go test ./engine -run '^$' -bench 'ExprEval|EngineOverhead' -benchtime 2s -count 5 > "$work/gobench.txt" ||
  { cat "$work/gobench.txt" >&2; exit 1; }
# 6. Scale and memory: validate 1,000 to 50,000 steps; one exec step printing a 100 MB line.
go test ./bench -run '^$' -bench 'ValidateScale|ExecHugeLine' -benchtime 5x > "$work/gobench-process.txt" ||
  { cat "$work/gobench-process.txt" >&2; exit 1; }

# 7. Stopping: how long a cancelled step takes to stop (exec, and dockerExec in two containers).
go test ./bench -run '^$' -bench 'CancelStop' -benchtime 5x > "$work/gobench-stop.txt" ||
  { cat "$work/gobench-stop.txt" >&2; exit 1; }

python3 bench/report.py "$work" "$root/bench/RESULTS.md" "$bin/task" "$kubectl"
log "wrote bench/RESULTS.md"
