#!/usr/bin/env bash
# Times the seed's kpr-ebpf script from no cluster to "the demo's NodePort answers": the
# script, its demo, then curl until the NodePort answers. Prints the seconds; the script's
# output goes to LOG. Needs bench/seed/tools.sh's CLIs on PATH and KUBECONFIG set to a
# throwaway file; the cluster is left for the caller to delete.
#
# Usage: bench/seed/time.sh NODE_IMAGE "LAB IMAGES" LOG
set -euo pipefail
cd "$(dirname "$0")/../.."
node_image=$1 images=$2 log=$3
cluster=cilium-kubeproxy-replacement-ebpf
now() { date +%s.%N; }
kind delete cluster --name $cluster >/dev/null 2>&1 || true
start=$(now)
NODE_IMAGE=$node_image LAB_IMAGES=$images CILIUM_CHART=$PWD/../shared/charts/cilium-1.20.0.tgz \
  bash bench/seed/kpr-ebpf.sh > "$log" 2>&1
kubectl apply -f bench/seed/cni-demo.yaml >> "$log" 2>&1
ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$cluster-worker")
for _ in $(seq 1200); do
  if curl -sf --max-time 2 "http://$ip:32000/" >/dev/null; then
    python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(now)"
    exit 0
  fi
  sleep 0.5
done
echo "the seed's NodePort never answered; see $log" >&2
exit 1
