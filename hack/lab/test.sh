#!/usr/bin/env bash
# The lab's documented test command: starts the test servers, builds the node image (cached),
# and runs playbooks/lab.yaml against real kind clusters from it (playbooks/lab_test.go), then
# kindCreate's reuse, kindLoad and kindDelete on a cluster from it (steps/kind_test.go).
#
# Usage: PLAYBOOK_LAB=1 bash hack/lab/test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/usr/local/go/bin:$PATH PLAYBOOK_LAB=${PLAYBOOK_LAB:-1}
eval "$(bash hack/testenv.sh up)"
PLAYBOOK_LAB_IMAGE=$(bash hack/lab/build.sh)
export PLAYBOOK_LAB_IMAGE
go test -count=1 -run '^(TestLab|TestKindE2E)$' -v -timeout 60m ./playbooks ./steps
