#!/usr/bin/env bash
# The lab's documented test command: starts the test servers, builds the node image and the
# Cilium images (cached), and runs the lab tests: the three Cilium playbooks end to end with
# their cross-mode matrix (playbooks/cilium_lab_test.go), playbooks/lab.yaml on real kind
# clusters (playbooks/lab_test.go), and kindCreate's reuse, kindLoad and kindDelete
# (steps/kind_test.go).
#
# Usage: PLAYBOOK_LAB=1 bash hack/lab/test.sh [go test flags]
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/usr/local/go/bin:$PATH PLAYBOOK_LAB=${PLAYBOOK_LAB:-1}
eval "$(bash hack/testenv.sh up)"
PLAYBOOK_LAB_IMAGE=$(bash hack/lab/build.sh)
PLAYBOOK_CILIUM_IMAGES=$(bash hack/lab/cilium-build.sh)
export PLAYBOOK_LAB_IMAGE PLAYBOOK_CILIUM_IMAGES
go test -race -count=1 -run '^(TestCiliumLab|TestLab|TestKindE2E)$' -v -timeout 60m ./playbooks ./steps "$@"
