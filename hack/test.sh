#!/usr/bin/env bash
# The README test command: start the real test servers (Docker engine, etcd + kube-apiserver)
# unless they already answer, build the offline lab's images (the kind node, Cilium, the demo),
# run every test against them with the race detector (real kind clusters running the three
# Cilium playbooks included), and stop what this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
# An assignment, not eval "$(...)": set -e then stops here when a server cannot start.
servers=$(bash hack/testenv.sh up)
eval "$servers"
trap 'bash hack/testenv.sh down >&2' EXIT
go vet ./...
# Real kind clusters come from the node image built here, and run Cilium from images built
# here (hack/lab): the two builds share the machine, and each waits on the network (debootstrap,
# the module proxy) where the other computes. PLAYBOOK_LAB=0 leaves the lab out.
lab_tests='^(TestLab|TestKindE2E|TestCiliumLab)$'
if [[ ${PLAYBOOK_LAB:-1} == 0 ]]; then
  go test -race -count=1 -skip "$lab_tests" ./... "$@"
else
  images=$(mktemp -d)
  bash hack/lab/build.sh > "$images/node" & node_build=$!
  bash hack/lab/cilium-build.sh > "$images/cilium" & cilium_build=$!
  bash hack/lab/registry-build.sh > "$images/registry" & registry_build=$!
  wait "$node_build" || { echo "hack/lab/build.sh failed" >&2; exit 1; }
  wait "$cilium_build" || { echo "hack/lab/cilium-build.sh failed" >&2; exit 1; }
  wait "$registry_build" || { echo "hack/lab/registry-build.sh failed" >&2; exit 1; }
  PLAYBOOK_LAB_IMAGE=$(cat "$images/node")
  PLAYBOOK_CILIUM_IMAGES=$(cat "$images/cilium")
  PLAYBOOK_REGISTRY_IMAGE=$(cat "$images/registry")
  # The lab's default: the node image with Cilium's images in it, unpacked (about 40 s, once).
  # shellcheck disable=SC2086 # one image name per word
  PLAYBOOK_LAB_IMAGE_WITH_CILIUM=$(bash hack/lab/node-with-images.sh "$PLAYBOOK_LAB_IMAGE" $PLAYBOOK_CILIUM_IMAGES)
  export PLAYBOOK_LAB_IMAGE PLAYBOOK_CILIUM_IMAGES PLAYBOOK_REGISTRY_IMAGE PLAYBOOK_LAB_IMAGE_WITH_CILIUM
  # The playbooks package (the lab's kind clusters, about 14 minutes warm) is the critical
  # path. In one go test it would wait for a slot behind the packages before it (-p is the
  # core count, shared by links and test binaries); its own go test starts it at once, and
  # everything else, the benchmarks and the playbook checks below included, runs beside it.
  # -timeout: the lab runs longer than go test's default 10 minutes. The three modes run as
  # one job there; its HTML and JUnit reports stay in PLAYBOOK_LAB_REPORTS.
  export PLAYBOOK_LAB_REPORTS=${PLAYBOOK_LAB_REPORTS:-/tmp/kindlab-lab-reports}
  echo "the modes job's reports: $PLAYBOOK_LAB_REPORTS/modes.html, modes.xml"
  go test -race -count=1 -timeout 45m ./playbooks "$@" & lab_run=$!
  # errexit holds in a trap too: a kill of a run already ended must not skip the stop.
  trap 'kill "$lab_run" 2>/dev/null || true; bash hack/testenv.sh down >&2' EXIT
  others=$(go list ./... | grep -vx 'github.com/kindlab/playbook/playbooks')
  # shellcheck disable=SC2086 # one package per word
  go test -race -count=1 -timeout 45m $others "$@" || failed=1
fi

# Each benchmark once: a benchmark that no longer runs (a step type renamed, a flag gone)
# fails here, not in the next bench/run.sh. Timing goals stay in bench/, not in CI.
bench_out=$(go test -count=1 -run '^$' -bench . -benchtime 1x ./engine ./bench) ||
  { echo "$bench_out" >&2; failed=1; }

# The shell values fuzz test beyond its seeds: generated values in generated scripts, run by a
# real /bin/sh, must arrive byte-exact and never run.
fuzz_out=$(go test -count=1 -run '^$' -fuzz '^FuzzShellValues$' -fuzztime 20s ./engine 2>&1) ||
  { echo "$fuzz_out" >&2; failed=1; }

# The playbooks as a user meets them: validate all, plan each offline with the chart beside
# the repository.
bin=$(mktemp -d)/playbook
go build -o "$bin" ./cmd/playbook
"$bin" validate playbooks/*.yaml
for pb in playbooks/kubeproxy.yaml playbooks/kpr.yaml playbooks/kpr-ebpf.yaml; do
  "$bin" plan "$pb" --render --var ciliumChart=../shared/charts/cilium-1.13.0-rc5.tgz >/dev/null
done
echo "playbooks: validate and plan --render passed"

if [[ -n ${lab_run:-} ]]; then
  wait "$lab_run" || failed=1
fi
exit "${failed:-0}"
