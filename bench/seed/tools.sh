#!/usr/bin/env bash
# The seed's CLIs, built from the Go module proxy at the versions this module uses: kind and
# helm (go install) and kubectl (hack/kube-build.sh). Prints a PATH prefix that holds them.
#
# Usage: PATH=$(bash bench/seed/tools.sh):$PATH
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${XDG_CACHE_HOME:-$HOME/.cache}/kindlab-bench/bin
[[ -x $bin/kind ]] || GOBIN=$bin go install "sigs.k8s.io/kind@$(go list -m -f '{{.Version}}' sigs.k8s.io/kind)"
[[ -x $bin/helm ]] || GOBIN=$bin go install "helm.sh/helm/v4/cmd/helm@$(go list -m -f '{{.Version}}' helm.sh/helm/v4)"
kube=$(bash hack/kube-build.sh kubectl)
echo "$bin:$kube"
