#!/usr/bin/env bash
# The README test command: start the real test servers (Docker engine, etcd + kube-apiserver)
# unless they already answer, build the offline kind lab's node image, run every test against
# them (kind clusters included), and stop what this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
# An assignment, not eval "$(...)": set -e then stops here when a server cannot start.
servers=$(bash hack/testenv.sh up)
eval "$servers"
trap 'bash hack/testenv.sh down >&2' EXIT
go vet ./...
# Real kind clusters come from the node image built here (hack/lab): about 25 minutes cold,
# under a minute warm. PLAYBOOK_LAB=0 leaves them out.
lab_tests='^(TestLab|TestKindE2E)$'
if [[ ${PLAYBOOK_LAB:-1} == 0 ]]; then
  go test -count=1 -skip "$lab_tests" ./... "$@"
else
  PLAYBOOK_LAB_IMAGE=$(bash hack/lab/build.sh)
  export PLAYBOOK_LAB_IMAGE
  go test -count=1 ./... "$@"
fi

# The playbooks as a user meets them: validate all, plan each offline with the chart beside
# the repository.
bin=$(mktemp -d)/playbook
go build -o "$bin" ./cmd/playbook
"$bin" validate playbooks/*.yaml
for pb in playbooks/kubeproxy.yaml playbooks/kpr.yaml playbooks/kpr-ebpf.yaml; do
  "$bin" plan "$pb" --render --var ciliumChart=../shared/charts/cilium-1.13.0-rc5.tgz >/dev/null
done
echo "playbooks: validate and plan --render passed"
