#!/usr/bin/env bash
# The README test command: start the real test servers (Docker engine, etcd + kube-apiserver)
# unless they already answer, run every test against them, and stop what this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash hack/testenv.sh up)"
trap 'bash hack/testenv.sh down >&2' EXIT
go vet ./...
go test -count=1 ./... "$@"
