#!/usr/bin/env bash
# The README test command: start the real test servers (Docker engine, etcd + kube-apiserver)
# unless they already answer, run every test against them, then the offline kind lab's
# clusters, and stop what this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
# An assignment, not eval "$(...)": set -e then stops here when a server cannot start.
servers=$(bash hack/testenv.sh up)
eval "$servers"
trap 'bash hack/testenv.sh down >&2' EXIT
go vet ./...
go test -count=1 ./... "$@"

# The playbooks as a user meets them: validate all, plan each offline with the chart beside
# the repository.
bin=$(mktemp -d)/playbook
go build -o "$bin" ./cmd/playbook
"$bin" validate playbooks/*.yaml
for pb in playbooks/kubeproxy.yaml playbooks/kpr.yaml playbooks/kpr-ebpf.yaml; do
  "$bin" plan "$pb" --render --var ciliumChart=../shared/charts/cilium-1.13.0-rc5.tgz >/dev/null
done
echo "playbooks: validate and plan --render passed"

# Real kind clusters from the node image built here (hack/lab): about 25 minutes cold, 3 warm.
# PLAYBOOK_LAB=0 leaves them out.
if [[ ${PLAYBOOK_LAB:-1} != 0 ]]; then
  PLAYBOOK_LAB=1 bash hack/lab/test.sh
fi
